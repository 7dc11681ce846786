//! Checks API responses against `docs/openapi.json`: the documented response of a path,
//! method and status, and the body against its schema (the subset the document uses: `$ref`,
//! `allOf`, `type`, `nullable`, `required`, `properties`, `items`, `enum`).

use serde_json::Value;

const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// Asserts that `body`, answered with `status` to `method` on `path` (a concrete path, such as
/// `/api/v1/backups/01J...`), is documented and matches its schema.
pub fn conforms(method: &str, path: &str, status: u16, body: &str) {
    let doc: Value = serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON");
    let bare = path.split('?').next().unwrap();
    let (template, item) = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(template, _)| matches_template(template, bare))
        .unwrap_or_else(|| panic!("{bare} is not in docs/openapi.json"));
    let operation = &item[method.to_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {template} is not documented"
    );
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which docs/openapi.json does not list: {body}"
    );
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    let value: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{method} {path} {status}: not JSON ({e}): {body}"));
    let mut errors = Vec::new();
    check(&doc, schema, &value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match docs/openapi.json:\n{}\n{body}",
        errors.join("\n")
    );
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let target = doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        return check(doc, target, value, at, errors);
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            check(doc, part, value, at, errors);
        }
        return;
    }
    if value.is_null() {
        if schema["nullable"] != Value::Bool(true) && schema.get("type").is_some() {
            errors.push(format!("{at}: null, not nullable"));
        }
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let fits = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some(other) => panic!("type {other} is not checked here"),
    };
    if !fits {
        errors.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        if value.get(name).is_none() {
            errors.push(format!("{at}: lacks the required {name}"));
        }
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            if let Some(v) = value.get(name) {
                check(doc, property, v, &format!("{at}.{name}"), errors);
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn the_check_catches_a_document_that_strays_from_its_schema() {
    let doc: Value = serde_json::from_str(DOCUMENT).unwrap();
    let schema = &doc["components"]["schemas"]["Destinations"];
    let mut errors = Vec::new();
    let stray = serde_json::json!({"destinations": [{"name": 7, "configured": true}]});
    check(&doc, schema, &stray, "$", &mut errors);
    assert!(
        errors.iter().any(|e| e.contains("$.destinations[0].name"))
            && errors
                .iter()
                .any(|e| e.contains("lacks the required copies")),
        "{errors:?}"
    );
    assert!(matches_template(
        "/api/v1/backups/{id}/verify",
        "/api/v1/backups/01J/verify"
    ));
    assert!(!matches_template(
        "/api/v1/backups/{id}",
        "/api/v1/backups/01J/verify"
    ));
}

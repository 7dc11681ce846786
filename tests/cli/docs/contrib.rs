//! contrib/ kept true to the docs and the parsers: every `dbward_*` metric that the Grafana
//! dashboards and the Prometheus rules use is documented in docs/metrics.md; the Kubernetes
//! manifests and the rules are YAML (read by python3's PyYAML: the tree has no YAML parser),
//! the dashboards JSON; the configs in the Kubernetes ConfigMaps load; the daemon's Deployment
//! probes `/healthz` and `/readyz` and runs unprivileged, and the backup CronJob never overlaps.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{read, repo, report};

/// The files under `contrib/<dir>` whose names end with one of `extensions`, sorted.
fn contrib_files(dir: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let root = repo().join("contrib").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            extensions.iter().any(|ext| name.ends_with(ext))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {extensions:?} in {}", root.display());
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo()).unwrap().display().to_string()
}

/// The metric families docs/metrics.md lists (its tables' first column).
fn documented_metrics() -> BTreeSet<String> {
    read("docs/metrics.md")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.starts_with("dbward_"))
        .map(str::to_string)
        .collect()
}

/// Every `dbward_…` name in `text` (a metric name: lowercase letters, digits, `_`).
fn metric_names(text: &str) -> BTreeSet<String> {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("dbward_") {
        if text[..at].chars().next_back().is_some_and(word) {
            continue;
        }
        let name: String = text[at..].chars().take_while(|c| word(*c)).collect();
        found.insert(name);
    }
    found
}

/// Whether `name` is documented: itself, or a histogram's `_bucket`, `_sum` or `_count`.
fn is_documented(name: &str, documented: &BTreeSet<String>) -> bool {
    documented.contains(name)
        || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| documented.contains(base))
        })
}

#[test]
fn every_metric_the_dashboards_and_rules_use_is_documented() {
    let documented = documented_metrics();
    let mut files = contrib_files("grafana", &[".json"]);
    files.extend(contrib_files("prometheus", &[".yml", ".yaml"]));
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for name in metric_names(&text) {
            if !is_documented(&name, &documented) {
                problems.push(format!(
                    "{}: `{name}` is not in docs/metrics.md",
                    relative(file)
                ));
            }
            used.insert(name);
        }
    }
    assert!(used.len() >= 10, "only {used:?} found in {files:?}");
    report(
        "metrics used in contrib/ that docs/metrics.md does not document",
        &problems,
    );
}

/// Each YAML file's documents, as JSON, through python3's PyYAML.
fn yaml_documents(files: &[PathBuf]) -> Vec<Vec<Value>> {
    const SCRIPT: &str = "import json, sys, yaml\n\
        json.dump([list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]], sys.stdout)";
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to read contrib/'s YAML: {e}"));
    assert!(
        out.status.success(),
        "contrib/'s YAML does not parse (python3 with PyYAML, Debian package python3-yaml, is needed): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn by_kind<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {documents:#?}"))
}

/// The args of the first container of a pod spec, joined by spaces.
fn args(pod: &Value) -> String {
    pod["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs as a non-root user on a read-only root filesystem, without privilege escalation.
fn unprivileged(pod: &Value, file: &str) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{file}");
    let container = &pod["containers"][0]["securityContext"];
    assert_eq!(container["readOnlyRootFilesystem"], true, "{file}");
    assert_eq!(container["allowPrivilegeEscalation"], false, "{file}");
}

#[test]
fn contrib_yaml_and_json_parse_and_the_kubernetes_manifests_hold_loadable_configs() {
    for file in contrib_files("grafana", &[".json"]) {
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", relative(&file)));
        let panels = dashboard["panels"].as_array().unwrap();
        let queries = panels
            .iter()
            .filter_map(|p| p["targets"].as_array())
            .flatten()
            .filter(|t| t["expr"].is_string())
            .count();
        assert!(queries >= 10, "{}: {queries} queries", relative(&file));
    }

    let mut files = contrib_files("kubernetes", &[".yaml", ".yml"]);
    let kubernetes = files.len();
    files.extend(contrib_files("prometheus", &[".yml", ".yaml"]));
    let parsed = yaml_documents(&files);
    let mut problems = Vec::new();
    for (file, documents) in files.iter().zip(&parsed).take(kubernetes) {
        let name = relative(file);
        for document in documents {
            assert!(
                document["apiVersion"].is_string() && document["kind"].is_string(),
                "{name}: a document without apiVersion or kind: {document:#}"
            );
            if document["kind"] == "ConfigMap" {
                let config = document["data"]["dbward.toml"].as_str().unwrap();
                if let Err(e) = super::config::load_example(config) {
                    problems.push(format!("{name}: its dbward.toml does not load: {e}"));
                }
            }
        }
        if let Some(deployment) = documents.iter().find(|d| d["kind"] == "Deployment") {
            let template = &deployment["spec"]["template"];
            let pod = &template["spec"];
            assert!(args(pod).ends_with("daemon"), "{name}");
            let container = &pod["containers"][0];
            assert_eq!(
                container["livenessProbe"]["httpGet"]["path"], "/healthz",
                "{name}"
            );
            assert_eq!(
                container["readinessProbe"]["httpGet"]["path"], "/readyz",
                "{name}"
            );
            assert_eq!(
                template["metadata"]["annotations"]["prometheus.io/scrape"], "true",
                "{name}"
            );
            unprivileged(pod, &name);
            by_kind(documents, "PersistentVolumeClaim");
        }
        if let Some(cron) = documents.iter().find(|d| d["kind"] == "CronJob") {
            assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid", "{name}");
            let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            assert!(args(pod).contains(" backup"), "{name}");
            unprivileged(pod, &name);
        }
    }
    let kinds: BTreeSet<&str> = parsed[..kubernetes]
        .iter()
        .flatten()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    for kind in [
        "ConfigMap",
        "Deployment",
        "CronJob",
        "PersistentVolumeClaim",
    ] {
        assert!(kinds.contains(kind), "no {kind} in contrib/kubernetes");
    }
    report(
        "Kubernetes manifests whose dbward config does not load",
        &problems,
    );
}

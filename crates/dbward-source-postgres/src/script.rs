//! Reading a SQL script as pg_dumpall writes it (the globals artifact): split into
//! statements — quotes and comments respected, psql meta-commands kept apart — and each
//! statement classified by what `restore --globals` must decide about it.

/// One statement of a globals script, by what applying it needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A psql meta-command (`\connect`, `\restrict`): not SQL, never sent to the server.
    Meta,
    /// `CREATE ROLE name;`
    CreateRole(String),
    /// `ALTER ROLE name …`, `COMMENT ON ROLE name …`: the role's attributes, settings or
    /// comment; `password` is the literal of a `PASSWORD '…'` clause.
    AlterRole {
        role: String,
        password: Option<String>,
    },
    /// `ALTER DATABASE name …` (owner and settings, dbward's section).
    AlterDatabase(String),
    /// `CREATE TABLESPACE name …`
    CreateTablespace(String),
    /// `GRANT … TO member …` (a membership, or a privilege on a parameter): it changes
    /// `member`.
    Grant { member: String },
    /// Anything else (`SET`, `GRANT role TO role`, …).
    Other,
}

impl Statement {
    pub fn classify(text: &str) -> Statement {
        if text.starts_with('\\') {
            return Statement::Meta;
        }
        let after = |prefix: &str| {
            let head = text.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix)
                .then(|| leading_ident(&text[prefix.len()..]))
                .flatten()
        };
        if let Some((role, rest)) = after("CREATE ROLE ") {
            if rest.trim() == ";" {
                return Statement::CreateRole(role);
            }
            return Statement::Other;
        }
        for prefix in ["ALTER ROLE ", "ALTER USER ", "COMMENT ON ROLE "] {
            if let Some((role, rest)) = after(prefix) {
                return Statement::AlterRole {
                    role,
                    password: password_literal(rest),
                };
            }
        }
        if let Some((database, _)) = after("ALTER DATABASE ") {
            return Statement::AlterDatabase(database);
        }
        if let Some((name, _)) = after("CREATE TABLESPACE ") {
            return Statement::CreateTablespace(name);
        }
        if text
            .get(..6)
            .is_some_and(|h| h.eq_ignore_ascii_case("GRANT "))
            && let Some(at) = find_outside_quotes(text, " TO ")
            && let Some((member, _)) = leading_ident(&text[at + 4..])
        {
            return Statement::Grant { member };
        }
        Statement::Other
    }

    /// The start of a statement for messages: its first words, cut before any `PASSWORD`.
    pub fn head(text: &str) -> String {
        let cut = text.find(" PASSWORD").unwrap_or(text.len()).min(80);
        let mut end = cut;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].trim_end_matches(';').to_string()
    }
}

/// Where `needle` first occurs in `text` outside quoted strings and identifiers.
pub fn find_outside_quotes(text: &str, needle: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if text[i..].starts_with(needle) => return Some(i),
            None => {}
        }
    }
    None
}

/// The literal of a `PASSWORD '…'` clause (pg_dumpall writes `PASSWORD 'SCRAM-SHA-256$…'`).
fn password_literal(rest: &str) -> Option<String> {
    let at = rest.find(" PASSWORD '")?;
    let (value, _) = single_quoted(&rest[at + " PASSWORD ".len()..])?;
    Some(value)
}

/// A `'…'` literal at the start of `text` (`''` is a quote): its value and the rest.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                value.push('\'');
            } else {
                return Some((value, &body[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// The identifier at the start of `text` — `"quoted"` (with `""` for a quote) or bare (folded
/// to lower case, as the server does) — and the rest.
pub fn leading_ident(text: &str) -> Option<(String, &str)> {
    if let Some(body) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().is_some_and(|(_, next)| *next == '"') {
                    chars.next();
                    name.push('"');
                } else {
                    return Some((name, &body[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        return None;
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_lowercase(), &text[end..]))
}

/// Splits a script into statements, each trimmed and ending with `;` (meta-commands as their
/// line). `--` comments outside quotes are dropped. An unterminated quote or a statement
/// without its `;` is an error: the script is not complete.
pub fn split_statements(script: &str) -> Result<Vec<String>, String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(open) = quote {
            current.push(c);
            if c == open {
                quote = None; // a doubled quote closes and reopens: same text
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                current.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                current.push('\n');
            }
            '\\' if current.trim().is_empty() => {
                let mut line = String::from('\\');
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                    line.push(c);
                }
                statements.push(line.trim_end().to_string());
                current.clear();
            }
            ';' => {
                current.push(';');
                statements.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if quote.is_some() {
        return Err("the script ends inside a quoted string (truncated?)".into());
    }
    if !current.trim().is_empty() {
        return Err(format!(
            "the script ends with an unterminated statement {:?} (truncated?)",
            Statement::head(current.trim())
        ));
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_semicolons_outside_quotes_and_comments() {
        let script = "--\n-- Roles\n--\n\\restrict abc\nSET x = 'a;b';\nCREATE ROLE \"we;ird\";\n-- a ; comment\nALTER ROLE \"we;ird\" WITH LOGIN PASSWORD 'SCRAM''x;y';\n";
        assert_eq!(
            split_statements(script).unwrap(),
            vec![
                "\\restrict abc",
                "SET x = 'a;b';",
                "CREATE ROLE \"we;ird\";",
                "ALTER ROLE \"we;ird\" WITH LOGIN PASSWORD 'SCRAM''x;y';",
            ]
        );
    }

    #[test]
    fn a_truncated_script_is_an_error() {
        assert!(split_statements("CREATE ROLE a;\nALTER ROLE a WITH").is_err());
        assert!(split_statements("ALTER ROLE a PASSWORD 'abc").is_err());
    }

    #[test]
    fn statements_are_classified_by_what_restore_decides() {
        let cases: [(&str, Statement); 9] = [
            ("\\connect x", Statement::Meta),
            ("CREATE ROLE app;", Statement::CreateRole("app".into())),
            (
                "CREATE ROLE \"App \"\"x\"\"\";",
                Statement::CreateRole("App \"x\"".into()),
            ),
            (
                "ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:a''b';",
                Statement::AlterRole {
                    role: "app".into(),
                    password: Some("SCRAM-SHA-256$4096:a'b".into()),
                },
            ),
            (
                "ALTER ROLE app SET search_path TO 'x';",
                Statement::AlterRole {
                    role: "app".into(),
                    password: None,
                },
            ),
            (
                "ALTER DATABASE \"shop\" OWNER TO \"app\";",
                Statement::AlterDatabase("shop".into()),
            ),
            (
                "CREATE TABLESPACE fast OWNER app LOCATION '/x';",
                Statement::CreateTablespace("fast".into()),
            ),
            (
                "GRANT app TO bob GRANTED BY postgres;",
                Statement::Grant {
                    member: "bob".into(),
                },
            ),
            (
                "GRANT \"a TO b\" TO \"Carol\";",
                Statement::Grant {
                    member: "Carol".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Statement::classify(text), expected, "{text}");
        }
    }

    #[test]
    fn a_statement_head_never_shows_a_password() {
        let head = Statement::head("ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$secret';");
        assert_eq!(head, "ALTER ROLE app WITH LOGIN");
    }
}

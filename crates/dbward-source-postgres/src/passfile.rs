//! The password file (`PGPASSFILE`) that hands the password to pg_dump, pg_restore and psql:
//! one `hostname:port:database:username:password` line, each field escaped as libpq's reader
//! (`passwordFromFile`) undoes it, so that any password arrives unchanged and none sits in
//! the child's environment, where `/proc/<pid>/environ` would show it.

use dbward_core::secret::{ExposeSecret, SecretString};

/// Renders the line for `user` on `host:port`, for any database: the file lives for one
/// command, which connects to one server as one user. Fails for a line break or NUL, which
/// the line format cannot carry.
pub fn line(
    host: &str,
    port: u16,
    user: &str,
    password: &SecretString,
) -> Result<SecretString, String> {
    let password = password.expose_secret();
    for (what, text) in [("host", host), ("user", user), ("password", password)] {
        if text.contains(['\n', '\r', '\0']) {
            return Err(format!(
                "the {what} contains a line break or NUL byte, which a PostgreSQL password file cannot hold"
            ));
        }
    }
    let mut out = String::with_capacity(host.len() + user.len() + password.len() + 16);
    escape_into(&mut out, host);
    out.push(':');
    out.push_str(&port.to_string());
    out.push_str(":*:");
    escape_into(&mut out, user);
    out.push(':');
    escape_into(&mut out, password);
    out.push('\n');
    Ok(SecretString::from(out))
}

/// libpq ends a field at an unescaped `:` and drops a `\` before any character.
fn escape_into(out: &mut String, field: &str) {
    for c in field.chars() {
        if matches!(c, ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(host: &str, user: &str, password: &str) -> String {
        line(host, 5432, user, &SecretString::from(password))
            .unwrap()
            .expose_secret()
            .to_string()
    }

    #[test]
    fn colons_and_backslashes_are_escaped_in_every_field() {
        let cases = [
            ("db", "app", "s3cret", "db:5432:*:app:s3cret\n"),
            ("::1", "a:b", "p:w\\d", "\\:\\:1:5432:*:a\\:b:p\\:w\\\\d\n"),
            ("h", "u", "*", "h:5432:*:u:*\n"),
            ("h", "u", " #x' \"y ", "h:5432:*:u: #x' \"y \n"),
            ("h", "u", "\\", "h:5432:*:u:\\\\\n"),
        ];
        for (host, user, password, want) in cases {
            assert_eq!(render(host, user, password), want, "{password:?}");
        }
    }

    #[test]
    fn line_breaks_and_nul_are_refused_without_showing_the_password() {
        for password in ["a\nb", "a\rb", "a\0b"] {
            let err = line("h", 1, "u", &SecretString::from(password)).unwrap_err();
            assert!(err.contains("password") && !err.contains("a\nb"), "{err}");
        }
        assert!(line("h\n", 1, "u", &SecretString::from("p")).is_err());
    }
}

//! The `[client]` option file that hands the password to the dump tool: its value is
//! double-quoted and escaped exactly as the clients' option-file reader
//! (`mysys/my_default.c`) undoes it, so any password (quotes, backslashes, `#`, spaces at
//! either end) arrives unchanged and never on a command line.

use dbward_core::secret::{ExposeSecret, SecretString};

/// Renders `[client]\npassword="..."\n`. Fails only for a NUL byte, which an option file
/// cannot carry.
pub fn client_section(password: &SecretString) -> Result<SecretString, String> {
    let password = password.expose_secret();
    if password.contains('\0') {
        return Err(
            "the password contains a NUL byte, which MySQL option files cannot hold".into(),
        );
    }
    let mut out = String::with_capacity(password.len() + 32);
    out.push_str("[client]\npassword=\"");
    for c in password.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            c => out.push(c),
        }
    }
    out.push_str("\"\n");
    Ok(SecretString::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_password_is_quoted() {
        let s = client_section(&SecretString::from("s3cret")).unwrap();
        assert_eq!(s.expose_secret(), "[client]\npassword=\"s3cret\"\n");
    }

    #[test]
    fn hostile_password_is_escaped() {
        let s = client_section(&SecretString::from(" a\"b'c\\d#e\nf ")).unwrap();
        assert_eq!(
            s.expose_secret(),
            "[client]\npassword=\" a\\\"b\\'c\\\\d#e\\nf \"\n"
        );
    }

    #[test]
    fn nul_is_refused() {
        assert!(client_section(&SecretString::from("a\0b")).is_err());
    }
}

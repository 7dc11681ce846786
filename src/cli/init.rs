//! `dbward init [PATH]`: writes the commented starter config, never over an existing file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::Globals;

/// The starter config, with every key commented.
const STARTER: &str = include_str!("starter.toml");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write it.
    #[arg(default_value = "dbward.toml")]
    path: PathBuf,
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(crate::engine::UsageError(format!(
                "{} exists already; dbward init never overwrites a config (choose another PATH)",
                args.path.display()
            ))
            .into());
        }
        Err(e) => anyhow::bail!("cannot create {}: {e}", args.path.display()),
    };
    file.write_all(STARTER.as_bytes())?;
    if globals.json {
        outln!("{}", serde_json::json!({ "written": args.path }));
    } else {
        outln!(
            "wrote {}; edit it, then run: dbward --config {} check",
            args.path.display(),
            args.path.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_starter_config_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::parse(&dir.path().join("dbward.toml"), super::STARTER)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.sources.is_empty() && !config.schedules.is_empty());
    }

    #[test]
    fn the_starter_integrity_example_is_valid_uncommented() {
        let uncommented: String = super::STARTER
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if ["[integrity]", "signing_key", "trusted_keys"]
                        .iter()
                        .any(|k| rest.starts_with(k)) =>
                {
                    format!("{rest}\n")
                }
                _ => format!("{l}\n"),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::parse(&dir.path().join("dbward.toml"), &uncommented)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.integrity.trusted_keys.len(), 1);
    }
}

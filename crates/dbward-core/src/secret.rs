//! Secrets: passwords and keys are held in `SecretString`, which never prints, and reach
//! child tools only through their environment or a 0600 file removed when dropped.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use secrecy::{ExposeSecret, SecretString};

use crate::{Error, Result};

/// A file readable only by this user that holds secret material and is removed on drop,
/// on every path out of the code that made it (success, error or panic unwinding).
#[derive(Debug)]
pub struct SecretFile {
    path: PathBuf,
}

impl SecretFile {
    /// Creates `dir/<prefix>-<random>` with mode 0600 and writes `contents` into it.
    pub fn create(dir: &Path, prefix: &str, contents: &SecretString) -> Result<Self> {
        let path = dir.join(format!(
            "{prefix}-{}-{:x}",
            std::process::id(),
            rand_suffix()
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("cannot create secret file", &path, e))?;
        let guard = SecretFile { path };
        file.write_all(contents.expose_secret().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("cannot write secret file", &guard.path, e))?;
        Ok(guard)
    }

    /// Where the file is, to hand to a child tool.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Creates `dir` (and its parents) readable only by this user, when it does not exist yet:
/// where `SecretFile`s go.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("cannot create secret directory", dir, e))
}

fn rand_suffix() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    u128::from(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_file_is_private_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let secret = SecretString::from("s3cr3t-value");
        let path = {
            let file = SecretFile::create(dir.path(), "pw", &secret).unwrap();
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(
                std::fs::read_to_string(file.path()).unwrap(),
                "s3cr3t-value"
            );
            assert!(!format!("{file:?}").contains("s3cr3t"));
            file.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}

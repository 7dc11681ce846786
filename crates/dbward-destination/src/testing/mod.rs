//! Real servers for tests (feature `testing`): an S3 protocol server (s3s + s3s-fs) served
//! in process on a loopback port, a throwaway OpenSSH `sshd` on a loopback port with
//! generated host and user keys, and emulators run as child processes (each on a free
//! loopback port with a temporary directory, its process group killed on drop): Azurite
//! (Azure Blob), WsgiDAV (WebDAV), gcp-storage-emulator (GCS) and moto's S3 server (versioned
//! buckets with Object Lock, which s3s-fs lacks). The emulators are not Debian packages:
//! `scripts/lib/test-tools.sh` installs them under `${CARGO_TARGET_DIR:-target}/test-tools/`
//! and exports `DBWARD_TEST_AZURITE`, `DBWARD_TEST_WSGIDAV`, `DBWARD_TEST_GCS_EMULATOR` and
//! `DBWARD_TEST_MOTO`; without them (and not on `PATH`) the helpers panic saying so. The
//! dbward crate's tests use them through a dev-dependency on this crate with the `testing`
//! feature.

mod azurite;
mod gcs;
mod moto;
mod process;
mod s3;
mod sshd;
mod webdav;

pub use azurite::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
pub use gcs::GcsEmulator;
pub use moto::{LockMode, Moto};
pub use s3::S3Server;
pub use sshd::Sshd;
pub use webdav::WebdavServer;

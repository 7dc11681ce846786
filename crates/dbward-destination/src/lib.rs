//! dbward's destinations: where artifacts and manifests are stored. Each type implements
//! `dbward_core::destination::Destination`: `fs` is a local (or mounted) directory;
//! `OpenDalDestination` covers the remote services (S3, SFTP, GCS, Azure Blob, WebDAV)
//! through Apache OpenDAL, built from the typed settings in `services`. `Retrying` wraps any
//! destination to retry its idempotent calls on transient errors.

pub mod conformance;
pub mod failure;
pub mod fs;
pub mod remote;
pub mod retry;
pub mod s3_http;
pub mod services;
#[cfg(feature = "testing")]
pub mod testing;

pub use fs::FsDestination;
pub use remote::{OpenDalDestination, Tuning};
pub use retry::{RetryPolicy, Retrying};
pub use services::{
    AzblobSettings, GcsSettings, KnownHosts, S3Settings, SftpSettings, WebdavSettings,
};

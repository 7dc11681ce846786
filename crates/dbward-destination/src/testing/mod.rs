//! Real servers for tests (feature `testing`): an S3 protocol server (s3s + s3s-fs) served
//! in process on a loopback port, and a throwaway OpenSSH `sshd` on a loopback port with
//! generated host and user keys. The dbward crate's tests use them through a dev-dependency
//! on this crate with the `testing` feature.

mod s3;
mod sshd;

pub use s3::S3Server;
pub use sshd::Sshd;

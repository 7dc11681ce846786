//! dbward's destinations: where artifacts and manifests are stored. Each type implements
//! `dbward_core::destination::Destination`; `fs` is a local (or mounted) directory.

pub mod conformance;
pub mod fs;

pub use fs::FsDestination;

//! dbward's shared vocabulary: the `Source` and `Destination` traits every adapter implements,
//! the manifest stored beside each artifact, the object layout, secrets and child processes.
//!
//! Nothing here knows about a particular engine or storage service; adapters live in their
//! own crates and the `dbward` crate wires them together.

pub mod binlog;
pub mod chunked;
pub mod conformance;
pub mod destination;
pub mod error;
pub mod inventory;
pub mod layout;
pub mod manifest;
pub mod process;
pub mod restore;
pub mod secret;
pub mod signing;
pub mod source;
pub mod stream;
pub mod tls;
pub mod wal;

pub use error::{Error, Result};
pub use inventory::{Inventory, ObjectKind};
pub use manifest::{DatabaseSettings, Engine, FidelityLoss, Manifest, TableRows};

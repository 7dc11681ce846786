//! Policies: pure functions over catalog records and config facts, with `now` a parameter.
//! They read nothing and write nothing, so they are tested with tables and properties.

pub mod binlog;
pub mod fires;
pub mod fleet;
pub mod health;
pub mod planning;
pub mod retention;
pub mod schedule;
pub mod select;
pub mod since;
mod span;
pub mod wal;

pub use span::span;

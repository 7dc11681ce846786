//! Policies: pure functions over catalog records and config facts, with `now` a parameter.
//! They read nothing and write nothing, so they are tested with tables and properties.

pub mod health;
pub mod retention;
pub mod schedule;
mod span;

pub use span::span;

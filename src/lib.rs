//! dbward backs up databases and proves every backup can be restored. This crate wires the
//! adapters (sources, destinations) to the pipeline, the catalog and the command line.
//! ARCHITECTURE.md has the map.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod logging;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod registry;
pub mod web;

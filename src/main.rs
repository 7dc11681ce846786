//! dbward
fn main() {}

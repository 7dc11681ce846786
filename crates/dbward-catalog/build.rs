//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! `migrations` folders, and cargo does not otherwise know that the crate reads them (a
//! binary built after adding a migration kept the old schema version).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

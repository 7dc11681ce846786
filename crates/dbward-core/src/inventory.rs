//! The object inventory of a database: how many objects of each kind it holds, and the history
//! rows of its system-versioned tables. A backup records the source's inventory in the
//! manifest; a drill takes the restored copy's and compares the two, so that an object kind or
//! a version the dump tool left out fails the drill instead of passing unseen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::TableRows;

/// A kind of database object an inventory counts. Engines count the kinds they have; a kind
/// an engine does not report counts as zero when inventories are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    Schemas,
    Tables,
    Views,
    MaterializedViews,
    Sequences,
    Indexes,
    Constraints,
    Routines,
    Triggers,
    EventTriggers,
    Events,
    Rules,
    Policies,
    Types,
    Extensions,
    LargeObjects,
}

impl ObjectKind {
    /// The name used in manifests and drill checks.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Schemas => "schemas",
            ObjectKind::Tables => "tables",
            ObjectKind::Views => "views",
            ObjectKind::MaterializedViews => "materialized_views",
            ObjectKind::Sequences => "sequences",
            ObjectKind::Indexes => "indexes",
            ObjectKind::Constraints => "constraints",
            ObjectKind::Routines => "routines",
            ObjectKind::Triggers => "triggers",
            ObjectKind::EventTriggers => "event_triggers",
            ObjectKind::Events => "events",
            ObjectKind::Rules => "rules",
            ObjectKind::Policies => "policies",
            ObjectKind::Types => "types",
            ObjectKind::Extensions => "extensions",
            ObjectKind::LargeObjects => "large_objects",
        }
    }
}

/// What a database holds, counted by catalog queries. `objects` is keyed by
/// [`ObjectKind::as_str`] (plain strings, so that a manifest naming a kind this build does not
/// know still reads); `history` lists the history rows (versions no longer current) of each
/// system-versioned table, which a dump without them would silently lose. The rows of each
/// table are in the manifest's `tables` (exact, from the dump itself; they include history
/// rows where the dump holds them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub objects: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<TableRows>,
}

/// One way a restored database differs from the inventory recorded at backup time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryDifference {
    /// The restored database has `restored` objects of `kind`, the backup had `recorded`.
    Objects {
        kind: String,
        recorded: u64,
        restored: u64,
    },
    /// A system-versioned table's history rows differ (`None`: not versioned, or absent).
    History {
        table: String,
        recorded: Option<u64>,
        restored: Option<u64>,
    },
}

impl std::fmt::Display for InventoryDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InventoryDifference::Objects {
                kind,
                recorded,
                restored,
            } => {
                let what = if restored < recorded {
                    format!("{} missing", recorded - restored)
                } else {
                    format!("{} extra", restored - recorded)
                };
                write!(
                    f,
                    "{kind}: {what} (restored {restored}, the backup had {recorded})"
                )
            }
            InventoryDifference::History {
                table,
                recorded,
                restored,
            } => {
                let show = |n: &Option<u64>| n.map_or("none".to_string(), |n| n.to_string());
                write!(
                    f,
                    "history rows of {table}: restored {}, the backup had {}",
                    show(restored),
                    show(recorded)
                )
            }
        }
    }
}

impl Inventory {
    /// Sets the count of `kind`.
    pub fn set(&mut self, kind: ObjectKind, count: u64) {
        self.objects.insert(kind.as_str().to_string(), count);
    }

    /// The count of `kind`; zero when it was not counted.
    pub fn count(&self, kind: ObjectKind) -> u64 {
        self.objects.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// Every difference of `restored` from this (recorded) inventory, kinds first, in name
    /// order. A kind or history entry present on one side only compares with zero / none.
    pub fn differences(&self, restored: &Inventory) -> Vec<InventoryDifference> {
        let mut out = Vec::new();
        let kinds: std::collections::BTreeSet<&String> =
            self.objects.keys().chain(restored.objects.keys()).collect();
        for kind in kinds {
            let recorded = self.objects.get(kind).copied().unwrap_or(0);
            let now = restored.objects.get(kind).copied().unwrap_or(0);
            if recorded != now {
                out.push(InventoryDifference::Objects {
                    kind: kind.clone(),
                    recorded,
                    restored: now,
                });
            }
        }
        let history = |inv: &Inventory| -> BTreeMap<String, u64> {
            inv.history
                .iter()
                .map(|t| (t.table.clone(), t.rows))
                .collect()
        };
        let (before, after) = (history(self), history(restored));
        let tables: std::collections::BTreeSet<&String> =
            before.keys().chain(after.keys()).collect();
        for table in tables {
            let (recorded, now) = (before.get(table).copied(), after.get(table).copied());
            if recorded.unwrap_or(0) != now.unwrap_or(0) {
                out.push(InventoryDifference::History {
                    table: table.clone(),
                    recorded,
                    restored: now,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(objects: &[(ObjectKind, u64)], history: &[(&str, u64)]) -> Inventory {
        let mut inv = Inventory::default();
        for (kind, n) in objects {
            inv.set(*kind, *n);
        }
        inv.history = history
            .iter()
            .map(|(t, n)| TableRows {
                table: t.to_string(),
                rows: *n,
            })
            .collect();
        inv
    }

    #[test]
    fn identical_inventories_have_no_difference() {
        let a = inventory(
            &[(ObjectKind::Tables, 3), (ObjectKind::Views, 1)],
            &[("t", 2)],
        );
        assert!(a.differences(&a.clone()).is_empty());
    }

    #[test]
    fn each_missing_or_extra_kind_and_history_is_named() {
        let recorded = inventory(
            &[
                (ObjectKind::Tables, 3),
                (ObjectKind::Views, 2),
                (ObjectKind::Triggers, 1),
            ],
            &[("t", 2)],
        );
        let restored = inventory(
            &[
                (ObjectKind::Tables, 3),
                (ObjectKind::Views, 1),
                (ObjectKind::Events, 1),
            ],
            &[("t", 1)],
        );
        let lines: Vec<String> = recorded
            .differences(&restored)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "events: 1 extra (restored 1, the backup had 0)",
                "triggers: 1 missing (restored 0, the backup had 1)",
                "views: 1 missing (restored 1, the backup had 2)",
                "history rows of t: restored 1, the backup had 2",
            ]
        );
    }

    #[test]
    fn a_kind_counted_as_zero_equals_one_not_counted() {
        let recorded = inventory(&[(ObjectKind::Events, 0)], &[("t", 0)]);
        assert!(recorded.differences(&Inventory::default()).is_empty());
    }

    #[test]
    fn inventory_round_trips_through_json_and_reads_unknown_kinds() {
        let inv = inventory(&[(ObjectKind::MaterializedViews, 2)], &[("s.t", 5)]);
        let json = serde_json::to_string(&inv).unwrap();
        assert_eq!(
            json,
            r#"{"objects":{"materialized_views":2},"history":[{"table":"s.t","rows":5}]}"#
        );
        assert_eq!(serde_json::from_str::<Inventory>(&json).unwrap(), inv);
        let future: Inventory = serde_json::from_str(r#"{"objects":{"holograms":1}}"#).unwrap();
        assert_eq!(future.objects["holograms"], 1);
    }
}

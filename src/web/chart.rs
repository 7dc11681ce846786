//! A database's backups over time (dump size, stored size, duration, row count) and its
//! drills' restore times, as inline SVG drawn on the server: no script and no chart library
//! to ship, it prints and scales, and each point carries a `<title>` that screen readers and
//! hover show. One point per backup (or drill); a failed or skipped one is drawn as a
//! failure, on the baseline when it recorded no value, and a backup whose dump size was an
//! anomaly is ringed, with the reason in its title.

use maud::{Markup, html};

use chrono::{DateTime, Utc};
use dbward_catalog::DrillRecord;

use crate::catalog::{BackupRecord, BackupStatus};
use crate::engine::backup::human_bytes;
use crate::engine::history::Entry;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 24.0;

/// One point: where it goes and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub failed: bool,
    /// Its dump size stood out (`policy::health::size_anomalies`).
    pub anomaly: bool,
    pub label: String,
}

/// What a chart plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    DumpSize,
    StoredSize,
    Duration,
    /// Rows in every table, by the backup's manifest.
    Rows,
    /// How long each drill's restore took.
    RestoreTime,
}

impl Series {
    /// The series drawn per backup.
    pub const OF_BACKUPS: [Series; 4] = [
        Series::DumpSize,
        Series::StoredSize,
        Series::Duration,
        Series::Rows,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Series::StoredSize => "Stored size",
            Series::DumpSize => "Dump size",
            Series::Duration => "Duration",
            Series::Rows => "Row count",
            Series::RestoreTime => "Restore time",
        }
    }

    /// A backup's value: bytes, milliseconds or rows.
    fn of_backup(self, entry: &Entry) -> Option<u64> {
        let b: &BackupRecord = &entry.backup;
        match self {
            Series::StoredSize => b.stored_bytes,
            Series::DumpSize => b.dump_bytes,
            Series::Duration => b
                .duration()
                .and_then(|d| u64::try_from(d.num_milliseconds()).ok()),
            Series::Rows => entry.rows,
            Series::RestoreTime => None,
        }
    }

    fn show(self, value: u64) -> String {
        match self {
            Series::StoredSize | Series::DumpSize => human_bytes(value),
            Series::Duration | Series::RestoreTime => {
                format!("{:.1} s", value as f64 / 1000.0)
            }
            Series::Rows => format!("{value} rows"),
        }
    }
}

/// One thing drawn: when, its value, whether it failed, and its outcome in words.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub value: Option<u64>,
    pub failed: bool,
    pub outcome: String,
    /// Why its dump size stood out, if it did.
    pub anomaly: Option<String>,
}

/// Each backup's value of `series`.
pub fn of_backups(backups: &[Entry], series: Series) -> Vec<Sample> {
    backups
        .iter()
        .map(|e| Sample {
            at: e.backup.started_at,
            value: series.of_backup(e),
            failed: !matches!(
                e.backup.status,
                BackupStatus::Succeeded | BackupStatus::Degraded
            ),
            outcome: e.backup.status.to_string(),
            anomaly: e.anomaly.clone(),
        })
        .collect()
}

/// Each drill's restore time.
pub fn of_drills(drills: &[DrillRecord]) -> Vec<Sample> {
    drills
        .iter()
        .map(|d| Sample {
            at: d.at,
            value: d.restore_ms,
            failed: !d.ok,
            outcome: if d.ok { "passed" } else { "failed" }.to_string(),
            anomaly: None,
        })
        .collect()
}

/// Places `samples` (any order) by time and value, oldest left.
pub fn points(samples: &[Sample], series: Series) -> Vec<Point> {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by_key(|s| s.at);
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let span = (last.at - first.at).num_milliseconds().max(1) as f64;
    let max = sorted
        .iter()
        .filter_map(|s| s.value)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let single = sorted.len() == 1;
    sorted
        .iter()
        .map(|s| {
            let along = if single {
                0.5
            } else {
                (s.at - first.at).num_milliseconds() as f64 / span
            };
            Point {
                x: PAD + along * (WIDTH - 2.0 * PAD),
                y: HEIGHT - PAD - (s.value.unwrap_or(0) as f64 / max) * (HEIGHT - 2.0 * PAD),
                failed: s.failed,
                anomaly: s.anomaly.is_some(),
                label: format!(
                    "{} {}: {}{}",
                    s.at.format("%Y-%m-%d %H:%M"),
                    s.outcome,
                    s.value
                        .map_or_else(|| "nothing recorded".to_string(), |v| series.show(v)),
                    s.anomaly
                        .as_ref()
                        .map_or_else(String::new, |why| format!(" (size anomaly: {why})"))
                ),
            }
        })
        .collect()
}

/// The chart of `samples` of `series`, with a line through the good ones' values and the
/// largest value as its scale.
pub fn chart(samples: &[Sample], series: Series) -> Markup {
    let points = points(samples, series);
    let max = samples.iter().filter_map(|s| s.value).max().unwrap_or(0);
    let line: Vec<String> = points
        .iter()
        .filter(|p| !p.failed)
        .map(|p| format!("{:.1},{:.1}", p.x, p.y))
        .collect();
    html! {
        svg.chart viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img"
            aria-label={(series.title()) " of " (samples.len()) " " @if series == Series::RestoreTime { "drills" } @else { "backups" } ", up to " (series.show(max))} {
            line.axis x1=(PAD) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) {}
            line.axis x1=(PAD) y1=(PAD) x2=(PAD) y2=(HEIGHT - PAD) {}
            text x=(PAD + 4.0) y=(PAD - 8.0) { (series.show(max)) }
            @if line.len() > 1 {
                polyline.trend points=(line.join(" ")) {}
            }
            @for p in &points {
                circle.point.failed[p.failed].anomaly[p.anomaly] cx=(format!("{:.1}", p.x)) cy=(format!("{:.1}", p.y)) r="5" {
                    title { (p.label) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn backup(at: &str, status: BackupStatus, stored: Option<u64>) -> BackupRecord {
        BackupRecord {
            id: format!("01{at}"),
            schedule: None,
            source: "s".into(),
            engine: "sqlite".into(),
            database: "d".into(),
            status,
            error: None,
            started_at: at.parse::<DateTime<Utc>>().unwrap(),
            finished_at: None,
            dump_bytes: None,
            stored_bytes: stored,
            sha256: None,
            compression: None,
            copies: Vec::new(),
            verification: None,
            warnings: Vec::new(),
            pruned_at: None,
            agent: None,
        }
    }

    fn entries(backups: &[BackupRecord]) -> Vec<Entry> {
        backups
            .iter()
            .map(|b| Entry {
                backup: b.clone(),
                rows: None,
                anomaly: None,
            })
            .collect()
    }

    #[test]
    fn one_point_per_backup_oldest_left_biggest_highest() {
        let backups = [
            backup("2026-01-03T00:00:00Z", BackupStatus::Succeeded, Some(200)),
            backup("2026-01-01T00:00:00Z", BackupStatus::Succeeded, Some(100)),
            backup("2026-01-02T00:00:00Z", BackupStatus::Failed, None),
        ];
        let p = points(
            &of_backups(&entries(&backups), Series::StoredSize),
            Series::StoredSize,
        );
        assert_eq!(p.len(), 3);
        assert!(p[0].x < p[1].x && p[1].x < p[2].x);
        assert!(p[1].failed && !p[0].failed && !p[2].failed);
        assert_eq!(p[1].y, HEIGHT - PAD, "nothing stored: on the baseline");
        assert_eq!(p[2].y, PAD, "the largest at the top");
        assert!(
            p[1].label.contains("failed: nothing recorded"),
            "{}",
            p[1].label
        );
        let svg = chart(
            &of_backups(&entries(&backups), Series::StoredSize),
            Series::StoredSize,
        )
        .into_string();
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert_eq!(svg.matches("class=\"point failed\"").count(), 1, "{svg}");
    }

    #[test]
    fn durations_and_dump_sizes_are_plotted_too() {
        let mut slow = backup("2026-01-01T00:00:00Z", BackupStatus::Succeeded, Some(10));
        slow.finished_at = Some("2026-01-01T00:01:00Z".parse().unwrap());
        slow.dump_bytes = Some(1000);
        let mut quick = backup("2026-01-02T00:00:00Z", BackupStatus::Failed, None);
        quick.finished_at = Some("2026-01-02T00:00:06Z".parse().unwrap());
        let both = [slow, quick];
        let p = points(
            &of_backups(&entries(&both), Series::Duration),
            Series::Duration,
        );
        assert_eq!(p[0].y, PAD, "the slowest at the top");
        assert!(
            p[1].failed && p[1].label.ends_with("6.0 s"),
            "{}",
            p[1].label
        );
        let svg = chart(
            &of_backups(&entries(&both), Series::DumpSize),
            Series::DumpSize,
        )
        .into_string();
        assert!(
            svg.contains("aria-label=\"Dump size of 2 backups, up to 1000 B\""),
            "{svg}"
        );
    }

    #[test]
    fn drills_are_plotted_by_restore_time() {
        let drill = |at: &str, ok: bool, restore_ms: Option<u64>| DrillRecord {
            backup_id: "B".into(),
            at: at.parse().unwrap(),
            ok,
            duration_ms: Some(9000),
            restore_ms,
        };
        let drills = [
            drill("2026-01-02T00:00:00Z", false, None),
            drill("2026-01-01T00:00:00Z", true, Some(4000)),
        ];
        let p = points(&of_drills(&drills), Series::RestoreTime);
        assert_eq!((p[0].y, p[0].failed), (PAD, false), "{p:?}");
        assert!(p[1].failed && p[1].label.ends_with("failed: nothing recorded"));
        let svg = chart(&of_drills(&drills), Series::RestoreTime).into_string();
        assert!(
            svg.contains("Restore time of 2 drills, up to 4.0 s"),
            "{svg}"
        );
    }

    #[test]
    fn no_backups_no_points_and_one_sits_in_the_middle() {
        assert!(points(&[], Series::Duration).is_empty());
        let lone = [backup(
            "2026-01-01T00:00:00Z",
            BackupStatus::Succeeded,
            Some(5),
        )];
        let one = points(
            &of_backups(&entries(&lone), Series::StoredSize),
            Series::StoredSize,
        );
        assert_eq!(one[0].x, WIDTH / 2.0);
    }

    #[test]
    fn row_counts_are_plotted_and_anomalies_ringed_with_their_reason() {
        let mut grown = entries(&[
            backup("2026-01-02T00:00:00Z", BackupStatus::Succeeded, Some(10)),
            backup("2026-01-01T00:00:00Z", BackupStatus::Succeeded, Some(10)),
        ]);
        grown[0].rows = Some(5000);
        grown[0].anomaly = Some("the dump is 500 bytes".into());
        grown[1].rows = Some(50);
        let p = points(&of_backups(&grown, Series::Rows), Series::Rows);
        assert_eq!((p[1].y, p[1].anomaly), (PAD, true), "{p:?}");
        assert!(!p[0].anomaly);
        assert!(
            p[1].label
                .ends_with("5000 rows (size anomaly: the dump is 500 bytes)"),
            "{}",
            p[1].label
        );
        let svg = chart(&of_backups(&grown, Series::Rows), Series::Rows).into_string();
        assert!(
            svg.contains("Row count of 2 backups, up to 5000 rows"),
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"point anomaly\"").count(), 1, "{svg}");
    }
}

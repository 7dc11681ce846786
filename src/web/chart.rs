//! A database's backups over time (dump size, stored size, duration), as inline SVG drawn on
//! the server: no script and no chart library to ship, it prints and scales, and each point
//! carries a `<title>` that screen readers and hover show. One point per backup; a failed or
//! skipped one is drawn as a failure, on the baseline when it recorded no value.

use maud::{Markup, html};

use crate::catalog::{BackupRecord, BackupStatus};
use crate::engine::backup::human_bytes;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 24.0;

/// One point: where it goes and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub failed: bool,
    pub label: String,
}

/// What a chart plots per backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    StoredSize,
    DumpSize,
    Duration,
}

impl Series {
    pub const ALL: [Series; 3] = [Series::DumpSize, Series::StoredSize, Series::Duration];

    pub fn title(self) -> &'static str {
        match self {
            Series::StoredSize => "Stored size",
            Series::DumpSize => "Dump size",
            Series::Duration => "Duration",
        }
    }

    /// The backup's value: bytes, or milliseconds.
    fn value(self, b: &BackupRecord) -> Option<u64> {
        match self {
            Series::StoredSize => b.stored_bytes,
            Series::DumpSize => b.dump_bytes,
            Series::Duration => b
                .duration()
                .and_then(|d| u64::try_from(d.num_milliseconds()).ok()),
        }
    }

    fn show(self, value: u64) -> String {
        match self {
            Series::StoredSize | Series::DumpSize => human_bytes(value),
            Series::Duration => format!("{:.1} s", value as f64 / 1000.0),
        }
    }
}

/// Places `backups` (any order) by start time and their value of `series`, oldest left.
pub fn points(backups: &[BackupRecord], series: Series) -> Vec<Point> {
    let mut sorted: Vec<&BackupRecord> = backups.iter().collect();
    sorted.sort_by_key(|b| b.started_at);
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let span = (last.started_at - first.started_at)
        .num_milliseconds()
        .max(1) as f64;
    let max = sorted
        .iter()
        .filter_map(|b| series.value(b))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let single = sorted.len() == 1;
    sorted
        .iter()
        .map(|b| {
            let along = if single {
                0.5
            } else {
                (b.started_at - first.started_at).num_milliseconds() as f64 / span
            };
            let value = series.value(b);
            let failed = !matches!(b.status, BackupStatus::Succeeded | BackupStatus::Degraded);
            Point {
                x: PAD + along * (WIDTH - 2.0 * PAD),
                y: HEIGHT - PAD - (value.unwrap_or(0) as f64 / max) * (HEIGHT - 2.0 * PAD),
                failed,
                label: format!(
                    "{} {}: {}",
                    b.started_at.format("%Y-%m-%d %H:%M"),
                    b.status,
                    value.map_or_else(|| "nothing recorded".to_string(), |v| series.show(v))
                ),
            }
        })
        .collect()
}

/// The chart of `series`, with a line through the good backups' values and the largest
/// value as its scale.
pub fn chart(backups: &[BackupRecord], series: Series) -> Markup {
    let points = points(backups, series);
    let max = backups
        .iter()
        .filter_map(|b| series.value(b))
        .max()
        .unwrap_or(0);
    let line: Vec<String> = points
        .iter()
        .filter(|p| !p.failed)
        .map(|p| format!("{:.1},{:.1}", p.x, p.y))
        .collect();
    html! {
        svg.chart viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img"
            aria-label={(series.title()) " of " (backups.len()) " backups, up to " (series.show(max))} {
            line.axis x1=(PAD) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) {}
            line.axis x1=(PAD) y1=(PAD) x2=(PAD) y2=(HEIGHT - PAD) {}
            text x=(PAD + 4.0) y=(PAD - 8.0) { (series.show(max)) }
            @if line.len() > 1 {
                polyline.trend points=(line.join(" ")) {}
            }
            @for p in &points {
                circle.point.failed[p.failed] cx=(format!("{:.1}", p.x)) cy=(format!("{:.1}", p.y)) r="5" {
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

    #[test]
    fn one_point_per_backup_oldest_left_biggest_highest() {
        let backups = [
            backup("2026-01-03T00:00:00Z", BackupStatus::Succeeded, Some(200)),
            backup("2026-01-01T00:00:00Z", BackupStatus::Succeeded, Some(100)),
            backup("2026-01-02T00:00:00Z", BackupStatus::Failed, None),
        ];
        let p = points(&backups, Series::StoredSize);
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
        let svg = chart(&backups, Series::StoredSize).into_string();
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
        let p = points(&[slow.clone(), quick.clone()], Series::Duration);
        assert_eq!(p[0].y, PAD, "the slowest at the top");
        assert!(
            p[1].failed && p[1].label.ends_with("6.0 s"),
            "{}",
            p[1].label
        );
        let svg = chart(&[slow, quick], Series::DumpSize).into_string();
        assert!(
            svg.contains("aria-label=\"Dump size of 2 backups, up to 1000 B\""),
            "{svg}"
        );
    }

    #[test]
    fn no_backups_no_points_and_one_sits_in_the_middle() {
        assert!(points(&[], Series::Duration).is_empty());
        let one = points(
            &[backup(
                "2026-01-01T00:00:00Z",
                BackupStatus::Succeeded,
                Some(5),
            )],
            Series::StoredSize,
        );
        assert_eq!(one[0].x, WIDTH / 2.0);
    }
}

//! Since when a health problem has held, read from a database's history: what the problems
//! page and `GET /api/v1/problems` show beside each problem. Pure: the caller hands in the
//! database's newest backups (not pruned, newest first) and its drill proofs.
//!
//! - `failed`, `degraded`: the start of the first backup of the unbroken run of such backups
//!   at the top of the history (a run of failures started when its first one did).
//! - `stale`, `rpo`: the start of the newest good backup (succeeded or degraded): nothing
//!   good since; `None` when there never was one.
//! - `missing_copy`: the start of the oldest backup whose copy is missing.
//! - `verify_failed`: the newest failed verification of the newest good backup, else the
//!   newest failed drill.
//! - `unverified`, `rto`: the newest passed drill (none newer, or none fast enough since).
//! - `key`: the newest passed key drill.
//! - `anomaly`, `excluded`: the start of the newest succeeded backup, which shows it.
//! - `copies`, `agent_dead`, `unserved`: `None`: the history does not date them.

use chrono::{DateTime, Utc};
use dbward_catalog::{BackupRecord, BackupStatus, CopyStatus, Proofs};

use super::health::Kind;

/// Whether [`since`] reads anything for `kind` (the caller then need not read the history).
pub fn dated(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Copies | Kind::AgentDead | Kind::Unserved | Kind::Archiving | Kind::WalGap
    )
}

/// Whether [`since`] reads nothing but the newest passed drill for `kind`, which `status`
/// reports for every database (`last_drill`): the caller need not read the history. Most
/// problems of a large fleet are of these kinds (`unverified` above all), and reading the
/// window of ten thousand databases took the problems page ten seconds.
pub fn dated_by_last_good_drill(kind: Kind) -> bool {
    matches!(kind, Kind::Unverified | Kind::Rto)
}

/// When the condition of a problem of `kind` started, as far as `backups` (newest first) and
/// `proofs` tell.
pub fn since(kind: Kind, backups: &[BackupRecord], proofs: &Proofs) -> Option<DateTime<Utc>> {
    let ended = || {
        backups.iter().filter(|b| {
            matches!(
                b.status,
                BackupStatus::Succeeded | BackupStatus::Degraded | BackupStatus::Failed
            )
        })
    };
    let good = || {
        backups
            .iter()
            .find(|b| matches!(b.status, BackupStatus::Succeeded | BackupStatus::Degraded))
    };
    match kind {
        Kind::Failed | Kind::Degraded => {
            let status = if kind == Kind::Failed {
                BackupStatus::Failed
            } else {
                BackupStatus::Degraded
            };
            ended()
                .take_while(|b| b.status == status)
                .last()
                .map(|b| b.started_at)
        }
        Kind::Stale | Kind::Rpo => good().map(|b| b.started_at),
        Kind::MissingCopy => backups
            .iter()
            .filter(|b| b.copies.iter().any(|c| c.status == CopyStatus::Missing))
            .map(|b| b.started_at)
            .min(),
        Kind::VerifyFailed => good()
            .and_then(|b| b.verification.as_ref())
            .filter(|v| !v.ok)
            .map(|v| v.at)
            .or_else(|| proofs.last_drill.as_ref().filter(|d| !d.ok).map(|d| d.at)),
        Kind::Unverified | Kind::Rto => proofs.last_good_drill,
        Kind::Key => proofs.last_good_key,
        Kind::Anomaly | Kind::Excluded | Kind::Fidelity => backups
            .iter()
            .find(|b| b.status == BackupStatus::Succeeded)
            .map(|b| b.started_at),
        Kind::Copies | Kind::AgentDead | Kind::Unserved | Kind::Archiving | Kind::WalGap => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbward_catalog::{CopyRecord, Proof};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn backup(id: &str, started: &str, status: BackupStatus) -> BackupRecord {
        BackupRecord {
            id: id.into(),
            schedule: None,
            source: "pg".into(),
            engine: "postgres".into(),
            database: "app".into(),
            status,
            error: None,
            started_at: at(started),
            finished_at: Some(at(started)),
            dump_bytes: None,
            stored_bytes: None,
            sha256: None,
            compression: None,
            copies: vec![CopyRecord {
                destination: "local".into(),
                path: format!("{id}.dump"),
                status: CopyStatus::Committed,
                size: None,
                error: None,
            }],
            verification: None,
            warnings: Vec::new(),
            pruned_at: None,
            agent: None,
        }
    }

    #[test]
    fn a_run_of_failures_dates_from_its_first() {
        let history = [
            backup("B5", "2026-03-05T02:00:00Z", BackupStatus::Failed),
            backup("B4", "2026-03-04T02:00:00Z", BackupStatus::Skipped),
            backup("B3", "2026-03-03T02:00:00Z", BackupStatus::Failed),
            backup("B2", "2026-03-02T02:00:00Z", BackupStatus::Succeeded),
            backup("B1", "2026-03-01T02:00:00Z", BackupStatus::Failed),
        ];
        let none = Proofs::default();
        assert_eq!(
            since(Kind::Failed, &history, &none),
            Some(at("2026-03-03T02:00:00Z")),
            "skipped backups do not break the run; the success before it does"
        );
        assert_eq!(
            since(Kind::Stale, &history, &none),
            Some(at("2026-03-02T02:00:00Z"))
        );
        assert_eq!(since(Kind::Degraded, &history, &none), None);
        assert_eq!(since(Kind::Rpo, &history[..1], &none), None, "never good");
    }

    #[test]
    fn lost_copies_and_drills_are_dated_by_their_records() {
        let mut old = backup("B1", "2026-03-01T02:00:00Z", BackupStatus::Succeeded);
        old.copies[0].status = CopyStatus::Missing;
        let mut newer = backup("B2", "2026-03-02T02:00:00Z", BackupStatus::Succeeded);
        newer.copies[0].status = CopyStatus::Missing;
        let history = [newer, old];
        let proofs = Proofs {
            last_drill: Some(Proof {
                backup_id: "B2".into(),
                at: at("2026-03-03T00:00:00Z"),
                ok: false,
                restore_ms: None,
            }),
            last_good_drill: Some(at("2026-02-20T00:00:00Z")),
            last_good_drill_restore: None,
            last_good_key: None,
        };
        assert_eq!(
            since(Kind::MissingCopy, &history, &proofs),
            Some(at("2026-03-01T02:00:00Z"))
        );
        assert_eq!(
            since(Kind::VerifyFailed, &history, &proofs),
            Some(at("2026-03-03T00:00:00Z"))
        );
        assert_eq!(
            since(Kind::Unverified, &history, &proofs),
            Some(at("2026-02-20T00:00:00Z"))
        );
        assert_eq!(since(Kind::Copies, &history, &proofs), None);
        assert!(!dated(Kind::Copies) && dated(Kind::MissingCopy));
    }

    /// The kinds the problems use case dates from `status`'s `last_drill` alone: their date
    /// is the newest passed drill whatever the history and the other proofs hold.
    #[test]
    fn kinds_dated_by_the_last_good_drill_read_nothing_else() {
        let mut lost = backup("B2", "2026-03-02T02:00:00Z", BackupStatus::Failed);
        lost.copies[0].status = CopyStatus::Missing;
        let history = [
            lost,
            backup("B1", "2026-03-01T02:00:00Z", BackupStatus::Succeeded),
        ];
        let full = Proofs {
            last_drill: Some(Proof {
                backup_id: "B1".into(),
                at: at("2026-03-03T00:00:00Z"),
                ok: false,
                restore_ms: Some(5),
            }),
            last_good_drill: Some(at("2026-02-20T00:00:00Z")),
            last_good_drill_restore: Some(chrono::Duration::seconds(9)),
            last_good_key: Some(at("2026-02-21T00:00:00Z")),
        };
        let only_drill = Proofs {
            last_good_drill: full.last_good_drill,
            ..Proofs::default()
        };
        for kind in Kind::ALL
            .into_iter()
            .filter(|k| dated_by_last_good_drill(*k))
        {
            assert!(dated(kind), "{kind:?}");
            assert_eq!(
                since(kind, &history, &full),
                since(kind, &[], &only_drill),
                "{kind:?}"
            );
            assert_eq!(
                since(kind, &[], &only_drill),
                full.last_good_drill,
                "{kind:?}"
            );
        }
        assert_eq!(
            Kind::ALL
                .into_iter()
                .filter(|k| dated_by_last_good_drill(*k))
                .count(),
            2
        );
    }
}

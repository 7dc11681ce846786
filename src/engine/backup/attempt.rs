//! One backup's attempt: dump, stream through the pipeline to every destination, judge the
//! dump (the gate), then commit each copy with its read-back and manifest. Whatever fails
//! becomes the attempt's `Outcome`; nothing here records to the catalog.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use dbward_core::destination::{Destination, Upload};
use dbward_core::layout::{ObjectKeys, object_keys};
use dbward_core::manifest::{MANIFEST_FORMAT_VERSION, Manifest};
use dbward_core::source::{DumpReport, Source};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{Attempt, INTERRUPTED, Outcome, human_bytes, until_stopped};
use crate::catalog::{BackupStatus, CopyRecord, CopyStatus};
use crate::config::VerifyUpload;
use crate::engine::Context;
use crate::pipeline::{self, Target};
use crate::policy::planning::Job;

pub(super) async fn attempt(
    ctx: &Context,
    job: &Job,
    source: &dyn Source,
    one: &Attempt<'_>,
) -> Outcome {
    let (id, started_at, bar, stop) = (one.id, one.started_at, one.bar, one.stop);
    // Before the dump: a backup whose manifest cannot be signed is not worth taking.
    let signing_key = match crate::engine::integrity::signing_key(&ctx.config.integrity) {
        Ok(key) => key,
        Err(e) => return Outcome::failed(format!("cannot sign the manifest: {e:#}")),
    };
    // Taken just before the dump, for drills to compare the restored copy with. Without one
    // the backup still goes on (its drills then compare row counts only), and says so.
    // The server-wide objects are no database: what they hold is the manifest's `globals`.
    let inventory = if job.database == dbward_core::manifest::GLOBALS {
        None
    } else {
        match until_stopped(stop, source.inventory(&job.database)).await {
            Some(taken) => Some(taken),
            None => return Outcome::failed(INTERRUPTED.into()),
        }
    };
    let dump = match until_stopped(stop, source.dump(&job.database)).await {
        Some(Ok(dump)) => dump,
        Some(Err(e)) => return Outcome::failed(e.to_string()),
        None => return Outcome::failed(INTERRUPTED.into()),
    };
    let encryption_mode = ctx.config.encryption.as_ref().map(|e| &e.mode);
    let mut extension = match job.compression.extension() {
        Some(layer) => format!("{}.{layer}", dump.info.extension),
        None => dump.info.extension.to_string(),
    };
    if encryption_mode.is_some() {
        extension.push_str(".age");
    }
    let keys = object_keys(&job.source, &job.database, started_at, id, &extension);
    let last_size = ctx
        .catalog
        .last_stored_bytes(&job.source, &job.database)
        .await
        .ok()
        .flatten();

    let mut failed_copies = Vec::new();
    let mut targets = Vec::new();
    for name in &job.destinations {
        let dest = ctx.destinations[name].clone();
        if let (Some(last), Some(free)) = (last_size, dest.free_bytes().await)
            && free < last
        {
            failed_copies.push(failed_copy(name, &keys, format!(
                "destination {name}: only {} free on {}, the last backup of this database took {}",
                human_bytes(free), dest.location(), human_bytes(last)
            )));
            continue;
        }
        match dest.begin(&keys.artifact, last_size).await {
            Ok(upload) => targets.push(Target {
                destination: name.clone(),
                upload,
                on_written: bar.destination_counter(name),
            }),
            Err(e) => failed_copies.push(failed_copy(name, &keys, e.to_string())),
        }
    }
    if targets.is_empty() {
        dump.completion.abort().await;
        return Outcome::failed(join_reasons("every destination failed", &failed_copies))
            .with_copies(failed_copies);
    }

    let on_read = bar.read_counter();
    let sealing = pipeline::encrypt::Sealing::new(encryption_mode);
    // Stopping drops the pipeline and with it every staged upload (which removes itself).
    let piped = pipeline::run(dump.output, job.compression, sealing, targets, on_read);
    let (totals, outcomes) = match until_stopped(stop, piped).await {
        Some(Ok(done)) => done,
        Some(Err(e)) => {
            dump.completion.abort().await;
            return Outcome::failed(e.to_string()).with_copies(failed_copies);
        }
        None => {
            dump.completion.abort().await;
            return Outcome::failed(INTERRUPTED.into()).with_copies(failed_copies);
        }
    };
    let mut uploads: Vec<(String, Box<dyn Upload>)> = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(upload) => uploads.push((outcome.destination, upload)),
            Err(e) => failed_copies.push(failed_copy(&outcome.destination, &keys, e.to_string())),
        }
    }
    if uploads.is_empty() {
        dump.completion.abort().await;
        return Outcome::failed(join_reasons("every destination failed", &failed_copies))
            .with_copies(failed_copies);
    }

    // Gate 1-3: the tool's exit and stderr, the completion marker, the table counts.
    // Once judged, a backup commits: stopping no longer interrupts it.
    let report = match until_stopped(stop, dump.completion.finish()).await {
        Some(Ok(report)) => report,
        Some(Err(e)) => return abandon(uploads, failed_copies, e.to_string()).await,
        None => return abandon(uploads, failed_copies, INTERRUPTED.into()).await,
    };
    if totals.dump_bytes < job.min_dump_bytes {
        let reason = format!(
            "dump is {} bytes, below min_dump_bytes = {}",
            totals.dump_bytes, job.min_dump_bytes
        );
        return abandon(uploads, failed_copies, reason).await;
    }
    let source_config = ctx.config.source(&job.source).expect("validated");
    if let (Some(max), Some(lag)) = (source_config.max_replica_lag, report.replica_lag_seconds)
        && lag > max.as_secs_f64()
    {
        let reason = format!(
            "replica is {lag:.0}s behind its primary, over max_replica_lag = {}s",
            max.as_secs()
        );
        return abandon(uploads, failed_copies, reason).await;
    }

    let mut manifest = build_manifest(
        ctx, job, source, id, started_at, &keys, &totals, &dump.info, report,
    );
    match inventory {
        None => {}
        Some(Ok(inventory)) => manifest.inventory = Some(inventory),
        Some(Err(e)) => manifest.warnings.push(format!(
            "no object inventory ({e}): drills of this backup compare row counts only"
        )),
    }
    manifest.sign(&signing_key);
    // Gate 4-5: each copy committed, read back, then committed by its manifest.
    let mut copies = failed_copies;
    let manifest_bytes = Bytes::from(manifest.to_json());
    for (name, upload) in uploads {
        let dest = ctx.destinations[&name].clone();
        let verify = ctx
            .config
            .destination(&name)
            .expect("validated")
            .verify_upload;
        let committed = commit_copy(
            dest.as_ref(),
            upload,
            &keys,
            &totals,
            verify,
            manifest_bytes.clone(),
        )
        .await;
        copies.push(match committed {
            Ok(size) => CopyRecord {
                destination: name,
                path: keys.artifact.clone(),
                status: CopyStatus::Committed,
                size: Some(size),
                error: None,
            },
            Err(reason) => failed_copy(&name, &keys, reason),
        });
    }
    copies.sort_by(|a, b| a.destination.cmp(&b.destination));
    let failed: Vec<_> = copies
        .iter()
        .filter(|c| c.status == CopyStatus::Failed)
        .cloned()
        .collect();
    let committed = copies.len() - failed.len();
    let (status, error) = match (failed.len(), committed) {
        (0, _) => (BackupStatus::Succeeded, None),
        (_, 0) => (
            BackupStatus::Failed,
            Some(join_reasons("every destination failed", &failed)),
        ),
        (_, n) if n >= job.min_copies => {
            // Enough copies by the schedule's `min_copies`; the lost ones stay visible.
            manifest
                .warnings
                .extend(failed.iter().filter_map(|c| c.error.clone()));
            // The catalog's copy gains the warnings; its signature stays true.
            manifest.sign(&signing_key);
            (BackupStatus::Succeeded, None)
        }
        _ => (
            BackupStatus::Degraded,
            Some(join_reasons("some copies failed", &failed)),
        ),
    };
    Outcome {
        status,
        error,
        manifest: Some(manifest),
        copies,
        warnings: Vec::new(),
    }
}

/// Throws away uploads that must not be committed and fails the backup.
async fn abandon(
    uploads: Vec<(String, Box<dyn Upload>)>,
    copies: Vec<CopyRecord>,
    reason: String,
) -> Outcome {
    for (_, upload) in uploads {
        upload.abort().await;
    }
    Outcome::failed(reason).with_copies(copies)
}

/// Commits one copy, checks it, and writes its manifest; on any failure removes the artifact
/// so that nothing uncommitted stays behind.
async fn commit_copy(
    dest: &dyn Destination,
    upload: Box<dyn Upload>,
    keys: &ObjectKeys,
    totals: &pipeline::Totals,
    verify: VerifyUpload,
    manifest: Bytes,
) -> Result<u64, String> {
    let result = async {
        let written = upload.commit().await.map_err(|e| e.to_string())?;
        let stored = dest.size(&keys.artifact).await.map_err(|e| e.to_string())?;
        if written != totals.stored_bytes || stored != Some(totals.stored_bytes) {
            return Err(format!(
                "destination {}: size read back is {} bytes, expected {}",
                dest.name(),
                stored
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "missing".into()),
                totals.stored_bytes
            ));
        }
        if verify == VerifyUpload::Checksum {
            let digest = read_back_sha256(dest, &keys.artifact).await?;
            if digest != totals.sha256 {
                return Err(format!(
                    "destination {}: checksum read back is {digest}, expected {}",
                    dest.name(),
                    totals.sha256
                ));
            }
        }
        dest.put(&keys.manifest, manifest)
            .await
            .map_err(|e| e.to_string())?;
        Ok(totals.stored_bytes)
    }
    .await;
    if result.is_err() {
        let _ = dest.delete(&keys.artifact).await;
        let _ = dest.delete(&keys.manifest).await;
    }
    result
}

/// sha256 of an object as the destination returns it.
pub async fn read_back_sha256(dest: &dyn Destination, key: &str) -> Result<String, String> {
    let mut reader = dest.read(key).await.map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; pipeline::CHUNK_BYTES];
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| {
            format!(
                "destination {}: reading {key} back failed: {e}",
                dest.name()
            )
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[allow(clippy::too_many_arguments)]
fn build_manifest(
    ctx: &Context,
    job: &Job,
    source: &dyn Source,
    id: &str,
    started_at: DateTime<Utc>,
    keys: &ObjectKeys,
    totals: &pipeline::Totals,
    info: &dbward_core::source::DumpInfo,
    report: DumpReport,
) -> Manifest {
    let (encryption, encryption_recipients) =
        pipeline::encrypt::describe(ctx.config.encryption.as_ref().map(|e| &e.mode));
    let mut warnings = report.warnings;
    warnings.extend(
        report
            .fidelity
            .iter()
            .map(dbward_core::FidelityLoss::message),
    );
    if report.tables.is_empty() && report.base_backup.is_none() && report.globals.is_none() {
        warnings.push("the database has no tables".into());
    }
    Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        id: id.to_string(),
        source: job.source.clone(),
        engine: source.engine(),
        database: job.database.clone(),
        artifact: keys
            .artifact
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        server_version: info.server_version.clone(),
        dump_tool: info.tool.clone(),
        dump_tool_version: info.tool_version.clone(),
        dump_format: info.format.clone(),
        host: ctx.agent.agent.host.clone(),
        started_at,
        finished_at: Utc::now(),
        options: info.options.clone(),
        excluded_tables: report.excluded_tables,
        excluded_with_data: report.excluded_with_data,
        tables: report.tables,
        dump_bytes: totals.dump_bytes,
        stored_bytes: totals.stored_bytes,
        sha256: totals.sha256.clone(),
        compression: job.compression.name().to_string(),
        compression_level: totals.compression_level,
        encryption,
        encryption_recipients,
        replica_lag_seconds: report.replica_lag_seconds,
        database_settings: info.database_settings.clone(),
        warnings,
        fidelity: report.fidelity,
        inventory: None,
        chunk_size: Some(dbward_core::chunked::CHUNK_BYTES),
        chunks: Some(totals.chunks.clone()),
        base_backup: report.base_backup,
        binlog_position: report.binlog_position,
        globals: report.globals,
        signature: None,
    }
}

pub(super) fn failed_copy(destination: &str, keys: &ObjectKeys, reason: String) -> CopyRecord {
    CopyRecord {
        destination: destination.to_string(),
        path: keys.artifact.clone(),
        status: CopyStatus::Failed,
        size: None,
        error: Some(reason),
    }
}

pub(super) fn join_reasons(summary: &str, copies: &[CopyRecord]) -> String {
    let reasons: Vec<&str> = copies.iter().filter_map(|c| c.error.as_deref()).collect();
    if reasons.len() == 1 {
        reasons[0].to_string()
    } else {
        format!("{summary}: {}", reasons.join("; "))
    }
}

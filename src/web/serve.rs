//! `dbward serve`: the dashboard and the API alone, for a host that watches a shared catalog
//! without running schedules. Backups started from the web run in this process.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::{Contexts, Web, launch, refuse_unprotected, router};
use crate::engine::Context;

/// Serves until SIGTERM or SIGINT; returns the exit code.
pub async fn serve(ctx: Arc<Context>, listen: SocketAddr) -> anyhow::Result<u8> {
    tokio::task::LocalSet::new()
        .run_until(async move {
            refuse_unprotected(listen, &ctx).await?;
            let trust_proxy = ctx.config.http.as_ref().is_some_and(|h| h.trust_proxy);
            let contexts: Contexts = Arc::new(move || ctx.clone());
            let running = launch::Running::default();
            let (launcher, queue) = launch::launcher(running.clone());
            tokio::task::spawn_local(launch::run(queue, contexts.clone(), None, running));
            let tls = super::tls_of(&contexts())?;
            let app = router(Arc::new(Web::new(
                contexts,
                launcher,
                trust_proxy,
                tls.is_some(),
            )));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            let mut terminate = signal(SignalKind::terminate())?;
            let mut interrupt = signal(SignalKind::interrupt())?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            tracing::info!("serving the dashboard and /api/v1 on {scheme}://{listen}");
            // No reload path here: a renewed certificate takes a restart of `dbward serve`.
            let tls = tls.map(|config| super::listen::in_force(config).1);
            super::listen::serve(listener, app, tls, async move {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            })
            .await?;
            tracing::info!("stopped serving");
            Ok(0)
        })
        .await
}

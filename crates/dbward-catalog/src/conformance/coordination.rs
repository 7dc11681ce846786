//! The conformance checks of the [`Coordination`](crate::Coordination) part: the catalog's
//! clock, agents, leases (claim, hold, take over, renew, release, expiry, concurrent
//! claimants), claimed fires and source bindings.

use std::time::Duration;

use chrono::Utc;

use crate::{AgentInfo, AgentKind, AgentRef, Catalog, Claim, Fire, Lease, SourceBinding};

pub(super) async fn run(catalog: &dyn Catalog) {
    the_clock_is_now(catalog).await;
    agents_register_and_beat(catalog).await;
    a_lease_has_one_holder_until_it_expires(catalog).await;
    a_dead_holder_of_the_same_agent_is_taken_over(catalog).await;
    concurrent_claimants_get_one_lease(catalog).await;
    each_fire_is_claimed_once(catalog).await;
    a_dead_daemons_unfinished_fires_are_taken_over_once(catalog).await;
    a_backup_finishes_its_fire_with_it(catalog).await;
    a_source_name_stands_for_one_server(catalog).await;
}

fn agent(id: &str, kind: AgentKind, labels: &[&str]) -> AgentInfo {
    AgentInfo {
        agent: AgentRef {
            id: id.into(),
            host: format!("host-{}", id.to_lowercase()),
        },
        version: "0.1.0".into(),
        kind,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        pid: 4242,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

async fn claim(catalog: &dyn Catalog, job: &str, who: &AgentInfo, ttl: Duration) -> Claim {
    catalog
        .try_claim(job, who, ttl, false)
        .await
        .expect("try_claim")
}

fn acquired(claim: Claim) -> (Lease, Option<crate::LeaseHolder>) {
    match claim {
        Claim::Acquired { lease, replaced } => (lease, replaced),
        Claim::Held(holder) => panic!("expected the lease, but {holder} holds it"),
    }
}

async fn the_clock_is_now(catalog: &dyn Catalog) {
    let before = Utc::now() - chrono::Duration::seconds(5);
    let now = catalog.now().await.expect("now");
    assert!(
        now > before && now < Utc::now() + chrono::Duration::seconds(5),
        "the catalog's clock says {now}"
    );
}

async fn agents_register_and_beat(catalog: &dyn Catalog) {
    let daemon = agent("01DAEMON", AgentKind::Daemon, &["eu-west", "ssd"]);
    let cli = agent("01CLI", AgentKind::Cli, &[]);
    catalog.register_agent(&daemon).await.expect("register");
    catalog.register_agent(&cli).await.expect("register");
    let agents = catalog.agents().await.expect("agents");
    let ids: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["01CLI", "01DAEMON"], "by host, then id");
    let found = &agents[1];
    assert_eq!(found.host, "host-01daemon");
    assert_eq!(found.kind, AgentKind::Daemon);
    assert_eq!(found.labels, ["eu-west", "ssd"]);
    assert_eq!(found.pid, 4242);
    assert!(found.running_jobs.is_empty());
    let first_beat = found.heartbeat_at;

    let mut restarted = daemon.clone();
    restarted.labels = vec!["eu-west".into()];
    restarted.pid = 4343;
    catalog.register_agent(&restarted).await.expect("register");
    catalog.heartbeat("01DAEMON").await.expect("heartbeat");
    let again = catalog.agents().await.expect("agents");
    assert_eq!(again.len(), 2, "registering again updates the agent");
    assert_eq!(again[1].labels, ["eu-west"]);
    assert_eq!(again[1].pid, 4343);
    assert!(again[1].heartbeat_at >= first_beat);

    let (lease, _) = acquired(claim(catalog, "backup/agents/db", &daemon, MINUTE).await);
    let holding = catalog.agents().await.expect("agents");
    assert_eq!(holding[1].running_jobs, ["backup/agents/db"]);
    catalog.release(&lease).await.expect("release");
    assert!(
        catalog.agents().await.expect("agents")[1]
            .running_jobs
            .is_empty()
    );
}

async fn a_lease_has_one_holder_until_it_expires(catalog: &dyn Catalog) {
    let job = "backup/lease/db";
    let a = agent("01A", AgentKind::Daemon, &[]);
    let b = agent("01B", AgentKind::Daemon, &[]);
    let (first, replaced) = acquired(claim(catalog, job, &a, MINUTE).await);
    assert_eq!(replaced, None, "nobody held it");
    match claim(catalog, job, &b, MINUTE).await {
        Claim::Held(holder) => {
            assert_eq!(holder.agent, a.agent);
            assert_eq!(holder.pid, 4242);
            assert!(holder.expires_at > holder.since);
        }
        Claim::Acquired { .. } => panic!("a live lease was taken"),
    }
    assert!(
        matches!(claim(catalog, job, &a, MINUTE).await, Claim::Held(_)),
        "the same agent does not take its own live lease without knowing its holder died"
    );
    assert!(catalog.renew(&first, MINUTE).await.expect("renew"));

    // An expired lease (no time to live left) goes to the next claimant, who learns whose
    // work it takes over; the old holder's renewal and release then do nothing.
    assert!(catalog.renew(&first, Duration::ZERO).await.expect("renew"));
    let (second, replaced) = acquired(claim(catalog, job, &b, MINUTE).await);
    assert_eq!(replaced.expect("a holder was replaced").agent, a.agent);
    assert!(!catalog.renew(&first, MINUTE).await.expect("renew"));
    catalog.release(&first).await.expect("release");
    assert!(
        matches!(claim(catalog, job, &a, MINUTE).await, Claim::Held(h) if h.agent == b.agent),
        "releasing a lost lease leaves the new holder's"
    );
    catalog.release(&second).await.expect("release");
    let (third, replaced) = acquired(claim(catalog, job, &a, MINUTE).await);
    assert_eq!(replaced, None, "a released lease is free");
    catalog.release(&third).await.expect("release");
}

async fn a_dead_holder_of_the_same_agent_is_taken_over(catalog: &dyn Catalog) {
    let job = "backup/dead/db";
    let a = agent("01DEAD", AgentKind::Cli, &[]);
    let (old, _) = acquired(claim(catalog, job, &a, MINUTE).await);
    let mut next = a.clone();
    next.pid = 5151;
    let taken = catalog
        .try_claim(job, &next, MINUTE, true)
        .await
        .expect("try_claim");
    let (lease, replaced) = acquired(taken);
    assert_eq!(replaced.expect("replaced").pid, 4242);
    assert!(!catalog.renew(&old, MINUTE).await.expect("renew"));
    let other = agent("01OTHER", AgentKind::Cli, &[]);
    assert!(
        matches!(
            catalog
                .try_claim(job, &other, MINUTE, true)
                .await
                .expect("try_claim"),
            Claim::Held(_)
        ),
        "only the holder's own agent may declare it dead"
    );
    catalog.release(&lease).await.expect("release");
}

async fn concurrent_claimants_get_one_lease(catalog: &dyn Catalog) {
    let claimants: Vec<AgentInfo> = (0..8)
        .map(|i| agent(&format!("01RACE{i}"), AgentKind::Daemon, &[]))
        .collect();
    for job in ["backup/race/fresh", "backup/race/expired"] {
        if job.ends_with("expired") {
            let (lease, _) = acquired(claim(catalog, job, &claimants[0], MINUTE).await);
            assert!(catalog.renew(&lease, Duration::ZERO).await.expect("renew"));
        }
        let outcomes =
            futures_join(claimants.iter().map(|who| claim(catalog, job, who, MINUTE))).await;
        let winners = outcomes
            .iter()
            .filter(|c| matches!(c, Claim::Acquired { .. }))
            .count();
        assert_eq!(winners, 1, "{job}: {outcomes:?}");
    }
}

fn fire(kind: &str, target: &str, at: &str) -> Fire {
    Fire {
        kind: kind.into(),
        schedule: "nightly".into(),
        target: target.into(),
        at: crate::conformance::at(at),
    }
}

async fn each_fire_is_claimed_once(catalog: &dyn Catalog) {
    let first = fire("backup", "pg/shop", "2026-03-01T02:00:00Z");
    let claim = |f: Fire, agent: &'static str| async move {
        catalog.claim_fire(&f, agent).await.expect("claim_fire")
    };
    assert!(claim(first.clone(), "01A").await);
    assert!(!claim(first.clone(), "01B").await, "another agent's fire");
    assert!(
        claim(first.clone(), "01A").await,
        "the claimant's own unfinished fire (its daemon restarted)"
    );
    catalog.finish_fire(&first).await.expect("finish_fire");
    assert!(
        !claim(first.clone(), "01A").await,
        "a finished fire runs no more"
    );
    let unfinished = fire("backup", "pg/other", "2026-03-01T02:00:00Z");
    assert!(claim(unfinished.clone(), "01A").await);
    let now = catalog.now().await.expect("now");
    let forget = |before| async move { catalog.forget_fires(before).await.expect("forget_fires") };
    assert_eq!(
        forget(now - chrono::Duration::minutes(1)).await,
        0,
        "a fire finished just now is kept"
    );
    assert!(forget(now + chrono::Duration::minutes(1)).await >= 1);
    assert!(
        claim(unfinished, "01A").await,
        "an unfinished fire is never forgotten"
    );

    let next = fire("backup", "pg/shop", "2026-03-02T02:00:00Z");
    let racers = ["01A", "01B", "01C", "01D", "01E", "01F"];
    let outcomes = futures_join(
        racers
            .iter()
            .map(|agent_id| catalog.claim_fire(&next, agent_id)),
    )
    .await;
    let won = outcomes
        .into_iter()
        .filter(|o| *o.as_ref().expect("claim_fire"))
        .count();
    assert_eq!(won, 1, "one claimant per fire");
    assert!(
        claim(fire("drill", "pg/shop", "2026-03-01T02:00:00Z"), "01B").await,
        "another kind of work at the same time is another fire"
    );
}

async fn a_dead_daemons_unfinished_fires_are_taken_over_once(catalog: &dyn Catalog) {
    let dead = agent("01FIREDEAD", AgentKind::Daemon, &[]);
    catalog.register_agent(&dead).await.expect("register");
    let left = fire("backup", "pg/left", "2026-03-03T02:00:00Z");
    let done = fire("backup", "pg/done", "2026-03-03T02:00:00Z");
    for f in [&left, &done] {
        assert!(
            catalog
                .claim_fire(f, "01FIREDEAD")
                .await
                .expect("claim_fire")
        );
    }
    catalog.finish_fire(&done).await.expect("finish_fire");
    let recent = catalog.now().await.expect("now") - chrono::Duration::minutes(1);
    let orphans = |since| async move {
        catalog
            .orphaned_fires("backup", since)
            .await
            .expect("orphaned_fires")
            .into_iter()
            .filter(|(f, _)| f.target.starts_with("pg/"))
            .collect::<Vec<_>>()
    };
    assert!(
        orphans(recent).await.is_empty(),
        "a daemon that beat its heartbeat since is alive"
    );
    let later = catalog.now().await.expect("now") + chrono::Duration::minutes(1);
    let found = orphans(later).await;
    assert_eq!(
        found,
        [(left.clone(), "01FIREDEAD".to_string())],
        "only the unfinished one"
    );
    let takers = ["01TAKER1", "01TAKER2", "01TAKER3"];
    let outcomes = futures_join(
        takers
            .iter()
            .map(|taker| catalog.take_over_fire(&left, "01FIREDEAD", taker)),
    )
    .await;
    let won = outcomes
        .into_iter()
        .filter(|o| *o.as_ref().expect("take_over_fire"))
        .count();
    assert_eq!(won, 1, "one agent takes each orphaned fire over");
    assert!(
        orphans(later).await.is_empty(),
        "taken over by a non-daemon id here"
    );
    let owns = |agent: &'static str| {
        let left = left.clone();
        async move { catalog.owns_fire(&left, agent).await.expect("owns_fire") }
    };
    assert!(
        !owns("01FIREDEAD").await,
        "the dead daemon, back, finds its fire taken and does not run it"
    );
    let holders = futures_join(takers.iter().map(|t| catalog.owns_fire(&left, t))).await;
    assert_eq!(
        holders
            .into_iter()
            .filter(|o| *o.as_ref().expect("owns_fire"))
            .count(),
        1,
        "the one taker holds it"
    );
    assert!(
        !catalog
            .owns_fire(&done, "01FIREDEAD")
            .await
            .expect("owns_fire"),
        "a finished fire is nobody's to run"
    );
}

/// A daemon's backup ends and finishes its fire in one write: no moment where the backup
/// is recorded and the fire still looks owed.
async fn a_backup_finishes_its_fire_with_it(catalog: &dyn Catalog) {
    let shape = super::Shape::new("01FIREBK", "fb", "shop", "2026-03-04T02:00:00Z")
        .status(crate::BackupStatus::Running);
    super::record(catalog, &shape).await;
    let owed = fire("backup", "fb/shop", "2026-03-04T02:00:00Z");
    assert!(
        catalog
            .claim_fire(&owed, "01FIREBKA")
            .await
            .expect("claim_fire")
    );
    catalog
        .finish_backup(&crate::BackupEnd {
            id: "01FIREBK",
            status: crate::BackupStatus::Succeeded,
            error: None,
            finished_at: crate::conformance::at("2026-03-04T02:01:00Z"),
            dump_bytes: Some(1),
            stored_bytes: Some(1),
            sha256: None,
            compression: None,
            manifest_json: None,
            copies: &[],
            warnings: &[],
            fire: Some(&owed),
        })
        .await
        .expect("finish_backup");
    assert!(
        !catalog
            .owns_fire(&owed, "01FIREBKA")
            .await
            .expect("owns_fire")
    );
    let later = catalog.now().await.expect("now") + chrono::Duration::minutes(1);
    let orphans = catalog
        .orphaned_fires("backup", later)
        .await
        .expect("orphaned_fires");
    assert!(orphans.iter().all(|(f, _)| f != &owed), "{orphans:?}");
}

async fn a_source_name_stands_for_one_server(catalog: &dyn Catalog) {
    let a = agent("01BINDA", AgentKind::Cli, &[]).agent;
    let b = agent("01BINDB", AgentKind::Cli, &[]).agent;
    let address = "postgres://db1.example:5432";
    let bind = |address: &'static str, who: &AgentRef, replace: bool| {
        let who = who.clone();
        async move {
            catalog
                .bind_source("main", address, &who, replace)
                .await
                .expect("bind_source")
        }
    };
    assert_eq!(bind(address, &a, false).await, SourceBinding::Bound);
    assert_eq!(bind(address, &b, false).await, SourceBinding::Bound);
    let local_to_b = "postgres://127.0.0.1:5432 on host-b";
    assert_eq!(
        bind(local_to_b, &b, false).await,
        SourceBinding::Conflict {
            address: address.into(),
            agent: a.clone(),
        }
    );
    assert_eq!(bind(local_to_b, &b, true).await, SourceBinding::Bound);
    assert_eq!(
        bind(address, &a, false).await,
        SourceBinding::Conflict {
            address: local_to_b.into(),
            agent: b,
        },
        "a replaced binding names its new agent"
    );
}

/// Polls every future together on this task, so that they contend for the catalog at once.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("polled to the end"))
        .collect()
}

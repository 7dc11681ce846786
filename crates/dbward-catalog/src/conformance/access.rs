//! The conformance checks of the [`Access`](crate::Access) part: users and tokens round-trip
//! without their secrets, names are unique, sessions end at expiry, on logout and with their
//! user, and the audit log reads newest first.

use chrono::Duration;

use super::at;
use crate::{ActionRecord, ActorKind, Catalog, NewSession, Role};

pub(super) async fn run(catalog: &dyn Catalog) {
    assert!(
        !catalog.has_credentials().await.expect("has_credentials"),
        "a new catalog has no user and no token"
    );
    users_round_trip_and_names_are_unique(catalog).await;
    tokens_are_found_by_hash_until_revoked(catalog).await;
    sessions_end_at_expiry_logout_and_with_their_user(catalog).await;
    the_audit_log_reads_newest_first(catalog).await;
}

async fn users_round_trip_and_names_are_unique(catalog: &dyn Catalog) {
    let t = at("2026-03-01T10:00:00Z");
    assert!(
        catalog
            .add_user("bob", Role::Viewer, "$argon2id$b", t)
            .await
            .unwrap()
    );
    assert!(
        catalog
            .add_user("alice", Role::Operator, "$argon2id$a", t)
            .await
            .unwrap()
    );
    assert!(
        !catalog
            .add_user("alice", Role::Viewer, "$argon2id$x", t)
            .await
            .unwrap(),
        "a taken name is refused"
    );
    assert!(catalog.has_credentials().await.unwrap());
    let users = catalog.users().await.unwrap();
    let names: Vec<(&str, Role)> = users.iter().map(|u| (u.name.as_str(), u.role)).collect();
    assert_eq!(names, [("alice", Role::Operator), ("bob", Role::Viewer)]);
    assert_eq!(users[0].created_at, t);
    assert_eq!(
        catalog.user_credentials("alice").await.unwrap(),
        Some((Role::Operator, "$argon2id$a".to_string())),
        "the first hash stays"
    );
    assert_eq!(catalog.user_credentials("carol").await.unwrap(), None);
    assert!(catalog.remove_user("bob").await.unwrap());
    assert!(!catalog.remove_user("bob").await.unwrap());
    assert_eq!(catalog.user_credentials("bob").await.unwrap(), None);
}

async fn tokens_are_found_by_hash_until_revoked(catalog: &dyn Catalog) {
    let t = at("2026-03-01T11:00:00Z");
    assert!(
        catalog
            .add_token("ci", Role::Operator, "aa11", t)
            .await
            .unwrap()
    );
    assert!(
        catalog
            .add_token("grafana", Role::Viewer, "bb22", t)
            .await
            .unwrap()
    );
    assert!(
        !catalog
            .add_token("ci", Role::Viewer, "cc33", t)
            .await
            .unwrap()
    );
    let found = catalog
        .token_by_hash("bb22")
        .await
        .unwrap()
        .expect("by hash");
    assert_eq!((found.name.as_str(), found.role), ("grafana", Role::Viewer));
    assert_eq!(found.created_at, t);
    assert_eq!(catalog.token_by_hash("cc33").await.unwrap(), None);
    let names: Vec<String> = catalog
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["ci", "grafana"]);
    assert!(catalog.revoke_token("grafana").await.unwrap());
    assert!(!catalog.revoke_token("grafana").await.unwrap());
    assert_eq!(catalog.token_by_hash("bb22").await.unwrap(), None);
}

async fn sessions_end_at_expiry_logout_and_with_their_user(catalog: &dyn Catalog) {
    let t = at("2026-03-01T12:00:00Z");
    assert!(
        catalog
            .add_user("sam", Role::Viewer, "$argon2id$s", t)
            .await
            .unwrap()
    );
    for (id, csrf) in [("s1", "c1"), ("s2", "c2"), ("s3", "c3")] {
        catalog
            .create_session(&NewSession {
                id_sha256: id,
                user: "sam",
                csrf_token: csrf,
                created_at: t,
                expires_at: t + Duration::hours(1),
            })
            .await
            .unwrap();
    }
    let live = catalog
        .session("s1", t + Duration::minutes(59))
        .await
        .unwrap();
    let live = live.expect("a live session");
    assert_eq!((live.user.as_str(), live.role), ("sam", Role::Viewer));
    assert_eq!(live.csrf_token, "c1");
    assert_eq!(live.expires_at, t + Duration::hours(1));
    assert_eq!(
        catalog.session("s1", t + Duration::hours(1)).await.unwrap(),
        None,
        "expired at its expiry"
    );
    catalog.end_session("s2").await.unwrap();
    assert_eq!(catalog.session("s2", t).await.unwrap(), None, "logged out");
    assert_eq!(
        catalog
            .forget_sessions(t + Duration::hours(2))
            .await
            .unwrap(),
        2,
        "s1 and s3 expired"
    );
    catalog
        .create_session(&NewSession {
            id_sha256: "s4",
            user: "sam",
            csrf_token: "c4",
            created_at: t,
            expires_at: t + Duration::days(1),
        })
        .await
        .unwrap();
    assert!(catalog.session("s4", t).await.unwrap().is_some());
    assert!(catalog.remove_user("sam").await.unwrap());
    assert_eq!(
        catalog.session("s4", t).await.unwrap(),
        None,
        "gone with its user"
    );
}

async fn the_audit_log_reads_newest_first(catalog: &dyn Catalog) {
    let entry = |id: &str, when: &str, target: &str| ActionRecord {
        id: id.into(),
        at: at(when),
        actor_kind: ActorKind::User,
        actor: "alice".into(),
        action: "backup".into(),
        target: target.into(),
    };
    catalog
        .record_action(&entry("01ACT1", "2026-03-01T09:00:00Z", "pg/shop"))
        .await
        .unwrap();
    catalog
        .record_action(&ActionRecord {
            actor_kind: ActorKind::Token,
            actor: "ci".into(),
            ..entry("01ACT2", "2026-03-01T10:00:00Z", "pg/crm")
        })
        .await
        .unwrap();
    let all = catalog.actions(10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, "01ACT2");
    assert_eq!(
        (all[0].actor_kind, all[0].actor.as_str()),
        (ActorKind::Token, "ci")
    );
    assert_eq!(all[1], entry("01ACT1", "2026-03-01T09:00:00Z", "pg/shop"));
    assert_eq!(catalog.actions(1).await.unwrap().len(), 1);
}

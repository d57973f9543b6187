//! A workspace's audit trail (`audit_events`): who connected, reconnected or disconnected
//! Salesforce, changed the settings or added a member, and when. Written beside the change it
//! records; read newest first.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::access::{AuditAction, AuditEvent};

/// Who did it: a signed-in person (id and email), or the server's own tools.
#[derive(Clone, Debug)]
pub enum Actor<'a> {
    Person { user_id: i64, email: &'a str },
    Server(&'a str),
}

pub async fn record(
    db: &Db,
    ws: &WorkspaceId,
    at: i64,
    actor: Actor<'_>,
    action: AuditAction,
    detail: &str,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        let (user_id, actor) = match actor {
            Actor::Person { user_id, email } => (Some(user_id), email),
            Actor::Server(what) => (None, what),
        };
        sqlx::query(
            "INSERT INTO audit_events (workspace_id, at, user_id, actor, action, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ws.as_str())
        .bind(at)
        .bind(user_id)
        .bind(actor)
        .bind(action.as_str())
        .bind(detail)
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// The newest `limit` entries of the workspace's trail, newest first.
pub async fn recent(db: &Db, ws: &WorkspaceId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, detail FROM audit_events WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(ws.as_str())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(at, actor, action, detail)| {
                let action = AuditAction::parse(&action).ok_or_else(|| {
                    StoreError::Decode(format!("unknown audit action {action:?}").into())
                })?;
                Ok(AuditEvent { at, actor, action, detail })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_trail_is_kept_per_workspace_newest_first() {
        let pool = crate::store::testing::test_db().await.unwrap();
        let (acme, globex) = (WorkspaceId("acme".into()), WorkspaceId("globex".into()));
        for ws in [&acme, &globex] {
            crate::store::ensure_workspace(&pool, ws, ws.as_str(), 0).await.unwrap();
        }
        let jane = Actor::Person { user_id: 1, email: "jane@acme.com" };
        record(
            &pool,
            &acme,
            10,
            jane.clone(),
            AuditAction::Connected,
            "https://acme.my.salesforce.com",
        )
        .await
        .unwrap();
        record(&pool, &acme, 20, jane, AuditAction::SettingsChanged, "Inbound schedule")
            .await
            .unwrap();
        record(
            &pool,
            &globex,
            30,
            Actor::Server("server adduser"),
            AuditAction::MemberAdded,
            "x@globex.com",
        )
        .await
        .unwrap();
        let trail = recent(&pool, &acme, 10).await.unwrap();
        assert_eq!(
            trail.iter().map(|e| e.action).collect::<Vec<_>>(),
            [AuditAction::SettingsChanged, AuditAction::Connected]
        );
        assert_eq!(trail[0].actor, "jane@acme.com");
        assert_eq!(recent(&pool, &globex, 10).await.unwrap().len(), 1);
        assert_eq!(recent(&pool, &acme, 1).await.unwrap().len(), 1);
    }
}

//! Wake-ups between servers sharing a PostgreSQL database: a change saved through one server (a
//! Conversion change queued in the outbox, saved settings, a reconnect) reaches the server doing
//! that workspace's sync work at once, through PostgreSQL's `NOTIFY` on one channel. On SQLite
//! one process does everything and rings its engine in-process; publishing does nothing there.

use super::{Db, StoreError, WorkspaceId};

/// The channel every server listens on.
pub const CHANNEL: &str = "sync_wake";

/// What woke, and for which workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wakeup {
    /// Changes were queued in the workspace's outbox: push them.
    Outbox(WorkspaceId),
    /// The workspace's settings or connection changed: read the schedule again.
    Schedule(WorkspaceId),
}

impl Wakeup {
    /// `outbox:<workspace>` or `schedule:<workspace>`: the notification's payload.
    pub fn payload(&self) -> String {
        match self {
            Wakeup::Outbox(ws) => format!("outbox:{ws}"),
            Wakeup::Schedule(ws) => format!("schedule:{ws}"),
        }
    }

    pub fn parse(payload: &str) -> Option<Wakeup> {
        let (kind, ws) = payload.split_once(':')?;
        if ws.is_empty() {
            return None;
        }
        let ws = WorkspaceId(ws.to_string());
        match kind {
            "outbox" => Some(Wakeup::Outbox(ws)),
            "schedule" => Some(Wakeup::Schedule(ws)),
            _ => None,
        }
    }
}

/// Tells every server listening (this one too) about `wakeup`; nothing on SQLite.
pub async fn publish(db: &Db, wakeup: &Wakeup) -> Result<(), StoreError> {
    if let Db::Postgres(pool) = db {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(wakeup.payload())
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// A listener on [`CHANNEL`], for a server on PostgreSQL (None on SQLite). It reconnects by
/// itself when its connection drops (notifications sent meanwhile are lost: the outbound worker's
/// poll and the shared schedule still find the work).
pub async fn listen(db: &Db) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
    let Db::Postgres(pool) = db else { return Ok(None) };
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(Some(listener))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn payloads_read_back_as_what_was_sent() {
        for w in [
            Wakeup::Outbox(WorkspaceId("acme".into())),
            Wakeup::Schedule(WorkspaceId("globex-2".into())),
        ] {
            assert_eq!(Wakeup::parse(&w.payload()), Some(w));
        }
        assert_eq!(Wakeup::parse("outbox:"), None);
        assert_eq!(Wakeup::parse("other:acme"), None);
        assert_eq!(Wakeup::parse("acme"), None);
    }

    #[tokio::test]
    async fn a_wakeup_published_reaches_a_listener_on_postgres_and_is_nothing_on_sqlite() {
        let db = testing::test_db().await.unwrap();
        let wakeup = Wakeup::Outbox(WorkspaceId("acme".into()));
        match listen(&db).await.unwrap() {
            None => {
                assert!(!db.is_postgres());
                publish(&db, &wakeup).await.unwrap();
            }
            Some(mut listener) => {
                publish(&db, &wakeup).await.unwrap();
                let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
                    .await
                    .expect("the notification arrives within 5 s")
                    .unwrap();
                assert_eq!((n.channel(), Wakeup::parse(n.payload())), (CHANNEL, Some(wakeup)));
            }
        }
    }
}

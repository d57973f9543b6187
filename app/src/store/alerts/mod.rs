//! Alerts: a workspace's webhook (`alert_webhooks`), the runs the alert scan has looked at
//! (`alert_checks`) and the folding of alerts per message (`alert_folds`); the deliveries and
//! their attempts are in [`deliveries`]. This module owns those tables.
//!
//! The scan reads `sync_runs` (the runs aggregate's table, read only) by id from a position that
//! trails the oldest run in progress, so a run that finishes late is still seen; a run is looked
//! at once, by whoever inserts its `alert_checks` row first, so a scan that overlaps the last one,
//! or another server's, alerts about nothing twice.

pub mod deliveries;

use super::keyring::{Keyring, Sealed};
use super::runs::{RunRow, RUN_COLUMNS};
use super::{Db, StoreError, Tx, WorkspaceId};
use crate::domain::alerts::{
    alert_for, masked_url, AlertReason, AlertSettings, AlertSettingsInput, FOLD_WINDOW_MS,
};
use crate::domain::{RunId, SyncRun};
use uuid::Uuid;

/// What a signing secret starts with, so a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far behind now the scan's position stays at the least: a run is listed in a transaction
/// that may commit a little after the time its id carries.
pub const SCAN_MARGIN_MS: i64 = 5 * 60 * 1000;

/// A new signing secret: the prefix and 32 random bytes in hex. Receivers use the whole string
/// as the HMAC key.
pub fn generate_secret() -> String {
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    chacha20poly1305::aead::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{SECRET_PREFIX}{hex}")
}

/// A workspace's webhook, as the alert task reads it.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: String,
    pub secret: Sealed,
    pub failed_threshold: i64,
    pub enabled: bool,
    pub enabled_at: i64,
    pub scan_from: RunId,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    url: String,
    secret: String,
    failed_threshold: i64,
    enabled: i64,
    enabled_at: i64,
    scan_from: Uuid,
    updated_at: i64,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Webhook {
        Webhook {
            url: r.url,
            secret: Sealed(r.secret),
            failed_threshold: r.failed_threshold,
            enabled: r.enabled != 0,
            enabled_at: r.enabled_at,
            scan_from: RunId(r.scan_from),
            updated_at: r.updated_at,
        }
    }
}

impl Webhook {
    /// As the Overview shows it: the whole address for admins, scheme and host for members.
    pub fn view(&self, admin: bool) -> AlertSettings {
        AlertSettings {
            url: if admin { self.url.clone() } else { masked_url(&self.url) },
            failed_threshold: self.failed_threshold,
            enabled: self.enabled,
            updated_at: self.updated_at,
        }
    }
}

const WEBHOOK_COLUMNS: &str =
    "url, secret, failed_threshold, enabled, enabled_at, scan_from, updated_at";

/// The workspace's webhook, if it has one.
pub async fn webhook(db: &Db, ws: &WorkspaceId) -> Result<Option<Webhook>, StoreError> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM alert_webhooks WHERE workspace_id = $1");
    let row: Option<WebhookRow> =
        on_db!(db, |pool| { sqlx::query_as(&sql).bind(ws.as_str()).fetch_optional(pool).await? });
    Ok(row.map(Webhook::from))
}

/// The workspaces that have a webhook, with their names (the alert task's round).
pub async fn workspaces_with_webhooks(db: &Db) -> Result<Vec<(WorkspaceId, String)>, StoreError> {
    let rows: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT h.workspace_id, w.name FROM alert_webhooks h JOIN workspaces w ON w.id = h.workspace_id \
             ORDER BY h.workspace_id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(|(id, name)| (WorkspaceId(id), name)).collect())
}

/// What saving the webhook did.
#[derive(Clone, Debug)]
pub struct Configured {
    pub webhook: Webhook,
    /// The signing secret, when this save made a new one (the first save, or a rotation): shown
    /// to the admin once.
    pub new_secret: Option<String>,
    /// Whether anything but the secret changed (for the audit trail).
    pub changed: Vec<&'static str>,
}

/// Saves the workspace's webhook (`input` already checked). The first save, or one asking for
/// it, makes a new signing secret, sealed with `keyring`. Switching it on starts alerts from now
/// (runs in progress included, history not); switching it off cancels the alerts not yet
/// delivered (a test alert still goes).
pub async fn configure(
    db: &Db,
    keyring: &Keyring,
    ws: &WorkspaceId,
    input: &AlertSettingsInput,
    now: i64,
) -> Result<Configured, StoreError> {
    let mut tx = db.begin().await?;
    let sql = format!(
        "SELECT {WEBHOOK_COLUMNS} FROM alert_webhooks WHERE workspace_id = $1{}",
        if tx.is_postgres() { " FOR UPDATE" } else { "" }
    );
    let before: Option<Webhook> = on_tx!(&mut tx, |c| {
        sqlx::query_as::<_, WebhookRow>(&sql).bind(ws.as_str()).fetch_optional(c).await?
    })
    .map(Webhook::from);
    let new_secret = (before.is_none() || input.rotate_secret).then(generate_secret);
    let secret = match (&new_secret, &before) {
        (Some(plain), _) => keyring.seal(ws, plain),
        (None, Some(b)) => b.secret.clone(),
        (None, None) => unreachable!("a webhook without a row gets a new secret"),
    };
    let was_on = before.as_ref().is_some_and(|b| b.enabled);
    let (enabled_at, scan_from) = match &before {
        Some(b) if was_on || !input.enabled => (b.enabled_at, b.scan_from),
        _ => {
            let oldest: Option<(Uuid,)> = on_tx!(&mut tx, |c| {
                sqlx::query_as(
                    "SELECT id FROM sync_runs WHERE workspace_id = $1 AND status = 'in_progress' \
                     ORDER BY id LIMIT 1",
                )
                .bind(ws.as_str())
                .fetch_optional(c)
                .await?
            });
            let here = RunId::lower_bound(now);
            (now, oldest.map_or(here, |(o,)| here.min(RunId(o))))
        }
    };
    on_tx!(&mut tx, |c| {
        sqlx::query(
            "INSERT INTO alert_webhooks (workspace_id, url, secret, failed_threshold, enabled, enabled_at, scan_from, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (workspace_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
             failed_threshold = excluded.failed_threshold, enabled = excluded.enabled, \
             enabled_at = excluded.enabled_at, scan_from = excluded.scan_from, updated_at = excluded.updated_at",
        )
        .bind(ws.as_str())
        .bind(&input.url)
        .bind(&secret.0)
        .bind(input.failed_threshold)
        .bind(i64::from(input.enabled))
        .bind(enabled_at)
        .bind(scan_from.0)
        .bind(now)
        .execute(c)
        .await?;
    });
    if !input.enabled {
        deliveries::cancel_pending_in(&mut tx, ws).await?;
    }
    tx.commit().await?;
    let mut changed = Vec::new();
    match &before {
        None => changed.push("webhook added"),
        Some(b) => {
            if b.url != input.url {
                changed.push("address");
            }
            if b.failed_threshold != input.failed_threshold {
                changed.push("failed records threshold");
            }
            if b.enabled != input.enabled {
                changed.push(if input.enabled { "switched on" } else { "switched off" });
            }
            if input.rotate_secret {
                changed.push("new signing secret");
            }
        }
    }
    let webhook = Webhook {
        url: input.url.clone(),
        secret,
        failed_threshold: input.failed_threshold,
        enabled: input.enabled,
        enabled_at,
        scan_from,
        updated_at: now,
    };
    Ok(Configured { webhook, new_secret, changed })
}

/// Finished runs from the scan's position on that no scan has looked at yet, oldest first (at
/// most `limit`). Runs that finished before the webhook was switched on are not its business.
pub async fn runs_to_check(
    db: &Db,
    ws: &WorkspaceId,
    hook: &Webhook,
    limit: i64,
) -> Result<Vec<SyncRun>, StoreError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs r WHERE r.workspace_id = $1 AND r.id >= $2 \
         AND r.status <> 'in_progress' AND r.finished_at >= $3 \
         AND NOT EXISTS (SELECT 1 FROM alert_checks c WHERE c.workspace_id = r.workspace_id AND c.run_id = r.id) \
         ORDER BY r.id LIMIT $4"
    );
    let rows: Vec<RunRow> = on_db!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(ws.as_str())
            .bind(hook.scan_from.0)
            .bind(hook.enabled_at)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(SyncRun::try_from).collect()
}

/// What looking at a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Another scan looked at it first.
    AlreadyChecked,
    /// It alerts about nothing.
    Nothing,
    /// Its alert is queued: the delivery's id.
    Queued(i64),
    /// Its alert is held back: one of its message went out less than an hour ago.
    Folded,
}

/// Looks at a finished run, once: its alert (if it has one, by `threshold`) is queued now, or
/// held back when one of its message was made less than an hour ago.
pub async fn check_run(
    db: &Db,
    ws: &WorkspaceId,
    run: &SyncRun,
    threshold: i64,
    now: i64,
) -> Result<Checked, StoreError> {
    let mut tx = db.begin().await?;
    let first = on_tx!(&mut tx, |c| {
        sqlx::query(
            "INSERT INTO alert_checks (workspace_id, run_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(ws.as_str())
        .bind(run.id.0)
        .execute(c)
        .await?
        .rows_affected()
    });
    if first == 0 {
        return Ok(Checked::AlreadyChecked);
    }
    let checked = match alert_for(run, threshold) {
        None => Checked::Nothing,
        Some((reason, message)) => fold_or_queue(&mut tx, ws, message, reason, run.id, now).await?,
    };
    tx.commit().await?;
    Ok(checked)
}

/// At most one alert per message an hour: the first is queued and opens the hour; the next ones
/// in it are counted, and go out with the hour's digest ([`queue_digests`]).
async fn fold_or_queue(
    tx: &mut Tx,
    ws: &WorkspaceId,
    message: &str,
    reason: AlertReason,
    run: RunId,
    now: i64,
) -> Result<Checked, StoreError> {
    let sql = format!(
        "SELECT window_start, folded FROM alert_folds WHERE workspace_id = $1 AND message = $2{}",
        if tx.is_postgres() { " FOR UPDATE" } else { "" }
    );
    let window: Option<(i64, i64)> = on_tx!(&mut *tx, |c| {
        sqlx::query_as(&sql).bind(ws.as_str()).bind(message).fetch_optional(c).await?
    });
    if window.is_some_and(|(start, _)| now < start + FOLD_WINDOW_MS) {
        on_tx!(&mut *tx, |c| {
            sqlx::query(
                "UPDATE alert_folds SET folded = folded + 1, last_run_id = $3, last_reason = $4 \
                 WHERE workspace_id = $1 AND message = $2",
            )
            .bind(ws.as_str())
            .bind(message)
            .bind(run.0)
            .bind(reason.as_str())
            .execute(c)
            .await?;
        });
        return Ok(Checked::Folded);
    }
    // The hour is over (or there was none): this alert goes, carrying any held back since.
    let carried = window.map_or(0, |(_, folded)| folded);
    let id = deliveries::insert_in(tx, ws, reason, message, Some(run), carried, now).await?;
    open_window(tx, ws, message, now).await?;
    Ok(Checked::Queued(id))
}

/// Starts the message's hour at `now`, with nothing held back.
async fn open_window(
    tx: &mut Tx,
    ws: &WorkspaceId,
    message: &str,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(&mut *tx, |c| {
        sqlx::query(
            "INSERT INTO alert_folds (workspace_id, message, window_start, folded) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (workspace_id, message) DO UPDATE SET window_start = excluded.window_start, \
             folded = 0, last_run_id = NULL, last_reason = NULL",
        )
        .bind(ws.as_str())
        .bind(message)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// At the end of each message's hour with alerts held back: one delivery about the latest of
/// them, whose `folded` counts the others, and which opens the message's next hour. The ids of
/// the deliveries queued.
pub async fn queue_digests(db: &Db, ws: &WorkspaceId, now: i64) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let due: Vec<(String, i64, Option<Uuid>, Option<String>)> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
            "SELECT message, folded, last_run_id, last_reason FROM alert_folds \
             WHERE workspace_id = $1 AND folded > 0 AND window_start <= $2 ORDER BY message",
        )
        .bind(ws.as_str())
        .bind(now - FOLD_WINDOW_MS)
        .fetch_all(c)
        .await?
    });
    let mut queued = Vec::new();
    for (message, folded, run, reason) in due {
        let reason = reason.as_deref().and_then(AlertReason::parse).ok_or_else(|| {
            StoreError::Decode(format!("alert_folds of {message:?} has no reason").into())
        })?;
        let run = run.map(RunId);
        let id = deliveries::insert_in(&mut tx, ws, reason, &message, run, folded - 1, now).await?;
        open_window(&mut tx, ws, &message, now).await?;
        queued.push(id);
    }
    tx.commit().await?;
    Ok(queued)
}

/// Moves the scan's position up to the oldest run in progress, or [`SCAN_MARGIN_MS`] behind
/// now, whichever is older, and forgets the checks behind it.
pub async fn advance_scan(db: &Db, ws: &WorkspaceId, now: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let oldest: Option<(Uuid,)> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
            "SELECT id FROM sync_runs WHERE workspace_id = $1 AND status = 'in_progress' \
             ORDER BY id LIMIT 1",
        )
        .bind(ws.as_str())
        .fetch_optional(c)
        .await?
    });
    let behind = RunId::lower_bound(now - SCAN_MARGIN_MS);
    let to = oldest.map_or(behind, |(o,)| behind.min(RunId(o)));
    on_tx!(&mut tx, |c| {
        sqlx::query(
            "UPDATE alert_webhooks SET scan_from = $2 WHERE workspace_id = $1 AND scan_from < $2",
        )
        .bind(ws.as_str())
        .bind(to.0)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "DELETE FROM alert_checks WHERE workspace_id = $1 AND run_id < \
             (SELECT scan_from FROM alert_webhooks WHERE workspace_id = $1)",
        )
        .bind(ws.as_str())
        .execute(&mut *c)
        .await?;
    });
    tx.commit().await?;
    Ok(())
}

/// Seals every webhook secret with the keyring's active key (`server rekey`, and at start).
pub async fn reseal_secrets(db: &Db, ring: &Keyring) -> Result<usize, StoreError> {
    let rows: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT workspace_id, secret FROM alert_webhooks").fetch_all(pool).await?
    });
    let mut resealed = 0;
    for (workspace, stored) in rows {
        let ws = WorkspaceId(workspace);
        let stored = Sealed(stored);
        if stored.key_id() == Some(ring.active_id()) {
            continue;
        }
        let Ok(plain) = ring.open(&ws, &stored) else {
            return Err(StoreError::Decode(
                format!("the alert secret of workspace {ws} does not open with the keyring").into(),
            ));
        };
        let sealed = ring.seal(&ws, &plain);
        let done = on_db!(db, |pool| {
            sqlx::query(
                "UPDATE alert_webhooks SET secret = $1 WHERE workspace_id = $2 AND secret = $3",
            )
            .bind(&sealed.0)
            .bind(ws.as_str())
            .bind(&stored.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        resealed += done as usize;
    }
    Ok(resealed)
}

#[cfg(test)]
mod tests;

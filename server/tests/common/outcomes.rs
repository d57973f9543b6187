//! What the tests of a whole sync compare: the server's database observed from beside it, and
//! its outcomes (every inbound record's reports, Conversion's data) as an uninterrupted sync
//! makes them. Each query runs on either backend; compare only databases of one backend (a row
//! of Conversion's data is the backend's own JSON text).

use app::store::Db;
use server::sync::mapping::INBOUND_ORDER;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::wait_for;

/// A second connection to the server's database (`db` as the server was started with it): on
/// SQLite, one connection to its file (WAL: reads never block its writes).
pub async fn observe(db: &Path) -> Db {
    let location = app::store::Location::parse(db.to_str().unwrap());
    match location {
        app::store::Location::File(path) => {
            let options =
                SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(10));
            Db::Sqlite(
                SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap(),
            )
        }
        app::store::Location::Postgres(_) => super::open_location(db).await,
    }
}

/// The one BIGINT `sql` selects (a `COUNT(*)`, …).
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    app::on_db!(db, |p| {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(p).await.unwrap();
        n
    })
}

pub async fn backfills_done(db: &Db) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM sync_cursors WHERE backfill_done = 1").await
}

/// Waits until every object's backfill is done and no run is in progress.
pub async fn caught_up(watch: &Db) -> bool {
    wait_for(Duration::from_secs(120), || async {
        backfills_done(watch).await == INBOUND_ORDER.len() as i64
            && scalar(watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress'").await
                == 0
    })
    .await
}

/// Conversion's synced data, without its own generated ids and local times, keyed by Salesforce id.
pub async fn conversion_data(db: &Db) -> BTreeMap<String, Vec<String>> {
    // A JSON array of the columns, as text: SQLite's json_array, PostgreSQL's json_build_array.
    let row = |columns: &str| {
        if db.is_postgres() {
            format!("CAST(json_build_array({columns}) AS TEXT)")
        } else {
            format!("json_array({columns})")
        }
    };
    let queries = [
        format!(
            "SELECT c.salesforce_id, {} FROM conversion_contacts c \
             LEFT JOIN conversion_companies a ON a.id = c.company_id WHERE c.salesforce_id IS NOT NULL",
            row("c.salesforce_object, c.email, c.first_name, c.last_name, c.title, \
                 a.salesforce_id, c.external_created_at, c.external_updated_at")
        ),
        format!(
            "SELECT salesforce_id, {} FROM conversion_companies WHERE salesforce_id IS NOT NULL",
            row("name, website, industry, external_updated_at")
        ),
        format!(
            "SELECT o.salesforce_id, {} FROM conversion_opportunities o \
             LEFT JOIN conversion_companies a ON a.id = o.company_id WHERE o.salesforce_id IS NOT NULL",
            row("o.name, o.stage, o.amount, o.close_date, a.salesforce_id, o.external_updated_at")
        ),
        format!(
            "SELECT l.salesforce_id, {} FROM conversion_opportunity_contacts l \
             LEFT JOIN conversion_opportunities o ON o.id = l.opportunity_id \
             LEFT JOIN conversion_contacts c ON c.id = l.contact_id WHERE l.salesforce_id IS NOT NULL",
            row("o.salesforce_id, c.email, l.role, l.is_primary")
        ),
        format!(
            "SELECT e.salesforce_id, {} FROM conversion_events e \
             LEFT JOIN conversion_contacts c ON c.id = e.contact_id WHERE e.salesforce_id IS NOT NULL",
            row("e.name, e.occurred_at, e.properties, c.email")
        ),
    ];
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sql in &queries {
        let rows: Vec<(String, String)> =
            app::on_db!(db, |p| sqlx::query_as(sql).fetch_all(p).await.unwrap());
        for (id, row) in rows {
            all.entry(id).or_default().push(row);
        }
    }
    all
}

/// Every inbound run record as (object, Salesforce id) → outcomes, in the order they were made.
pub async fn inbound_outcomes(db: &Db) -> BTreeMap<(String, String), Vec<String>> {
    let rows: Vec<(String, String, String, Option<String>)> = app::on_db!(db, |p| {
        sqlx::query_as(
        "SELECT s.object_type, r.salesforce_id, r.status, r.message_code FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
         WHERE s.direction = 'inbound' AND r.salesforce_id IS NOT NULL ORDER BY s.id, r.seq",
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    let mut all: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (object, id, status, code) in rows {
        all.entry((object, id)).or_default().push(format!("{status}:{}", code.unwrap_or_default()));
    }
    all
}

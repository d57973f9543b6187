//! One run and its records, and the poll that keeps a run in progress live.

use crate::domain::{RecordsQuery, RunRecord, SyncRun};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// Records per page of the run view.
pub use crate::domain::RECORDS_PAGE_SIZE;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: SyncRun,
    pub records: Vec<RunRecord>,
    /// Cursor of the previous page of records (`before=`), when there is one.
    pub earlier: Option<i64>,
    /// Cursor of the next page of records (`after=`), when there is one.
    pub later: Option<i64>,
    pub notes: Vec<String>,
    /// The connected org's address, for links to records in Salesforce.
    pub salesforce_base: Option<String>,
    /// Whether the viewer may retry failed records (admins).
    #[serde(default)]
    pub can_retry: bool,
    pub as_of: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPoll {
    pub run: SyncRun,
    /// Records appended after `after`, up to `room`.
    pub records: Vec<RunRecord>,
    pub as_of: i64,
}

/// `GET /api/run`'s parameters: the run, and which of its records (status, page position).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunQuery {
    pub id: String,
    #[serde(flatten)]
    pub records: RecordsQuery,
}

/// `GET /api/run/poll`'s parameters: the run, the record status shown, the last record position
/// shown and how many more records the page has room for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPollQuery {
    pub id: String,
    pub status: Option<String>,
    pub after: Option<String>,
    pub room: Option<String>,
}

/// The run `id` names in the server's workspace, or `None` (and status 404) when the id is
/// malformed or unknown there.
#[cfg(feature = "ssr")]
async fn find_run(id: &str) -> Result<Option<(crate::state::AppState, SyncRun)>, ServerFnError> {
    use super::ssr::{internal, no_cache, not_found, state};
    use crate::domain::RunId;

    no_cache();
    let st = state()?;
    let run = match RunId::parse(id) {
        Some(run_id) => {
            crate::store::get_run(&st.pool, &st.workspace, run_id).await.map_err(internal)?
        }
        None => None,
    };
    if run.is_none() {
        not_found();
    }
    Ok(run.map(|run| (st, run)))
}

/// `GET /api/run?id=…`: a run with one page of its records; `null` (status 404) when the id is
/// unknown or malformed.
#[server(prefix = "/api", endpoint = "run", input = GetUrl)]
pub async fn get_run(
    #[server(flatten)] query: RunQuery,
) -> Result<Option<RunDetail>, ServerFnError> {
    use super::ssr::internal;
    use crate::store;

    let Some((st, run)) = find_run(&query.id).await? else { return Ok(None) };
    let run_id = run.id;
    let (filter, notes) = query.records.parse();
    let page = store::list_records(&st.pool, &st.workspace, run_id, &filter, RECORDS_PAGE_SIZE)
        .await
        .map_err(internal)?;
    let salesforce_base =
        store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?.instance_url;
    Ok(Some(RunDetail {
        run,
        records: page.records,
        earlier: page.earlier,
        later: page.later,
        notes,
        salesforce_base,
        can_retry: super::ssr::viewer().is_ok_and(|v| v.is_admin()),
        as_of: st.now_ms(),
    }))
}

/// `GET /api/run/poll?id=…`: the run's current state and up to `room` records after `after`
/// (a record position). A value that is not a number reads as absent: from the first record, no
/// records.
#[server(prefix = "/api", endpoint = "run/poll", input = GetUrl)]
pub async fn poll_run(
    #[server(flatten)] query: RunPollQuery,
) -> Result<Option<RunPoll>, ServerFnError> {
    use super::ssr::internal;
    use crate::store;

    let RunPollQuery { id, status, after, room } = query;
    let Some((st, run)) = find_run(&id).await? else { return Ok(None) };
    let run_id = run.id;
    let (filter, _) = RecordsQuery { status, after: None, before: None }.parse();
    let number = |v: Option<String>| v.and_then(|v| v.trim().parse::<i64>().ok());
    let after = number(after).filter(|n| *n >= 0);
    let room = number(room).unwrap_or(0).clamp(0, RECORDS_PAGE_SIZE);
    let records = if room > 0 {
        store::poll_records(&st.pool, &st.workspace, run_id, filter.status, after, room)
            .await
            .map_err(internal)?
    } else {
        Vec::new()
    };
    Ok(Some(RunPoll { run, records, as_of: st.now_ms() }))
}

//! One run and its records, and the poll that keeps a run in progress live.

use crate::domain::{RunRecord, SyncRun};
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
    pub as_of: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPoll {
    pub run: SyncRun,
    /// Records appended after `after`, up to `room`.
    pub records: Vec<RunRecord>,
    pub as_of: i64,
}

/// `GET /api/run?id=…`: a run with one page of its records; `null` (status 404) when the id is
/// unknown or malformed.
#[server(prefix = "/api", endpoint = "run", input = GetUrl)]
pub async fn get_run(
    id: String,
    status: Option<String>,
    after: Option<String>,
    before: Option<String>,
) -> Result<Option<RunDetail>, ServerFnError> {
    use super::ssr::{internal, no_store, not_found, state};
    use crate::domain::{RecordsQuery, RunId};
    use crate::store;

    no_store();
    let st = state()?;
    let Some(run_id) = RunId::parse(&id) else {
        not_found();
        return Ok(None);
    };
    let Some(run) = store::get_run(&st.pool, &st.workspace, run_id).await.map_err(internal)? else {
        not_found();
        return Ok(None);
    };
    let (filter, notes) = RecordsQuery { status, after, before }.parse();
    let page = store::list_records(&st.pool, &st.workspace, run_id, &filter, RECORDS_PAGE_SIZE)
        .await
        .map_err(internal)?;
    Ok(Some(RunDetail { run, records: page.records, earlier: page.earlier, later: page.later, notes, as_of: st.now_ms() }))
}

/// `GET /api/run/poll?id=…`: the run's current state and up to `room` records after `after`.
#[server(prefix = "/api", endpoint = "run/poll", input = GetUrl)]
pub async fn poll_run(
    id: String,
    status: Option<String>,
    after: Option<i64>,
    room: Option<i64>,
) -> Result<Option<RunPoll>, ServerFnError> {
    use super::ssr::{internal, no_store, not_found, state};
    use crate::domain::{RecordsQuery, RunId};
    use crate::store;

    no_store();
    let st = state()?;
    let Some(run_id) = RunId::parse(&id) else {
        not_found();
        return Ok(None);
    };
    let Some(run) = store::get_run(&st.pool, &st.workspace, run_id).await.map_err(internal)? else {
        not_found();
        return Ok(None);
    };
    let (filter, _) = RecordsQuery { status, after: None, before: None }.parse();
    let room = room.unwrap_or(0).clamp(0, RECORDS_PAGE_SIZE);
    let records = if room > 0 {
        store::poll_records(&st.pool, &st.workspace, run_id, filter.status, after, room).await.map_err(internal)?
    } else {
        Vec::new()
    };
    Ok(Some(RunPoll { run, records, as_of: st.now_ms() }))
}

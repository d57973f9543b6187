//! The Sync activity list: one page of runs, and the poll that keeps it live.

use crate::domain::{RunId, RunsQuery, SyncRun};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunsResponse {
    pub runs: Vec<SyncRun>,
    /// Cursor of the previous (newer) page, when there is one.
    pub newer: Option<RunId>,
    /// Cursor of the next (older) page, when there is one.
    pub older: Option<RunId>,
    /// Parameters that were ignored, in words.
    pub notes: Vec<String>,
    /// Whether the workspace has any run at all, filters aside.
    pub workspace_has_runs: bool,
    /// Server time of the answer, Unix ms (durations of runs in progress are measured to it).
    pub as_of: i64,
}

/// What the live list asks for: its filters (the page position aside), the newest run it shows
/// (new runs are asked for only on the first page) and the runs in progress it shows, each `id`
/// or `id~N` with N the records the page shows for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsPollQuery {
    #[serde(flatten)]
    pub filters: RunsQuery,
    pub newest: Option<String>,
    pub watch: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunsPoll {
    /// Runs newer than `newest` that match the filters, then the current state of watched runs.
    pub runs: Vec<SyncRun>,
    pub as_of: i64,
}

/// `GET /api/runs`: a page of runs, newest first.
#[server(prefix = "/api", endpoint = "runs", input = GetUrl)]
pub async fn list_runs(#[server(flatten)] query: RunsQuery) -> Result<RunsResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::store;

    no_cache();
    let st = state()?;
    let (filters, notes) = query.parse(st.now_ms());
    let page = store::list_runs(&st.pool, &st.workspace, &filters, store::PAGE_SIZE)
        .await
        .map_err(internal)?;
    let workspace_has_runs = if page.runs.is_empty() {
        store::workspace_has_runs(&st.pool, &st.workspace).await.map_err(internal)?
    } else {
        true
    };
    Ok(RunsResponse {
        runs: page.runs,
        newer: page.newer,
        older: page.older,
        notes,
        workspace_has_runs,
        as_of: st.now_ms(),
    })
}

/// `GET /api/runs/poll`: what changed for a live list. `newest` is the newest run shown (new runs
/// are asked for only on the first page); `watch` is a comma-separated list of runs in progress,
/// each `id` or `id~N` with N the records the page shows for it: a run still at N is left out.
#[server(prefix = "/api", endpoint = "runs/poll", input = GetUrl)]
pub async fn poll_runs(#[server(flatten)] query: RunsPollQuery) -> Result<RunsPoll, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::store;

    no_cache();
    let st = state()?;
    let RunsPollQuery { filters, newest, watch } = query;
    let (filters, _notes) = RunsQuery { before: None, after: None, ..filters }.parse(st.now_ms());
    let newest = newest.as_deref().and_then(RunId::parse);
    let watch: Vec<store::WatchedRun> =
        watch.as_deref().unwrap_or("").split(',').filter_map(store::WatchedRun::parse).collect();
    let runs = store::poll_runs(&st.pool, &st.workspace, &filters, newest, &watch)
        .await
        .map_err(internal)?;
    Ok(RunsPoll { runs, as_of: st.now_ms() })
}

//! `GET /api/runs/{id}/records.csv[?status=failed]`: a run's records as CSV, with the run page's
//! status filter applied; `GET /api/runs.csv?…`: the run list as CSV, with its filters.
//!
//! The file is streamed: records are read in keyset pages of [`PAGE`] and written as they come,
//! so a 50,000-record run starts downloading at once and the server holds one page at a time
//! (a bounded channel stops the reader when the download is slower than it).

use super::auth::Signed;
use super::error::ApiError;
use super::state::ApiState;
use app::domain::{RecordStatus, RunId, RunRecord};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

/// Records read and written per step.
const PAGE: i64 = 1_000;

/// The columns, in order.
const HEADER: [&str; 10] = [
    "Record",
    "Salesforce ID",
    "Conversion ID",
    "Action",
    "Status",
    "Message",
    "Detail",
    "Created in Salesforce (UTC)",
    "Updated in Salesforce (UTC)",
    "Position",
];

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/runs/{id}/records.csv", get(records_csv))
        .route("/api/runs.csv", get(runs_csv))
}

/// The run list's columns, in order.
const RUNS_HEADER: [&str; 16] = [
    "Run ID",
    "Started (UTC)",
    "Finished (UTC)",
    "Description",
    "Direction",
    "Object",
    "Trigger",
    "Status",
    "Created",
    "Updated",
    "Deleted",
    "Skipped",
    "Failed",
    "Message",
    "Detail",
    "Retry of",
];

/// Runs read per step of a list export.
const RUNS_PAGE: i64 = 500;

/// `GET /api/runs.csv?…`: the run list as CSV, with the list's filters (the same parameters as
/// `GET /api/runs`: direction, object, from, to, tz, status, message), every page of it, newest
/// first, streamed like a run's records.
async fn runs_csv(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
    Query(query): Query<app::domain::RunsQuery>,
) -> Result<Response, ApiError> {
    let ws = viewer.ws();
    let (mut filters, _notes) =
        app::domain::RunsQuery { before: None, after: None, ..query }.parse(s.clock.now_ms());
    let (chunks, received) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = s.pool.clone();
    tokio::spawn(async move {
        let _ = chunks.send(Ok(row(RUNS_HEADER.map(String::from)))).await;
        loop {
            let page = match app::store::list_runs(&pool, &ws, &filters, RUNS_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "export: runs");
                    let _ = chunks.send(Err(std::io::Error::other("reading runs failed"))).await;
                    return;
                }
            };
            let mut out = Vec::with_capacity(page.runs.len() * 200);
            for run in &page.runs {
                out.extend_from_slice(&row(run_cells(run)));
            }
            if chunks.send(Ok(Bytes::from(out))).await.is_err() {
                return;
            }
            match page.older {
                Some(older) => filters.before = Some(older),
                None => return,
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sync-activity.csv\"".to_string()),
        ],
        Body::from_stream(ReceiverStream::new(received)),
    )
        .into_response())
}

/// A run's cells, in [`RUNS_HEADER`]'s order.
fn run_cells(r: &app::domain::SyncRun) -> [String; 16] {
    let time = |ms: i64| crate::salesforce::datetime::format_millis_z(ms);
    [
        r.id.to_string(),
        time(r.started_at),
        r.finished_at.map(time).unwrap_or_default(),
        r.description(),
        r.direction.as_str().to_string(),
        r.object_type.label().to_string(),
        r.trigger.label().to_string(),
        r.status.label().to_string(),
        r.counts.created.to_string(),
        r.counts.updated.to_string(),
        r.counts.deleted.to_string(),
        r.counts.skipped.to_string(),
        r.counts.failed.to_string(),
        r.failure.as_ref().map(|f| f.message.title().to_string()).unwrap_or_default(),
        r.failure.as_ref().map(|f| f.detail.clone()).unwrap_or_default(),
        r.retry_of.map(|id| id.to_string()).unwrap_or_default(),
    ]
}

#[derive(Deserialize)]
struct Params {
    status: Option<String>,
}

async fn records_csv(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let id = RunId::parse(&id)
        .ok_or_else(|| ApiError::BadRequest(format!("{id:?} is not a run id.")))?;
    let status = match params.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("all") => None,
        Some(s) => Some(RecordStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{s:?} is not a record status: use success, skipped, failed or all."
            ))
        })?),
    };
    let ws = viewer.ws();
    let found = app::store::get_run(&s.pool, &ws, id).await.map_err(|e| {
        tracing::error!(error = %e, "export: run");
        ApiError::Internal("The run could not be read.".into())
    })?;
    if found.is_none() {
        return Err(ApiError::NotFound("There is no such run in this workspace.".into()));
    }
    let (chunks, received) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = s.pool.clone();
    tokio::spawn(async move {
        let _ = chunks.send(Ok(row(HEADER.map(String::from)))).await;
        let mut after = None;
        loop {
            let page = match app::store::poll_records(&pool, &ws, id, status, after, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    // The download ends unfinished, which the browser reports as failed.
                    tracing::error!(error = %e, run = %id, "export: records");
                    let _ = chunks.send(Err(std::io::Error::other("reading records failed"))).await;
                    return;
                }
            };
            let Some(last) = page.last().map(|r| r.seq) else { return };
            let mut out = Vec::with_capacity(page.len() * 160);
            for record in &page {
                out.extend_from_slice(&row(cells(record)));
            }
            // The download was abandoned: stop reading.
            if chunks.send(Ok(Bytes::from(out))).await.is_err() {
                return;
            }
            if (page.len() as i64) < PAGE {
                return;
            }
            after = Some(last);
        }
    });
    let filter = status.map_or("all", RecordStatus::as_str);
    let disposition = format!("attachment; filename=\"run-{id}-{filter}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(ReceiverStream::new(received)),
    )
        .into_response())
}

/// A record's cells, in [`HEADER`]'s order.
fn cells(r: &RunRecord) -> [String; 10] {
    let time =
        |ms: Option<i64>| ms.map(crate::salesforce::datetime::format_millis_z).unwrap_or_default();
    [
        r.label.clone().unwrap_or_default(),
        r.salesforce_id.clone().unwrap_or_default(),
        r.conversion_id.clone().unwrap_or_default(),
        r.action.label().to_string(),
        r.status.label().to_string(),
        r.message.map(|m| m.title().to_string()).unwrap_or_default(),
        r.detail.clone().unwrap_or_default(),
        time(r.external_created_at),
        time(r.external_updated_at),
        (r.seq + 1).to_string(),
    ]
}

/// One CSV line, written by the `csv` crate (quotes, commas and line breaks in values).
fn row<const N: usize>(cells: [String; N]) -> Bytes {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&cells);
    Bytes::from(writer.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_commas_quotes_and_line_breaks_stay_one_cell() {
        let line = row([
            "Smith, \"Jr\"\nCEO".into(),
            "003A".into(),
            String::new(),
            "Created".into(),
            "Failed".into(),
            "Invalid email address".into(),
            String::new(),
            String::new(),
            String::new(),
            "1".into(),
        ]);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_ref());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "Smith, \"Jr\"\nCEO");
        assert_eq!(record.len(), 10);
    }
}

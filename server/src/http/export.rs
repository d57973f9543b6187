//! `GET /api/runs/{id}/records.csv[?status=failed]`: a run's records as CSV, with the run page's
//! status filter applied.
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
    Router::new().route("/api/runs/{id}/records.csv", get(records_csv))
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
fn row(cells: [String; 10]) -> Bytes {
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

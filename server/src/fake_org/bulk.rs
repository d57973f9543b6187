//! Bulk API 2.0 query jobs: create, watch, read the results as CSV page by page, abort, delete.
//!
//! A job runs its query when it is created (the rows are fixed then, as a cursor's are) and is
//! reported `UploadComplete`, then `InProgress`, then `JobComplete` as time passes
//! ([`JOB_TAKES`]), so clients poll as they must against Salesforce. Results are CSV as Salesforce
//! writes them: a header of the selected field names, every value in double quotes (quotes
//! doubled), an empty cell for null, the job's delimiter and line ending; `Sforce-Locator` names
//! the next set (`null` after the last) and `Sforce-NumberOfRecords` counts this one.
//!
//! Docs: <https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm>

use super::api::{api_error, api_error_body, not_found, valid_version};
use super::data::{plan, Planned};
use super::faults::BulkJobEnd;
use super::org::{lock, now_millis, Org};
use super::query::{column_value, columns, execute, Column};
use super::soql;
use super::store::{Store, Value};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long a job takes from creation to `JobComplete` (the first quarter `UploadComplete`).
pub const JOB_TAKES: Duration = Duration::from_millis(200);

/// Results per set when the client does not say (`maxRecords`).
const DEFAULT_MAX_RECORDS: usize = 100_000;

/// How long a job and its results are kept: "Salesforce deletes jobs after seven days".
pub const JOB_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Query jobs allowed in any rolling 24 hours (`DailyBulkV2QueryJobs`), Salesforce's default.
pub const DAILY_JOBS: usize = 10_000;

struct Job {
    id: String,
    operation: &'static str,
    object: &'static str,
    /// `59.0`: results are only served to the same version.
    version: String,
    created: i64,
    delimiter: Delimiter,
    crlf: bool,
    table: usize,
    /// The matching rows, fixed when the job ran.
    rows: Arc<[u32]>,
    columns: Vec<Column>,
    /// Names of the selected fields, as the query wrote them (`Account.Name`).
    header: Vec<String>,
    /// Set by an abort.
    aborted: bool,
    /// How it ends when a fault stops it midway ([`BulkJobEnd`]); `None`: it completes.
    end: Option<BulkJobEnd>,
}

impl Job {
    fn state(&self, now: i64) -> &'static str {
        let took = now - self.created;
        let total = JOB_TAKES.as_millis() as i64;
        if self.aborted {
            "Aborted"
        } else if took < total / 4 {
            "UploadComplete"
        } else if took < total / 2 || (took < total && self.end.is_none()) {
            "InProgress"
        } else {
            match self.end {
                None => "JobComplete",
                Some(BulkJobEnd::Failed { .. }) => "Failed",
                Some(BulkJobEnd::Aborted) => "Aborted",
            }
        }
    }

    fn info(&self, user_id: &str, now: i64) -> serde_json::Value {
        let state = self.state(now);
        let done = state == "JobComplete";
        let created = super::super::salesforce::datetime::format_millis(self.created);
        let error_message = match (&self.end, state) {
            (Some(BulkJobEnd::Failed { message }), "Failed") => Some(message.as_str()),
            _ => None,
        };
        json!({
            "errorMessage": error_message,
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": user_id,
            "createdDate": created,
            "systemModstamp": created,
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": self.version.parse::<f64>().unwrap_or(0.0),
            "jobType": "V2Query",
            "lineEnding": if self.crlf { "CRLF" } else { "LF" },
            "columnDelimiter": self.delimiter.name(),
            "numberRecordsProcessed": if done { self.rows.len() } else { 0 },
            "retries": 0,
            "totalProcessingTime": if done { JOB_TAKES.as_millis() as u64 } else { 0 },
        })
    }
}

#[derive(Clone, Copy)]
enum Delimiter {
    Comma,
    Tab,
    Pipe,
    Semicolon,
    Caret,
    Backquote,
}

impl Delimiter {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "COMMA" => Delimiter::Comma,
            "TAB" => Delimiter::Tab,
            "PIPE" => Delimiter::Pipe,
            "SEMICOLON" => Delimiter::Semicolon,
            "CARET" => Delimiter::Caret,
            "BACKQUOTE" => Delimiter::Backquote,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Delimiter::Comma => "COMMA",
            Delimiter::Tab => "TAB",
            Delimiter::Pipe => "PIPE",
            Delimiter::Semicolon => "SEMICOLON",
            Delimiter::Caret => "CARET",
            Delimiter::Backquote => "BACKQUOTE",
        }
    }
    fn char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Tab => '\t',
            Delimiter::Pipe => '|',
            Delimiter::Semicolon => ';',
            Delimiter::Caret => '^',
            Delimiter::Backquote => '`',
        }
    }
}

/// The org's query jobs and the rolling count that limits them.
pub struct Jobs {
    jobs: HashMap<String, Job>,
    next: u64,
    /// Creation times (ms) of the jobs of the last 24 hours.
    created: VecDeque<i64>,
    pub daily_max: usize,
    /// Jobs made since the org started, for tests that count them.
    made: u64,
    /// The object of every job made, by id.
    objects: BTreeMap<String, String>,
    /// How many times each set of results was read, by job and set (its first row), for tests
    /// that check no set is read twice.
    reads: BTreeMap<(String, usize), u32>,
}

/// What the org's Bulk API 2.0 query jobs have done: `GET /__fake_org/bulk`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BulkStats {
    pub jobs_made: u64,
    /// The object each job made since the org started queries, by job id (deleted jobs too).
    pub objects: BTreeMap<String, String>,
    /// `(job, first row of the set, times read)`, by job and set.
    pub result_reads: Vec<(String, usize, u32)>,
}

impl Jobs {
    pub fn new(daily_max: usize) -> Self {
        Jobs {
            jobs: HashMap::new(),
            next: 1,
            created: VecDeque::new(),
            daily_max,
            made: 0,
            objects: BTreeMap::new(),
            reads: BTreeMap::new(),
        }
    }

    /// A job that exists and has not expired.
    fn live(&self, id: &str, now: i64) -> Option<&Job> {
        self.jobs.get(id).filter(|j| now - j.created < JOB_KEPT.as_millis() as i64)
    }

    /// Every job made so far expires now.
    pub fn expire_all(&mut self) {
        self.jobs.clear();
    }

    pub fn stats(&self) -> BulkStats {
        BulkStats {
            jobs_made: self.made,
            objects: self.objects.clone(),
            result_reads: self.reads.iter().map(|((j, o), n)| (j.clone(), *o, *n)).collect(),
        }
    }

    /// Jobs created in the rolling 24 hours before `now`.
    pub fn used(&mut self, now: i64) -> usize {
        while self.created.front().is_some_and(|t| *t <= now - 86_400_000) {
            self.created.pop_front();
        }
        self.created.len()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateJob {
    operation: Option<String>,
    query: Option<String>,
    content_type: Option<String>,
    column_delimiter: Option<String>,
    line_ending: Option<String>,
}

fn invalid_job(message: impl Into<String>) -> Response {
    api_error(StatusCode::BAD_REQUEST, "INVALIDJOB", message)
}

/// `POST /jobs/query`.
pub async fn create(
    State(org): State<Arc<Org>>,
    Path(version): Path<String>,
    Json(body): Json<CreateJob>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let operation = match body.operation.as_deref() {
        Some("query") => "query",
        Some("queryAll") => "queryAll",
        other => {
            return invalid_job(format!(
                "Invalid operation {:?}: a query job's operation is query or queryAll",
                other.unwrap_or("")
            ))
        }
    };
    if body.content_type.as_deref().is_some_and(|c| c != "CSV") {
        return invalid_job("contentType must be CSV");
    }
    let Some(delimiter) = Delimiter::parse(body.column_delimiter.as_deref().unwrap_or("COMMA"))
    else {
        return invalid_job(
            "columnDelimiter must be one of BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON, TAB",
        );
    };
    let crlf = match body.line_ending.as_deref().unwrap_or("LF") {
        "LF" => false,
        "CRLF" => true,
        _ => return invalid_job("lineEnding must be LF or CRLF"),
    };
    let Some(q) = body.query.filter(|q| !q.trim().is_empty()) else {
        return invalid_job("A query job needs a query");
    };
    let now = now_millis();
    let store = org.data_store();
    // "Bulk API 2.0 doesn't support queries that include … OFFSET … Aggregate Functions such as
    // COUNT()."
    let unsupported = |p: &soql::Query| {
        (p.count || p.offset.is_some())
            .then(|| invalid_job("Bulk API 2.0 query jobs do not support COUNT() or OFFSET"))
    };
    let Planned { query: parsed, table: t, bound } = match plan(&org, &store, &q, unsupported) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let columns = match columns(&parsed, t, &store) {
        Ok(c) => c,
        Err(e) => return api_error_body(StatusCode::BAD_REQUEST, e),
    };
    let rows: Arc<[u32]> = execute(&bound, &store, operation == "queryAll").into();
    let object = store.tables[t].def.name;
    drop(store);
    let mut jobs = lock(&org.bulk);
    if jobs.used(now) >= jobs.daily_max {
        return api_error(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_QUOTA",
            format!(
                "ExceededQuota: the org has created its {} Bulk API 2.0 query jobs of the last 24 hours",
                jobs.daily_max
            ),
        );
    }
    let id = super::store::encode_id("750", jobs.next as u32);
    jobs.next += 1;
    jobs.made += 1;
    jobs.objects.insert(id.clone(), object.to_string());
    let end = lock(&org.faults).bulk_job_ends.pop_front();
    jobs.created.push_back(now);
    let job = Job {
        id: id.clone(),
        operation,
        object,
        version: version.trim_start_matches('v').to_string(),
        created: now,
        delimiter,
        crlf,
        table: t,
        rows,
        columns,
        header: parsed.fields.clone(),
        aborted: false,
        end,
    };
    let info = job.info(&org.identity.user_id, now);
    jobs.jobs.insert(id, job);
    Json(info).into_response()
}

/// `GET /jobs/query/{id}`.
pub async fn get(
    State(org): State<Arc<Org>>,
    Path((version, id)): Path<(String, String)>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let jobs = lock(&org.bulk);
    let now = now_millis();
    match jobs.live(&id, now) {
        Some(job) => Json(job.info(&org.identity.user_id, now)).into_response(),
        None => not_found(),
    }
}

/// `GET /jobs/query`: every job, newest last.
pub async fn list(State(org): State<Arc<Org>>, Path(version): Path<String>) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let jobs = lock(&org.bulk);
    let now = now_millis();
    let mut all: Vec<&Job> = jobs.jobs.keys().filter_map(|id| jobs.live(id, now)).collect();
    all.sort_by_key(|j| (j.created, j.id.clone()));
    let records: Vec<_> = all.iter().map(|j| j.info(&org.identity.user_id, now)).collect();
    Json(json!({ "done": true, "records": records, "nextRecordsUrl": null })).into_response()
}

#[derive(Deserialize)]
pub struct SetState {
    state: String,
}

/// `PATCH /jobs/query/{id}` with `{"state": "Aborted"}`: a job not yet complete stops.
pub async fn abort(
    State(org): State<Arc<Org>>,
    Path((version, id)): Path<(String, String)>,
    Json(body): Json<SetState>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    if body.state != "Aborted" {
        return invalid_job("A query job's state can only be set to Aborted");
    }
    let mut jobs = lock(&org.bulk);
    let now = now_millis();
    if jobs.live(&id, now).is_none() {
        return not_found();
    }
    let Some(job) = jobs.jobs.get_mut(&id) else { return not_found() };
    if matches!(job.state(now), "JobComplete" | "Failed" | "Aborted") {
        return invalid_job(format!("The job is {} and cannot be aborted", job.state(now)));
    }
    job.aborted = true;
    Json(job.info(&org.identity.user_id, now)).into_response()
}

/// `DELETE /jobs/query/{id}`: the job and its results are gone.
pub async fn delete(
    State(org): State<Arc<Org>>,
    Path((version, id)): Path<(String, String)>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let mut jobs = lock(&org.bulk);
    if jobs.live(&id, now_millis()).is_none() {
        return not_found();
    }
    jobs.jobs.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsParams {
    locator: Option<String>,
    max_records: Option<usize>,
}

/// A locator: the offset of the set it names, in base64 (Salesforce's are opaque strings).
fn locator_of(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn offset_of(locator: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(locator).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

/// `GET /jobs/query/{id}/results[?locator=…&maxRecords=…]`: one set of results, as CSV.
pub async fn results(
    State(org): State<Arc<Org>>,
    Path((version, id)): Path<(String, String)>,
    Query(params): Query<ResultsParams>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let mut jobs = lock(&org.bulk);
    let Some(job) = jobs.live(&id, now_millis()) else { return not_found() };
    let state = job.state(now_millis());
    if state != "JobComplete" {
        return invalid_job(format!("The job is {state} and has no results yet"));
    }
    let job_version = &job.version;
    // "Use the same API version to get query results that you used to create the query.
    // Otherwise, the call returns a 409 error."
    if version.trim_start_matches('v') != job_version {
        return api_error(
            StatusCode::CONFLICT,
            "INVALIDJOB",
            format!("The job was created with API version {job_version}: read its results with the same version"),
        );
    }
    let offset = match params.locator.as_deref().filter(|l| !l.is_empty() && *l != "null") {
        None => 0,
        Some(l) => match offset_of(l).filter(|o| *o <= job.rows.len()) {
            Some(o) => o,
            None => {
                return api_error(StatusCode::BAD_REQUEST, "INVALID_LOCATOR", "Invalid locator")
            }
        },
    };
    let max = params.max_records.filter(|m| *m > 0).unwrap_or(DEFAULT_MAX_RECORDS);
    let end = (offset + max).min(job.rows.len());
    let store = org.data_store();
    let body = write_csv(&store, job, &job.rows[offset..end]);
    drop(store);
    let next = if end < job.rows.len() { locator_of(end) } else { "null".to_string() };
    *jobs.reads.entry((id, offset)).or_insert(0) += 1;
    drop(jobs);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(v) = HeaderValue::from_str(&next) {
        headers.insert("Sforce-Locator", v);
    }
    headers.insert("Sforce-NumberOfRecords", HeaderValue::from(end - offset));
    response
}

/// A value as Bulk API 2.0 writes it in a cell; `None` for null (an empty cell).
fn cell(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Text(t) => Some(Cow::Borrowed(t)),
        Value::DateTime(ms) => {
            Some(Cow::Owned(super::super::salesforce::datetime::format_millis_z(*ms)))
        }
    }
}

/// Appends `s` in double quotes, its quotes doubled.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..=i]);
        out.push('"');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

fn write_csv(store: &Store, job: &Job, rows: &[u32]) -> String {
    let sep = job.delimiter.char();
    let eol = if job.crlf { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(64 * job.columns.len() * (rows.len() + 1));
    for (i, h) in job.header.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        push_quoted(&mut out, h);
    }
    out.push_str(eol);
    for &row in rows {
        for (i, c) in job.columns.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            if let Some(v) = cell(&column_value(store, job.table, row, *c)) {
                push_quoted(&mut out, &v);
            }
        }
        out.push_str(eol);
    }
    out
}

//! `GET /lightning/r/{Object}/{Id}/view`: the record in the org, where a real org's Lightning
//! Experience shows it. The product links each Salesforce ID there; the local org answers with a
//! plain read-only page of the record's fields, so the link leads somewhere in demos and tests.

use super::api::not_found;
use super::store::Value;
use super::Org;
use crate::salesforce::datetime;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

pub async fn record_page(
    State(org): State<Arc<Org>>,
    Path((object, id)): Path<(String, String)>,
) -> Response {
    let store = org.data_store();
    let Some(table) = store.table(&object) else { return not_found() };
    let Some(row) = table.find(&id) else {
        let body = page(
            &object,
            "Record not found",
            "<p>This record does not exist in the local org, or its ID is mistyped.</p>",
        );
        return (StatusCode::NOT_FOUND, Html(body)).into_response();
    };
    let deleted = table.rows[row as usize].deleted;
    let mut rows = String::new();
    for i in 0..table.def.fields.len() {
        let value = match table.get(row, i) {
            Value::Null => continue,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Text(t) if t.trim().is_empty() => continue,
            Value::Text(t) => t.to_string(),
            Value::DateTime(ms) => datetime::format_millis(ms),
        };
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(table.field(i).name),
            escape(&value)
        ));
    }
    let title = format!("{} {}", table.def.name, table.id_of(row));
    let note = if deleted { "<p><strong>In the Recycle Bin.</strong></p>" } else { "" };
    let body = format!("{note}<table>{rows}</table>");
    Html(page(&object, &title, &body)).into_response()
}

fn page(object: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Local Salesforce org</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#181818}}th{{text-align:left;padding:.25rem 1rem .25rem 0;color:#555;font-weight:500}}td{{padding:.25rem 0}}</style>\
         </head><body><p>Local Salesforce org · {object} (read only)</p><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
        object = escape(object),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

//! A `request` span around every request (method, path and, once answered, status and time
//! taken), so what a handler or server function logs says which request it was for.

use axum::extract::Request;
use axum::http::Response;
use std::time::Duration;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub fn layer(router: axum::Router) -> axum::Router {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request| {
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    status = tracing::field::Empty,
                    ms = tracing::field::Empty,
                )
            })
            .on_request(())
            .on_response(|response: &Response<_>, latency: Duration, span: &Span| {
                span.record("status", response.status().as_u16());
                span.record("ms", latency.as_millis() as u64);
                tracing::debug!("answered");
            })
            .on_failure(|class: ServerErrorsFailureClass, latency: Duration, _: &Span| {
                tracing::warn!(%class, ms = latency.as_millis() as u64, "request failed");
            }),
    )
}

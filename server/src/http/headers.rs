//! What every answer tells the browser about how it may be used: not framed by another site
//! (clickjacking a Disconnect button), not sniffed as another type, and no full address of a page
//! (which can name a run or a record) sent to other sites as the referrer.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// `axum::middleware::map_response` over the whole router.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
    ));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    #[tokio::test]
    async fn every_answer_carries_the_headers() {
        let app = Router::new()
            .route("/page", get(|| async { "page" }))
            .layer(axum::middleware::map_response(security_headers));
        for uri in ["/page", "/missing"] {
            let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            let h = res.headers();
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
            assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{uri}");
            assert!(h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("frame-ancestors 'none'"));
        }
    }
}

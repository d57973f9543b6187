//! A request the API cannot even read (a required parameter missing, one given twice, a form body
//! that is not UTF-8) is the caller's mistake, not the server's. The server functions answer
//! those with a 500 whose body starts `Args|` (the arguments could not be read) or
//! `Deserialization|` (on the server, only the request body is ever deserialized: it could not
//! be read as text or decoded); this layer turns them into a 400 with a JSON body that says what
//! was wrong.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

/// Bodies of argument errors are a line of text; anything longer is not one.
const MAX_ARGS_BODY: usize = 16 * 1024;

/// `axum::middleware::map_response` over the router.
pub async fn args_errors_to_bad_request(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ARGS_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let reason = match (bytes.strip_prefix(b"Args|"), bytes.strip_prefix(b"Deserialization|")) {
        (Some(reason), _) => String::from_utf8_lossy(reason).into_owned(),
        (_, Some(reason)) => {
            format!("the request body could not be read ({})", String::from_utf8_lossy(reason))
        }
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    let body = serde_json::json!({ "error": format!("Bad request: {reason}. See docs/API.md for the parameters.") });
    parts.status = StatusCode::BAD_REQUEST;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(r: Response) -> String {
        String::from_utf8(axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec())
            .unwrap()
    }

    #[tokio::test]
    async fn argument_errors_become_400_with_a_reason() {
        let r =
            Response::builder().status(500).body(Body::from("Args|missing field `id`")).unwrap();
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_str(&body_of(r).await).unwrap();
        assert!(body["error"].as_str().unwrap().contains("missing field `id`"), "{body}");
    }

    #[tokio::test]
    async fn unreadable_bodies_become_400_with_a_reason() {
        let r = Response::builder()
            .status(500)
            .body(Body::from("Deserialization|invalid utf-8 sequence of 1 bytes from index 3"))
            .unwrap();
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_str(&body_of(r).await).unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("request body could not be read") && error.contains("invalid utf-8"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn other_responses_pass_unchanged() {
        let r = Response::builder()
            .status(500)
            .body(Body::from("ServerError|database is locked"))
            .unwrap();
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body_of(r).await, "ServerError|database is locked");
        let r = args_errors_to_bad_request(Response::new(Body::from("fine"))).await;
        assert_eq!((r.status(), body_of(r).await), (StatusCode::OK, "fine".to_string()));
    }
}

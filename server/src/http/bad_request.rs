//! A request the API cannot even read (a required parameter missing, one given twice, a form body
//! that is not UTF-8) is the caller's mistake, not the server's. The server functions answer
//! every error with a 500 that carries the `serverfnerror` header and the error in their own
//! encoding; this layer reads it back with the framework's decoder (`FromServerFnError::de`) and
//! turns `Args` (the arguments could not be read) and `Deserialization` (on the server, only the
//! request body is ever deserialized: it could not be read as text or decoded) into a 400 with a
//! JSON body that says what was wrong.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use leptos::server_fn::error::{FromServerFnError, ServerFnError, SERVER_FN_ERROR_HEADER};

/// Bodies of argument errors are a line of text; anything longer is not one.
const MAX_ARGS_BODY: usize = 16 * 1024;

/// `axum::middleware::map_response` over the router.
pub async fn args_errors_to_bad_request(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ARGS_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let error: ServerFnError = FromServerFnError::de(bytes.clone());
    let reason = match error {
        ServerFnError::Args(reason) => reason,
        ServerFnError::Deserialization(reason) => {
            format!("the request body could not be read ({reason})")
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

    /// A server function's error answer, as the framework writes it.
    fn server_fn_error(e: ServerFnError) -> Response {
        Response::builder()
            .status(500)
            .header(SERVER_FN_ERROR_HEADER, "/api/run")
            .body(Body::from(e.ser()))
            .unwrap()
    }

    async fn body_of(r: Response) -> String {
        String::from_utf8(axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec())
            .unwrap()
    }

    #[tokio::test]
    async fn argument_errors_become_400_with_a_reason() {
        let r = server_fn_error(ServerFnError::Args("missing field `id`".into()));
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_str(&body_of(r).await).unwrap();
        assert!(body["error"].as_str().unwrap().contains("missing field `id`"), "{body}");
    }

    #[tokio::test]
    async fn unreadable_bodies_become_400_with_a_reason() {
        let r = server_fn_error(ServerFnError::Deserialization(
            "invalid utf-8 sequence of 1 bytes from index 3".into(),
        ));
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
        let r = server_fn_error(ServerFnError::ServerError("database is locked".into()));
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(r).await;
        let expected: ServerFnError = ServerFnError::ServerError("database is locked".into());
        assert_eq!(body.as_bytes(), &expected.ser()[..]);
        // A 500 that is not a server function's error is not read at all.
        let r = Response::builder().status(500).body(Body::from("Args|not ours")).unwrap();
        let r = args_errors_to_bad_request(r).await;
        assert_eq!(
            (r.status(), body_of(r).await),
            (StatusCode::INTERNAL_SERVER_ERROR, "Args|not ours".to_string())
        );
        let r = args_errors_to_bad_request(Response::new(Body::from("fine"))).await;
        assert_eq!((r.status(), body_of(r).await), (StatusCode::OK, "fine".to_string()));
    }
}

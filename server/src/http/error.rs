//! One error type for the JSON API. Every handler returns `Result<_, ApiError>`; the body is
//! always `{"error": "..."}` with a sentence a person can act on, and the status says whose
//! mistake it was.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request could not be read (bad JSON, an unknown parameter value).
    BadRequest(String),
    /// 401: nobody is signed in (`WWW-Authenticate` says how to).
    Unauthorized(String),
    /// 403: signed in, but the role does not allow it.
    Forbidden(String),
    /// 404: the record does not exist.
    NotFound(String),
    /// 409: the request conflicts with work under way.
    Conflict(String),
    /// 422: readable, but not a value the product can honour.
    Unprocessable(String),
    /// 429 with `Retry-After`: this person or token made too many changes in the last minute.
    TooManyRequests { message: String, retry_after_secs: u32 },
    /// 503 with `Retry-After`: the server cannot do it now (storage failing, no engine).
    Unavailable { message: String, retry_after_secs: Option<u32> },
    /// 500: the server's own failure; the message is safe to show, the cause was logged.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Unprocessable(m)
            | ApiError::Internal(m) => m,
            ApiError::Unavailable { message, .. } | ApiError::TooManyRequests { message, .. } => {
                message
            }
        }
    }

    /// This server was started without the sync engine (`--demo false` and no Salesforce org).
    pub fn no_engine() -> ApiError {
        ApiError::Unavailable {
            message: "the sync engine is not running on this server".into(),
            retry_after_secs: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::Unavailable { retry_after_secs, .. } => *retry_after_secs,
            ApiError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let mut response =
            (self.status(), Json(serde_json::json!({ "error": self.message() }))).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            // The sign-in page sets a session cookie; there is no other way in yet.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Cookie realm=\"Conversion\" form-action=\"/sign-in\""),
            );
        }
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A JSON body read with serde's precise message on failure (`invalid JSON body: missing field
/// `email` at line 1 column 2`), as a 400, whatever the request's content type says.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state).await.map_err(|e| {
            ApiError::BadRequest(format!("the request body could not be read: {e}"))
        })?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unavailable_answer_says_when_to_retry() {
        let e = ApiError::Unavailable { message: "later".into(), retry_after_secs: Some(60) };
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "60");
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"later"}"#);
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_400_with_serdes_reason() {
        let request = Request::builder().body(axum::body::Body::from("{\"a\":")).unwrap();
        let Err(e) = JsonBody::<serde_json::Value>::from_request(request, &()).await else {
            panic!("read a broken body")
        };
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.message().starts_with("invalid JSON body: EOF"), "{}", e.message());
    }
}

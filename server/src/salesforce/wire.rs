//! Reading Salesforce's answers: which transport faults are worth another try, whole-request
//! error arrays, and 2xx bodies.

use super::error::SalesforceError;
use super::types::ApiErrorBody;
use bytes::Bytes;
use reqwest::StatusCode;

/// Timeouts, refused or reset connections, and bodies cut short are worth another try.
pub(crate) fn is_transient_transport(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

/// Reads Salesforce's whole-request error array; anything else becomes `UnexpectedResponse`.
pub(crate) fn api_error(status: StatusCode, body: &[u8]) -> SalesforceError {
    match serde_json::from_slice::<Vec<ApiErrorBody>>(body) {
        Ok(errors) => SalesforceError::Api { status: status.as_u16(), errors },
        Err(_) => SalesforceError::UnexpectedResponse {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(body).chars().take(300).collect(),
        },
    }
}

/// Decodes a 2xx body, reporting a shape mismatch with the status it came with.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
) -> Result<T, SalesforceError> {
    serde_json::from_slice(body).map_err(|e| SalesforceError::UnexpectedResponse {
        status: status.as_u16(),
        detail: e.to_string(),
    })
}

/// The body of `response`, read only up to `limit` bytes: `None` when it is larger (announced or
/// not), so a runaway answer fails its call instead of filling memory.
pub async fn body_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Bytes>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(body)))
}

/// The body of a 2xx response, read whole up to `limit` bytes.
pub async fn read_body(
    response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, SalesforceError> {
    let status = response.status();
    match body_capped(response, limit).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(too_large(status, limit)),
        Err(e) => Err(SalesforceError::Transport(e)),
    }
}

/// The error of a response larger than the client reads.
pub fn too_large(status: StatusCode, limit: usize) -> SalesforceError {
    SalesforceError::UnexpectedResponse {
        status: status.as_u16(),
        detail: format!("the response is larger than the {limit} bytes the client reads"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_arrays_keep_code_and_fields() {
        let body = br#"[{"message":"No such column 'Foo' on entity 'Lead'","errorCode":"INVALID_FIELD","fields":["Foo"]}]"#;
        match api_error(StatusCode::BAD_REQUEST, body) {
            SalesforceError::Api { status, errors } => {
                assert_eq!(status, 400);
                assert_eq!(errors[0].error_code, "INVALID_FIELD");
                assert_eq!(errors[0].fields.as_deref(), Some(&["Foo".to_string()][..]));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            api_error(StatusCode::BAD_GATEWAY, b"<html>"),
            SalesforceError::UnexpectedResponse { status: 502, .. }
        ));
    }
}

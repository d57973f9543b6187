//! Errors of the Salesforce client. Salesforce's own codes (`errorCode`, `statusCode`) are kept
//! verbatim so the sync engine can map them to the help article's messages.

use super::types::{ApiErrorBody, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// The refresh token (or authorization code) was refused: the connection must be
    /// reconnected by a person. Salesforce's `invalid_grant`.
    #[error("Salesforce refused the grant ({error}): {description}")]
    InvalidGrant { error: String, description: String },

    /// Any other OAuth error body (`invalid_client_id`, `invalid_client`, ...).
    #[error("Salesforce OAuth error {error}: {description}")]
    OAuth { error: String, description: String },

    /// A whole-request error: a JSON array of `{message, errorCode, fields}` with its status.
    #[error("Salesforce returned HTTP {status} {}: {}", first_code(.errors), first_message(.errors))]
    Api { status: u16, errors: Vec<ApiErrorBody> },

    /// A 5xx, a timeout or a broken connection that outlived every retry.
    #[error("Salesforce is unavailable after {attempts} attempts: {detail}")]
    Unavailable { attempts: u32, detail: String },

    /// A response that does not have the documented shape.
    #[error("unexpected response from Salesforce (HTTP {status}): {detail}")]
    UnexpectedResponse { status: u16, detail: String },

    /// More than 200 records were passed to one sObject Collections call.
    #[error("an sObject Collections request takes at most 200 records, got {0}")]
    TooManyRecords(usize),

    /// Client configuration that cannot work (a base URL that does not parse, ...).
    #[error("invalid Salesforce client configuration: {0}")]
    Config(String),

    /// A Bulk API 2.0 job that failed, was aborted, or did not complete in time.
    #[error("Salesforce's Bulk API job {id} is {state}: {message}")]
    BulkJob { id: String, state: String, message: String },

    #[error("HTTP transport error: {0}")]
    Transport(#[from] reqwest::Error),
}

fn first_code(errors: &[ApiErrorBody]) -> &str {
    errors.first().map(|e| e.error_code.as_str()).unwrap_or("(no error code)")
}

fn first_message(errors: &[ApiErrorBody]) -> &str {
    errors.first().map(|e| e.message.as_str()).unwrap_or("")
}

impl SalesforceError {
    /// The first `errorCode` of a whole-request error.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            SalesforceError::Api { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            _ => None,
        }
    }

    /// The HTTP status, when Salesforce answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            SalesforceError::Api { status, .. }
            | SalesforceError::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The connection must be re-authorised by a person ("Authentication failure").
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, SalesforceError::InvalidGrant { .. })
            || self.error_code() == Some("INVALID_SESSION_ID")
    }

    /// The daily API limit is used up ("API limit exceeded").
    pub fn is_limit_exceeded(&self) -> bool {
        self.error_code() == Some("REQUEST_LIMIT_EXCEEDED")
    }

    /// The integration user may not read or write this object ("Insufficient permissions").
    pub fn is_insufficient_access(&self) -> bool {
        matches!(self.status(), Some(403)) && !self.is_limit_exceeded()
    }
}

/// Per-record codes worth retrying: the record was busy, not wrong.
pub fn is_transient_record_error(e: &RecordError) -> bool {
    e.status_code == "UNABLE_TO_LOCK_ROW"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> SalesforceError {
        SalesforceError::Api {
            status,
            errors: vec![ApiErrorBody {
                message: "m".into(),
                error_code: code.into(),
                fields: None,
            }],
        }
    }

    #[test]
    fn classifies_whole_request_errors() {
        assert!(api(401, "INVALID_SESSION_ID").needs_reconnect());
        assert!(api(403, "REQUEST_LIMIT_EXCEEDED").is_limit_exceeded());
        assert!(!api(403, "REQUEST_LIMIT_EXCEEDED").is_insufficient_access());
        assert!(api(403, "INSUFFICIENT_ACCESS").is_insufficient_access());
        assert_eq!(
            api(400, "MALFORMED_QUERY").to_string(),
            "Salesforce returned HTTP 400 MALFORMED_QUERY: m"
        );
    }
}

//! One delivery attempt on the wire: the alert's JSON POSTed to the webhook, signed with
//! HMAC-SHA256 over `<timestamp>.<body>` under the workspace's secret (README, "Alerts").

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, Instant};

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Sync-Signature";
/// Unix seconds when the attempt was made; part of the signed bytes, so a receiver can refuse an
/// old alert replayed.
pub const TIMESTAMP_HEADER: &str = "X-Sync-Timestamp";
/// The delivery's id, the same in every retry (the body's `id`).
pub const DELIVERY_HEADER: &str = "X-Sync-Delivery";

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// What came of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why no answer came.
    pub error: Option<String>,
    pub took: Duration,
}

impl Answer {
    /// A 2xx: delivered. Anything else (a redirect included: alerts do not follow them) is
    /// tried again.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// POSTs `body` to `url`, signed. The client's timeout bounds the wait.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    timestamp: i64,
    delivery: i64,
    body: String,
) -> Answer {
    let started = Instant::now();
    let sent = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(secret, timestamp, &body))
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(DELIVERY_HEADER, delivery.to_string())
        .body(body)
        .send()
        .await;
    let took = started.elapsed();
    match sent {
        Ok(response) => Answer { status: Some(response.status().as_u16()), error: None, took },
        Err(e) => Answer { status: None, error: Some(describe(&e)), took },
    }
}

/// A failed request in a few words a person can act on.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time (timed out)".into();
    }
    // The innermost cause says what happened ("Connection refused (os error 111)").
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if e.is_connect() {
        format!("could not connect: {cause}")
    } else {
        format!("the request failed: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_hmac(key: &[u8], message: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() {
        // A published value, so the hex is the usual one: HMAC-SHA256("key", "The quick brown
        // fox jumps over the lazy dog").
        assert_eq!(
            hex_hmac(b"key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let s = signature("whsec_k", 1_700_000_000, "{\"a\":1}");
        assert_eq!(s, format!("sha256={}", hex_hmac(b"whsec_k", b"1700000000.{\"a\":1}")));
        assert_ne!(s, signature("whsec_k", 1_700_000_001, "{\"a\":1}"));
        assert_ne!(s, signature("whsec_j", 1_700_000_000, "{\"a\":1}"));
    }
}

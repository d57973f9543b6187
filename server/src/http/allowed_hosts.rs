//! Only requests addressed to this server by a name it answers to are served. A page on another
//! site whose domain is pointed at 127.0.0.1 (DNS rebinding) reaches the port, but its requests
//! carry its own name in `Host`, and are refused before anything is read or changed.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The host names (without port) the server answers to; empty: any.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    /// `given` (`--allowed-hosts`), or else the loopback names and the address listened on. `*`
    /// allows any host (behind a proxy that checks it).
    pub fn new(given: &[String], listening: SocketAddr) -> AllowedHosts {
        if given.iter().any(|h| h.trim() == "*") {
            return AllowedHosts::default();
        }
        let mut hosts: Vec<String> = if given.is_empty() {
            let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "[::1]".into()];
            if !listening.ip().is_unspecified() {
                hosts.push(host_of(&listening.to_string()).to_string());
            }
            hosts
        } else {
            given.iter().map(|h| host_of(h.trim()).to_ascii_lowercase()).collect()
        };
        hosts.sort();
        hosts.dedup();
        AllowedHosts(Arc::new(hosts))
    }

    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_of(host_header).to_ascii_lowercase();
        self.0.is_empty() || self.0.contains(&host)
    }
}

/// `example.com` of `example.com:3000`, `[::1]` of `[::1]:3000`.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// `axum::middleware::from_fn_with_state` over the whole router.
pub async fn refuse_unknown_hosts(
    State(allowed): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !allowed.allows(host) {
        let body = format!("This server does not answer to \u{201c}{host}\u{201d}. If that is its name, start it with --allowed-hosts {host}.");
        return (StatusCode::MISDIRECTED_REQUEST, body).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_the_listening_address_by_default() {
        let local = AllowedHosts::new(&[], "127.0.0.1:3000".parse().unwrap());
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.1"] {
            assert!(local.allows(ok), "{ok}");
        }
        for bad in ["evil.example:3000", "127.0.0.1.evil.example:3000", "", "[::2]:3000"] {
            assert!(!local.allows(bad), "{bad}");
        }
        let lan = AllowedHosts::new(&[], "192.168.1.20:3000".parse().unwrap());
        assert!(lan.allows("192.168.1.20:3000"));
    }

    #[test]
    fn given_names_replace_the_defaults_and_a_star_allows_any() {
        let named =
            AllowedHosts::new(&["sync.example.com".into()], "0.0.0.0:3000".parse().unwrap());
        assert!(named.allows("Sync.Example.com"));
        assert!(!named.allows("127.0.0.1:3000"));
        let any = AllowedHosts::new(&["*".into()], "0.0.0.0:3000".parse().unwrap());
        assert!(any.allows("whatever.example"));
    }
}

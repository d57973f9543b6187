//! Addresses of the list and a run: percent-encoded query values, the list's URL for a query, and
//! the workspace every page address starts with (`/w/{workspace}/…`).

use super::filters::{present, RunsQuery};
use super::RunId;

/// Every page and API address of a workspace starts with `/w/{workspace}`.
pub const WORKSPACE_PREFIX: &str = "/w/";

/// The workspace and the rest of a `/w/{workspace}/…` address (`/` when nothing follows), or
/// `None` for an address outside any workspace.
pub fn split_workspace(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(WORKSPACE_PREFIX)?;
    let (workspace, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!workspace.is_empty()).then_some((workspace, tail))
}

/// `/w/{workspace}{path}`.
pub fn in_workspace(workspace: &str, path: &str) -> String {
    format!("{WORKSPACE_PREFIX}{}{path}", encode_query_value(workspace))
}

/// The workspace of the page being made: the signed-in person's on the server (the sign-in
/// layer put them on the request), the address's in the browser.
pub fn current_workspace() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<super::access::Viewer>().cloned())
            .map(|v| v.workspace)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let path = web_sys::window()?.location().pathname().ok()?;
        split_workspace(&path).map(|(ws, _)| ws.to_string())
    }
}

/// `path` (an address of the app, `/settings/crm/…`) in the current workspace.
pub fn at(path: &str) -> String {
    match current_workspace() {
        Some(ws) => in_workspace(&ws, path),
        None => path.to_string(),
    }
}

/// The run page's path, without a query.
pub fn run_path(id: RunId) -> String {
    at(&format!("/settings/crm/sync-activity/runs/{id}"))
}

/// The run page's address (in UTC when the current page is: [`times_in_utc`]).
pub fn run_href(id: RunId) -> String {
    href_with(&run_path(id), &[])
}

/// The query parameter that shows times in UTC rather than the reader's zone: `times=utc`.
pub const TIMES_PARAM: &str = "times";

/// Whether `query` (an address's query, without `?`) asks for times in UTC.
pub fn query_times_in_utc(query: &str) -> bool {
    query.split('&').any(|pair| pair.eq_ignore_ascii_case("times=utc"))
}

/// The address of the page being made, its path inside the workspace (`/settings/crm/…`) and
/// its query: the request's on the server (the sign-in layer has taken the workspace off its
/// path), the address bar's in the browser.
pub fn current_address() -> Option<(String, String)> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
        let path = parts.uri.path();
        let path = split_workspace(path).map_or(path, |(_, rest)| rest);
        Some((path.to_string(), parts.uri.query().unwrap_or("").to_string()))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let location = web_sys::window()?.location();
        let (path, query) = (location.pathname().ok()?, location.search().ok()?);
        let path = split_workspace(&path).map_or(path.as_str(), |(_, rest)| rest).to_string();
        Some((path, query.trim_start_matches('?').to_string()))
    }
}

/// Whether the page being made shows its times in UTC (`?times=utc`); otherwise they are in the
/// reader's time zone. Every address of the app made while it does keeps it.
pub fn times_in_utc() -> bool {
    current_address().is_some_and(|(_, query)| query_times_in_utc(&query))
}

/// The current page's address with times in UTC (`utc`) or in the reader's zone.
pub fn current_with_times(utc: bool) -> String {
    let (path, query) = current_address().unwrap_or_default();
    let path = at(&path);
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.to_ascii_lowercase().starts_with("times="))
        .collect();
    if utc {
        pairs.push("times=utc");
    }
    if pairs.is_empty() {
        path
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&…` from the pairs whose value is present, and `times=utc` when the current page
/// shows its times in UTC (the choice stays in the address as the reader moves on).
pub fn href_with(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let utc = times_in_utc().then_some("utc");
    let query: Vec<String> = pairs
        .iter()
        .chain(std::iter::once(&(TIMES_PARAM, utc)))
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode_query_value(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

impl RunsQuery {
    /// Whether any filter (not the page position) is set.
    pub fn has_filters(&self) -> bool {
        [&self.direction, &self.object, &self.from, &self.to, &self.status, &self.message]
            .iter()
            .any(|v| present(v).is_some_and(|v| v != "all"))
    }

    /// The list's URL for this query.
    pub fn href(&self) -> String {
        href_with(
            &at("/settings/crm/sync-activity"),
            &[
                ("direction", self.direction.as_deref()),
                ("object", self.object.as_deref()),
                ("from", self.from.as_deref()),
                ("to", self.to.as_deref()),
                ("tz", self.tz.as_deref().filter(|_| self.from.is_some() || self.to.is_some())),
                ("status", self.status.as_deref()),
                ("message", self.message.as_deref()),
                ("before", self.before.as_deref()),
                ("after", self.after.as_deref()),
            ],
        )
    }

    /// The same filters, back on the first page.
    pub fn first_page(&self) -> Self {
        Self { before: None, after: None, ..self.clone() }
    }
}

#[cfg(test)]
mod href_tests {
    use super::*;

    #[test]
    fn hrefs_encode_values_and_skip_empty_ones() {
        let q = RunsQuery {
            direction: Some("inbound".into()),
            from: Some("2026-11-01".into()),
            tz: Some("+05:30".into()),
            ..Default::default()
        };
        assert_eq!(
            q.href(),
            "/settings/crm/sync-activity?direction=inbound&from=2026-11-01&tz=%2B05%3A30"
        );
        assert!(q.has_filters());
        assert_eq!(RunsQuery::default().href(), "/settings/crm/sync-activity");
        assert!(!RunsQuery { direction: Some("all".into()), ..Default::default() }.has_filters());
    }

    #[test]
    fn times_in_utc_is_read_from_the_query() {
        assert!(query_times_in_utc("times=utc"));
        assert!(query_times_in_utc("direction=inbound&times=UTC"));
        assert!(!query_times_in_utc("times=local"));
        assert!(!query_times_in_utc(""));
        assert!(!query_times_in_utc("sometimes=utc"));
    }

    #[test]
    fn workspace_addresses_split_into_the_workspace_and_the_rest() {
        assert_eq!(split_workspace("/w/acme/settings/crm"), Some(("acme", "/settings/crm")));
        assert_eq!(split_workspace("/w/acme"), Some(("acme", "/")));
        assert_eq!(split_workspace("/w/acme/"), Some(("acme", "/")));
        for outside in ["/w/", "/w//x", "/settings/crm", "/wx/acme", "/"] {
            assert_eq!(split_workspace(outside), None, "{outside}");
        }
        assert_eq!(in_workspace("acme", "/settings/crm"), "/w/acme/settings/crm");
    }
}

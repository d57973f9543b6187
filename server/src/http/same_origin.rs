//! Changes come only from this product's own pages, or from scripts with an API token. A browser
//! sends `Origin` with every POST, PUT, PATCH and DELETE, and `Sec-Fetch-Site` with every
//! request; a change from another site (a page elsewhere submitting a form to Disconnect, or to
//! the sync settings) is refused before it reaches a handler, by either header. A change with
//! neither header is not a browser's: it must carry an API token (`Authorization`), so a
//! session cookie lifted from a browser does not make changes from a script.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `axum::middleware::from_fn` over the router.
pub async fn refuse_cross_site_changes(request: Request, next: Next) -> Response {
    if is_change(request.method()) {
        if let Some(refusal) = refusal(&request) {
            let body = serde_json::json!({ "error": refusal });
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
    }
    next.run(request).await
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why the change is refused, or `None` when it may go on. `Sec-Fetch-Site`, when the browser
/// sends it, is `same-origin` (or `none`: typed or bookmarked); `Origin`, when sent, has the
/// host and port the request was sent to (`Host`); a request with neither carries a token.
fn refusal(request: &Request) -> Option<&'static str> {
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
        return Some(CROSS_SITE);
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        let token = headers.get(header::AUTHORIZATION).is_some_and(super::auth::is_bearer);
        if fetch_site.is_none() && !token {
            return Some(NO_TOKEN);
        }
        return None;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => None,
        _ => Some(CROSS_SITE),
    }
}

const CROSS_SITE: &str = "This change did not come from this site's pages and was refused.";
const NO_TOKEN: &str = "A change from a script needs an API token (Authorization: Bearer …; see docs/API.md), or must come from this site's pages.";

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    async fn status(method: Method, origin: Option<&str>) -> StatusCode {
        status_with(method, origin, None).await
    }

    async fn status_with(method: Method, origin: Option<&str>, site: Option<&str>) -> StatusCode {
        status_of(method, origin, site, None).await
    }

    async fn status_of(
        method: Method,
        origin: Option<&str>,
        site: Option<&str>,
        authorization: Option<&str>,
    ) -> StatusCode {
        let app = Router::new()
            .route(
                "/settings/crm/salesforce/disconnect",
                post(|| async { "done" }).get(|| async { "page" }),
            )
            .layer(axum::middleware::from_fn(refuse_cross_site_changes));
        let mut req = Request::builder()
            .method(method)
            .uri("/settings/crm/salesforce/disconnect")
            .header(header::HOST, "127.0.0.1:3000");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn another_sites_form_cannot_change_anything() {
        assert_eq!(status(Method::POST, Some("http://127.0.0.1:3000")).await, StatusCode::OK);
        assert_eq!(status(Method::POST, None).await, StatusCode::FORBIDDEN, "no Origin, no token");
        let token = Some("Bearer cvs_x");
        assert_eq!(
            status_of(Method::POST, None, None, token).await,
            StatusCode::OK,
            "a script's token"
        );
        assert_eq!(status(Method::POST, Some("https://evil.example")).await, StatusCode::FORBIDDEN);
        assert_eq!(
            status(Method::POST, Some("http://127.0.0.1:3001")).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(status(Method::POST, Some("null")).await, StatusCode::FORBIDDEN);
        assert_eq!(
            status(Method::GET, Some("https://evil.example")).await,
            StatusCode::OK,
            "reads are not changes"
        );
    }

    #[tokio::test]
    async fn a_browser_saying_the_change_comes_from_another_site_is_refused() {
        let (post, ours) = (Method::POST, Some("http://127.0.0.1:3000"));
        assert_eq!(status_with(post.clone(), ours, Some("same-origin")).await, StatusCode::OK);
        for site in ["cross-site", "same-site"] {
            assert_eq!(status_with(post.clone(), None, Some(site)).await, StatusCode::FORBIDDEN);
            assert_eq!(status_with(post.clone(), ours, Some(site)).await, StatusCode::FORBIDDEN);
        }
        assert_eq!(status_with(Method::GET, None, Some("cross-site")).await, StatusCode::OK);
    }
}

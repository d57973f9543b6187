//! The site on the wire: how the Wasm, JS and CSS reach the browser, and how every answer travels.
//!
//! - The files under `/pkg` carry a hash of their content in their names (cargo-leptos's
//!   `hash-files`), so a browser keeps them for a year without asking again
//!   (`Cache-Control: public, max-age=31536000, immutable`), and a new build is new names.
//! - Pages and the JSON API say `no-cache`: the browser asks every time, so a reader always sees
//!   the runs as they are now.
//! - Everything worth compressing goes out compressed, brotli or gzip as the browser accepts. A
//!   release build's files go as brotli precompressed at its best (`cargo leptos build --release
//!   --precompress` writes a `.br` beside each one); the rest, and gzip, as it is sent.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use leptos::prelude::LeptosOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// For a file whose name changes with its content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For everything else: kept, but checked with the server before each use.
pub const NO_CACHE: &str = "no-cache";

/// Below this, compression saves a few bytes at most and its header costs some (a poll that
/// changes nothing answers in about 30 bytes).
const MIN_COMPRESSED_SIZE: u16 = 256;

/// The names of this build's files, found once at start.
#[derive(Clone, Debug)]
pub struct Assets {
    /// `/pkg/`: where the built files are served.
    pkg_prefix: Arc<str>,
    /// `/pkg/sync-activity.<hash>.css`
    stylesheet: Arc<str>,
}

impl Assets {
    /// Reads the hash file cargo-leptos writes beside the server binary and sets
    /// `options.hash_files` to what the site holds. cargo-leptos says whether names are hashed
    /// (`LEPTOS_HASH_FILES`) when it runs the server itself; started on its own (the browser tests,
    /// the benchmarks, a deployment) the server finds out from the files. Hashed names are used
    /// only when the hash file names a stylesheet the site has: Leptos's scripts and stylesheet
    /// tags panic or point nowhere otherwise.
    pub fn find(options: &mut LeptosOptions) -> Assets {
        let wanted = std::env::var("LEPTOS_HASH_FILES").map_or(true, |v| v != "false");
        let hash_file = hash_file_path(options);
        let hashes = if wanted {
            std::fs::read_to_string(&hash_file).ok().map(|text| parse_hashes(&text))
        } else {
            None
        };
        let pkg_dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
        let css = hashes
            .as_ref()
            .and_then(|h| h.css.as_ref())
            .map(|hash| format!("{}.{hash}.css", options.output_name));
        options.hash_files = match css {
            Some(ref name) if pkg_dir.join(name).is_file() => true,
            Some(ref name) => {
                tracing::warn!(
                    hash_file = %hash_file.display(),
                    missing = %pkg_dir.join(name).display(),
                    "the hash file names a stylesheet the site does not have (a site from another build?): serving unhashed names; rebuild with cargo leptos build"
                );
                false
            }
            None => false,
        };
        let css_name = match css {
            Some(name) if options.hash_files => name,
            _ => format!("{}.css", options.output_name),
        };
        let pkg_prefix: Arc<str> = format!("/{}/", options.site_pkg_dir.trim_matches('/')).into();
        Assets { stylesheet: format!("{pkg_prefix}{css_name}").into(), pkg_prefix }
    }

    /// The stylesheet's address, for pages rendered outside Leptos.
    pub fn stylesheet(&self) -> &str {
        &self.stylesheet
    }
}

impl Default for Assets {
    /// The unhashed names of a build without `hash-files`.
    fn default() -> Assets {
        Assets { pkg_prefix: "/pkg/".into(), stylesheet: "/pkg/sync-activity.css".into() }
    }
}

/// The site's names for a handler that renders its own HTML: as found at start, or the unhashed
/// names when the routes run without [`serve`] around them (some tests).
impl<S: Send + Sync> FromRequestParts<S> for Assets {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Assets, Self::Rejection> {
        Ok(parts.extensions.get::<Assets>().cloned().unwrap_or_default())
    }
}

/// Where Leptos looks for the hash file: beside the running binary.
fn hash_file_path(options: &LeptosOptions) -> PathBuf {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    dir.join(options.hash_file.as_ref())
}

/// The hashes cargo-leptos wrote, one `extension: hash` a line.
#[derive(Debug, Default, PartialEq)]
struct Hashes {
    css: Option<String>,
}

fn parse_hashes(text: &str) -> Hashes {
    let mut hashes = Hashes::default();
    for (kind, hash) in text.lines().filter_map(|line| line.split_once(':')) {
        if kind.trim() == "css" && !hash.trim().is_empty() {
            hashes.css = Some(hash.trim().to_string());
        }
    }
    hashes
}

/// Whether a file name carries cargo-leptos's content hash: `name.<hash>.ext`, the hash being an
/// MD5 in unpadded base64url (22 characters).
pub fn is_hashed(file_name: &str) -> bool {
    let mut parts = file_name.rsplit('.');
    let (Some(ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !ext.is_empty()
        && !stem.is_empty()
        && hash.len() == 22
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A page of its own outside the app (the sign-in layer's and the Connect flow's dead ends, an
/// invitation, the workspace chooser): the site's head and stylesheet, `inner` in a `<main>` of
/// class `main_class`.
pub fn document(site: &Assets, title: &str, main_class: &str, inner: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · Conversion</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><main class=\"{main_class}\">{inner}</main></body></html>",
        site.stylesheet()
    )
}

/// Serves the built files under `/pkg` (with the router's other routes, the site's remaining
/// files, like the favicon, still come from Leptos's file handler), sets `Cache-Control` on every
/// answer and compresses them.
pub fn serve(router: Router, options: &LeptosOptions, assets: Assets) -> Router {
    // A precompressed `.br` beside a file is sent as it is; without one (a debug build) the
    // compression layer below compresses the file as it goes out. So is gzip: cargo-leptos's
    // `.gz` (libflate) makes the release Wasm 328 KB where zlib's level 6 makes 282 KB, and a
    // browser fetches each build's file once.
    let files = ServeDir::new(options.site_root.as_ref()).precompressed_br();
    let compressible = SizeAbove::new(MIN_COMPRESSED_SIZE)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        // A compressed stream waits for its end before it is sent (tower-http#292); every page
        // here renders whole (`SsrMode::Async`) and every poll is one short answer, so only
        // event streams, should any appear, would suffer.
        .and(NotForContentType::SSE);
    router
        .route_service(&format!("{}{{*path}}", assets.pkg_prefix), files)
        .layer(axum::middleware::from_fn_with_state(assets, cache_control))
        .layer(CompressionLayer::new().compress_when(compressible))
}

/// Sets `Cache-Control` and `Vary: accept-encoding` where the answer depends on it (the built
/// files, and any precompressed file, which tower-http's ServeDir sends without it), and hands
/// the request the site's file names.
async fn cache_control(State(assets): State<Assets>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(assets.clone());
    let mut response = next.run(request).await;
    let built_file = path.strip_prefix(assets.pkg_prefix.as_ref());
    let status = response.status();
    let policy = cache_policy(built_file, status);
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) || policy == IMMUTABLE {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    if (built_file.is_some() && status != StatusCode::NOT_FOUND)
        || headers.contains_key(header::CONTENT_ENCODING)
    {
        vary_on_accept_encoding(headers);
    }
    response
}

/// `built_file`: the path under `/pkg/`, when the request was for a built file.
fn cache_policy(built_file: Option<&str>, status: StatusCode) -> &'static str {
    let keep =
        matches!(status, StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT);
    match built_file {
        Some(file) if keep && is_hashed(file.rsplit('/').next().unwrap_or(file)) => IMMUTABLE,
        _ => NO_CACHE,
    }
}

fn vary_on_accept_encoding(headers: &mut HeaderMap) {
    let already = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !already {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_cargo_leptos_names() {
        assert!(is_hashed("sync-activity.Yx3fQ0kBv2c_WnA-1ZpQhw.wasm"));
        assert!(is_hashed("sync-activity.Yx3fQ0kBv2c_WnA-1ZpQhw.css"));
        assert!(!is_hashed("sync-activity.wasm"));
        assert!(!is_hashed("sync-activity_bg.wasm"));
        assert!(!is_hashed("sync-activity.short.js"));
        assert!(!is_hashed("sync-activity.Yx3fQ0kBv2c_WnA+1ZpQhw.js"), "not base64url");
        assert!(!is_hashed(".Yx3fQ0kBv2c_WnA-1ZpQhw.js"), "no stem");
        assert!(!is_hashed("Yx3fQ0kBv2c_WnA-1ZpQhw.js"), "no stem");
    }

    #[test]
    fn only_hashed_built_files_are_kept_for_a_year() {
        let hashed = Some("sync-activity.Yx3fQ0kBv2c_WnA-1ZpQhw.wasm");
        assert_eq!(cache_policy(hashed, StatusCode::OK), IMMUTABLE);
        assert_eq!(cache_policy(hashed, StatusCode::NOT_MODIFIED), IMMUTABLE);
        assert_eq!(
            cache_policy(hashed, StatusCode::NOT_FOUND),
            NO_CACHE,
            "a name from another build"
        );
        assert_eq!(cache_policy(Some("sync-activity.wasm"), StatusCode::OK), NO_CACHE);
        assert_eq!(cache_policy(Some("snippets/x-1/inline0.js"), StatusCode::OK), NO_CACHE);
        assert_eq!(cache_policy(None, StatusCode::OK), NO_CACHE, "pages and the API");
    }

    #[test]
    fn the_hash_file_names_the_stylesheet() {
        let text = "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";
        assert_eq!(parse_hashes(text).css.as_deref(), Some("CCCCCCCCCCCCCCCCCCCCCC"));
        assert_eq!(parse_hashes("js: A\n").css, None);
        assert_eq!(parse_hashes("").css, None);
    }

    #[test]
    fn vary_is_added_once() {
        let mut headers = HeaderMap::new();
        vary_on_accept_encoding(&mut headers);
        vary_on_accept_encoding(&mut headers);
        assert_eq!(headers.get_all(header::VARY).iter().count(), 1);
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("origin, Accept-Encoding"));
        vary_on_accept_encoding(&mut headers);
        assert_eq!(headers.get_all(header::VARY).iter().count(), 1);
    }
}

//! What the browser downloads, over real HTTP from the `server` binary: the built files under
//! hashed names, compressed (brotli or gzip, as asked) and kept for a year; pages and the JSON API
//! compressed and never kept without asking. The site is a temporary one laid out as
//! `cargo leptos build` lays it out (`hash-files`, and `--precompress` for the Wasm), so this test
//! needs no Wasm build.

use app::domain::{Direction, ObjectType, RecordAction, RecordStatus, Trigger};
use app::store::{self, NewRecord, NewRun, WorkspaceId};
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, IF_MODIFIED_SINCE,
    LAST_MODIFIED, VARY,
};
use reqwest::StatusCode;
use std::io::{Read, Write};
use std::path::Path;

mod common;
use common::ServerProcess;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const JS_HASH: &str = "Jq1Vb7cS0qG2kYdTn4xw8A";
const WASM_HASH: &str = "W9mZ-xPq3Lr_aT5eN2cH7g";
const CSS_HASH: &str = "Cz8yUf0Rk6Bv1Xo-Hs4m_Q";

/// Contents that compress about as well as the real ones: text for the JS and CSS, and for the
/// Wasm a mix of repeated structure and noise.
fn js() -> Vec<u8> {
    (0..400)
        .map(|i| format!("export function island_{i}(props) {{ return hydrate(props, {i}); }}\n"))
        .collect::<String>()
        .into_bytes()
}
fn css() -> Vec<u8> {
    (0..300).map(|i| format!(".run-row--{i} td {{ padding: 0.5rem 0.75rem; border-bottom: 1px solid #eaecf0; }}\n")).collect::<String>().into_bytes()
}
fn wasm() -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    let mut x: u32 = 0x9e37_79b9;
    for i in 0..120_000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(if i % 8 == 0 { (x & 0xff) as u8 } else { (i % 61) as u8 });
    }
    bytes
}

fn favicon() -> Vec<u8> {
    let circles: String = (0..12)
        .map(|i| format!("<circle cx=\"{}\" cy=\"16\" r=\"2\" fill=\"#1570ef\"/>", 2 + i * 2))
        .collect();
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">{circles}</svg>")
        .into_bytes()
}

/// The site as `cargo leptos build --release --precompress` with `hash-files` leaves it, and the
/// hash file it writes beside the binary (here beside the site; `LEPTOS_HASH_FILE_NAME` points
/// at it). Only the Wasm has its `.br` and `.gz`: the JS and CSS show compression as they go out.
/// The `.gz` is not sent (the server's gzip does better than cargo-leptos's); it is here to show
/// it does no harm.
fn lay_out_site(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let site = dir.join("site");
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join(format!("sync-activity.{JS_HASH}.js")), js()).unwrap();
    std::fs::write(pkg.join(format!("sync-activity.{CSS_HASH}.css")), css()).unwrap();
    let wasm_name = format!("sync-activity.{WASM_HASH}.wasm");
    std::fs::write(pkg.join(&wasm_name), wasm()).unwrap();
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &wasm()[..], &mut br, &brotli::enc::BrotliEncoderParams::default())
        .unwrap();
    std::fs::write(pkg.join(format!("{wasm_name}.br")), br).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm()).unwrap();
    std::fs::write(pkg.join(format!("{wasm_name}.gz")), gz.finish().unwrap()).unwrap();
    // A file of the site's root (from `public/`), precompressed like every file of a release site.
    std::fs::write(site.join("favicon.svg"), favicon()).unwrap();
    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut &favicon()[..],
        &mut br,
        &brotli::enc::BrotliEncoderParams::default(),
    )
    .unwrap();
    std::fs::write(site.join("favicon.svg.br"), br).unwrap();
    let hash_file = dir.join("hash.txt");
    std::fs::write(&hash_file, format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"))
        .unwrap();
    (site, hash_file)
}

/// A few runs, so the list and its JSON are worth compressing.
async fn seed(db: &Path) {
    let pool = common::open_location(db).await;
    let ws = WorkspaceId("acme".into());
    let now = chrono::Utc::now().timestamp_millis();
    store::ensure_workspace(&pool, &ws, "Acme Inc.", now - 10_000_000).await.unwrap();
    for i in 0..6i64 {
        let started_at = now - 3_600_000 * (6 - i);
        let run = NewRun {
            direction: Direction::Inbound,
            object_type: ObjectType::Contact,
            trigger: Trigger::Scheduled,
            started_at,
            expected_total: None,
        };
        let id = store::begin_run(&pool, &ws, &run).await.unwrap();
        let record = NewRecord {
            status: RecordStatus::Success,
            action: RecordAction::Updated,
            message: None,
            detail: None,
            salesforce_id: Some("0035g00000AbCdEAAV".into()),
            conversion_id: Some(format!("con_{i}")),
            label: Some(format!("person{i}@example.com")),
            external_created_at: Some(started_at - 1_000),
            external_updated_at: Some(started_at - 500),
        };
        store::append_records(&pool, &ws, id, &[record]).await.unwrap();
        store::finish_run(&pool, &ws, id, started_at + 2_000).await.unwrap();
    }
    pool.close().await;
}

/// An answer as it came over the wire.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers.get(&name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    /// The body with its `Content-Encoding` undone.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header(CONTENT_ENCODING) {
            "br" => {
                brotli::BrotliDecompress(&mut &self.body[..], &mut out).expect("valid brotli");
            }
            "gzip" => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("valid gzip");
            }
            "" => out.clone_from(&self.body),
            other => panic!("unexpected Content-Encoding {other}"),
        }
        out
    }
}

/// reqwest here decodes nothing (no compression features), so the bytes are the wire's.
async fn get(http: &reqwest::Client, url: &str, accept_encoding: Option<&str>) -> Answer {
    let mut request = http.get(url);
    if let Some(encodings) = accept_encoding {
        request = request.header(ACCEPT_ENCODING, encodings);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Answer { status, headers, body: response.bytes().await.unwrap().to_vec() }
}

#[tokio::test]
async fn built_files_are_hashed_compressed_and_kept_pages_and_api_are_compressed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (site, hash_file) = lay_out_site(dir.path());
    let db = dir.path().join("sync.db");
    seed(&db).await;
    let server = ServerProcess::start(
        &db,
        dir.path(),
        &["--demo", "false"],
        &[
            ("LEPTOS_SITE_ROOT", site.to_str().unwrap()),
            ("LEPTOS_HASH_FILE_NAME", hash_file.to_str().unwrap()),
        ],
    )
    .await;
    let http = server.signed_in().await;
    let chromium = Some("gzip, deflate, br, zstd");

    // The page: compressed, never used again without asking, naming the hashed files.
    let page = get(&http, &format!("{}/settings/crm/sync-activity", server.base), chromium).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header(CONTENT_ENCODING), "br");
    assert_eq!(page.header(CACHE_CONTROL), "no-cache");
    let html = String::from_utf8(page.decoded()).unwrap();
    assert_eq!(html.matches("data-run-id=").count(), 6, "the page lists the six runs: {html}");
    let assets = [
        (format!("/pkg/sync-activity.{WASM_HASH}.wasm"), wasm()),
        (format!("/pkg/sync-activity.{JS_HASH}.js"), js()),
        (format!("/pkg/sync-activity.{CSS_HASH}.css"), css()),
    ];
    for (path, _) in &assets {
        assert!(
            html.contains(&format!("\"{path}\"")) || html.contains(&format!("{path}\"")),
            "the page names {path}: {html}"
        );
    }
    assert!(
        !html.contains("/pkg/sync-activity.css") && !html.contains("/pkg/sync-activity.js"),
        "no unhashed names: {html}"
    );

    // Each built file, in each encoding, equals the file, and is kept for a year.
    for (path, file) in &assets {
        let url = format!("{}{path}", server.base);
        for (asked, sent) in [
            (chromium, "br"),
            (Some("br"), "br"),
            (Some("gzip"), "gzip"),
            (Some("identity"), ""),
            (None, ""),
        ] {
            let a = get(&http, &url, asked).await;
            assert_eq!(a.status, StatusCode::OK, "{path} with {asked:?}");
            assert_eq!(a.header(CONTENT_ENCODING), sent, "{path} with {asked:?}");
            assert_eq!(a.header(CACHE_CONTROL), IMMUTABLE, "{path} with {asked:?}");
            assert!(
                a.header(VARY).to_ascii_lowercase().contains("accept-encoding"),
                "{path} with {asked:?}: Vary {:?}",
                a.header(VARY)
            );
            assert!(
                a.decoded() == *file,
                "{path} with {asked:?}: the decoded bytes are the file's"
            );
            if !sent.is_empty() {
                assert!(
                    a.body.len() < file.len(),
                    "{path} with {asked:?}: {} bytes sent for {}",
                    a.body.len(),
                    file.len()
                );
            }
        }
    }

    // The Wasm's precompressed brotli is sent as it is (built once, at brotli's best).
    let wasm_path = site.join(format!("pkg/sync-activity.{WASM_HASH}.wasm"));
    let a = get(&http, &format!("{}/pkg/sync-activity.{WASM_HASH}.wasm", server.base), Some("br"))
        .await;
    let precompressed = std::fs::read(wasm_path.with_extension("wasm.br")).unwrap();
    assert!(a.body == precompressed, "the .br file as built");
    assert_eq!(a.header(CONTENT_LENGTH), precompressed.len().to_string());

    // A file that is not built (unhashed name) is sent precompressed too, but checked each time.
    let icon = get(&http, &format!("{}/favicon.svg", server.base), chromium).await;
    assert_eq!(
        (icon.status, icon.header(CONTENT_ENCODING), icon.header(CACHE_CONTROL)),
        (StatusCode::OK, "br", "no-cache")
    );
    assert!(
        icon.header(VARY).to_ascii_lowercase().contains("accept-encoding"),
        "Vary {:?}",
        icon.header(VARY)
    );
    assert!(icon.decoded() == favicon());

    // A browser that asks again anyway is told nothing changed, and still to keep it.
    let first = get(&http, &format!("{}{}", server.base, assets[1].0), chromium).await;
    let again = http
        .get(format!("{}{}", server.base, assets[1].0))
        .header(IF_MODIFIED_SINCE, first.header(LAST_MODIFIED))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[CACHE_CONTROL], IMMUTABLE);

    // A name from another build is not there, and that answer is not kept.
    let gone = get(
        &http,
        &format!("{}/pkg/sync-activity.AAAAAAAAAAAAAAAAAAAAAA.js", server.base),
        chromium,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.header(CACHE_CONTROL), "no-cache");

    // The JSON API and its live poll: compressed when worth it, never kept, valid JSON.
    for (path, asked, sent) in [
        ("/api/runs", chromium, "br"),
        ("/api/runs", Some("gzip"), "gzip"),
        ("/api/runs", None, ""),
        ("/api/runs/poll?watch=", chromium, ""),
    ] {
        let a = get(&http, &format!("{}{path}", server.base), asked).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header(CONTENT_ENCODING), sent, "{path} with {asked:?}");
        assert_eq!(a.header(CACHE_CONTROL), "no-cache", "{path}");
        let body: serde_json::Value = serde_json::from_slice(&a.decoded())
            .unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
        if path == "/api/runs" {
            assert_eq!(body["runs"].as_array().unwrap().len(), 6, "{path}: {body}");
        }
    }

    // A page the server writes by hand (Connect on a server without Salesforce) uses the
    // hashed stylesheet too.
    let dead_end =
        get(&http, &format!("{}/settings/crm/salesforce/connect", server.base), chromium).await;
    assert_eq!(dead_end.status, StatusCode::SERVICE_UNAVAILABLE);
    let html = String::from_utf8(dead_end.decoded()).unwrap();
    assert!(html.contains(&format!("href=\"/pkg/sync-activity.{CSS_HASH}.css\"")), "{html}");
}

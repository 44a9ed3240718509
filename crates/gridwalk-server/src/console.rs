//! The officer console's static files (docs/console.md): `console/dist` built by the
//! repo's scripts, served at `/console/` with the headers a page holding a session
//! needs. The console is a thin client over the `/v1/` API; nothing here knows data.

use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// Where the console is served.
pub const PREFIX: &str = "/console";

/// Map tiles may come from the configured tile server; everything else from here.
/// (`'unsafe-inline'` styles: the map library sets element styles.)
const CSP: &str = "default-src 'self'; img-src 'self' data: blob: https:; \
    style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
    worker-src 'self' blob:; font-src 'self' data:; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The directory the console is served from when none is configured: `console/` next
/// to the server binary (an install), else the repository's `console/dist` (a build in
/// the source tree). `None` when neither holds an `index.html`.
pub fn default_dir() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("console")));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../console/dist");
    beside
        .into_iter()
        .chain(std::iter::once(source))
        .find(|d| d.join("index.html").is_file())
}

/// The console's routes: `/` and `/console` redirect to `/console/`; files under it
/// come from `dir`. Without a built console, a page says how to build it.
pub fn routes(dir: Option<PathBuf>) -> Router {
    let to_console = || async {
        (
            StatusCode::FOUND,
            [(LOCATION, HeaderValue::from_static("/console/"))],
        )
    };
    let router = Router::new()
        .route("/", get(to_console))
        .route(PREFIX, get(to_console));
    let router = match dir.filter(|d| d.join("index.html").is_file()) {
        Some(dir) => router.nest_service(
            "/console/",
            ServeDir::new(dir).append_index_html_on_directories(true),
        ),
        None => router
            .route("/console/", get(not_built))
            .route("/console/{*rest}", get(not_built)),
    };
    router.layer(axum::middleware::from_fn(headers))
}

async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><meta charset=\"utf-8\"><title>网格巡查 · 控制台</title>\
         <p>控制台尚未构建。请运行 <code>scripts/run</code>，或在仓库中执行 \
         <code>(cd console &amp;&amp; npm install &amp;&amp; npm run build)</code> 后重启服务器。</p>\
         <p>The console is not built: run scripts/run, or build console/ and restart.</p>",
    )
        .into_response()
}

/// Security headers on every console response; the page itself is never cached (it
/// names the current assets), hashed assets are cached for good.
async fn headers(req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut resp = next.run(req).await;
    let ok = resp.status().is_success();
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let cache = if path.starts_with("/console/assets/") && ok {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get(router: &Router, path: &str) -> Response {
        router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response")
    }

    #[tokio::test]
    async fn serves_the_built_console_with_its_headers() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("assets")).expect("assets");
        std::fs::write(dir.path().join("index.html"), "<!doctype html>控制台").expect("index");
        std::fs::write(dir.path().join("assets/app-1a2b.js"), "1").expect("asset");
        let router = routes(Some(dir.path().to_path_buf()));

        let root = get(&router, "/").await;
        assert_eq!(root.status(), StatusCode::FOUND);
        assert_eq!(root.headers()[LOCATION], "/console/");
        assert_eq!(get(&router, "/console").await.status(), StatusCode::FOUND);

        let page = get(&router, "/console/").await;
        assert_eq!(page.status(), StatusCode::OK);
        let h = page.headers();
        assert!(
            h[CONTENT_SECURITY_POLICY].to_str().is_ok_and(
                |v| v.contains("frame-ancestors 'none'") && v.contains("script-src 'self'")
            )
        );
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[CACHE_CONTROL], "no-cache");
        let asset = get(&router, "/console/assets/app-1a2b.js").await;
        assert_eq!(asset.status(), StatusCode::OK);
        assert!(asset.headers()[CACHE_CONTROL]
            .to_str()
            .is_ok_and(|v| v.contains("immutable")));
        // Nothing outside the directory.
        let escape = get(&router, "/console/../Cargo.toml").await;
        assert_ne!(escape.status(), StatusCode::OK);
        // A missing asset is not cached for good.
        let missing = get(&router, "/console/assets/gone-0000.js").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[CACHE_CONTROL], "no-cache");
    }

    #[tokio::test]
    async fn says_how_to_build_a_console_that_is_not_built() {
        let empty = tempfile::tempdir().expect("dir");
        for router in [routes(None), routes(Some(empty.path().to_path_buf()))] {
            let page = get(&router, "/console/").await;
            assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body = axum::body::to_bytes(page.into_body(), 1 << 16)
                .await
                .expect("body");
            assert!(String::from_utf8_lossy(&body).contains("控制台尚未构建"));
            assert_eq!(
                get(&router, "/console/assets/x.js").await.status(),
                StatusCode::SERVICE_UNAVAILABLE
            );
        }
    }
}

//! The OpenAPI document tells the truth about the router, and every error the server
//! sends is a problem document (`application/problem+json`).

mod common;

use common::*;
use gridwalk_protocol::Problem;
use gridwalk_server::http::ROUTES;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

async fn start() -> Harness {
    Harness::start(Db::Sqlite).await.expect("sqlite harness")
}

async fn document(h: &Harness) -> Value {
    let r = h
        .http
        .get(h.url("/openapi.json"))
        .send()
        .await
        .expect("get /openapi.json");
    assert_eq!(r.status(), 200);
    r.json().await.expect("openapi json")
}

/// Every operation of the document: (METHOD, path) → operation object.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("paths object");
    for (path, item) in paths {
        for m in OPENAPI_METHODS {
            if let Some(op) = item.get(*m) {
                ops.insert((m.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    ops
}

fn routes() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

/// `{id}` (any path parameter) filled with a random UUID.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&uuid::Uuid::new_v4().to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Asserts the answer is a problem document with `status` and `code`; returns it.
async fn assert_problem(r: reqwest::Response, status: u16, code: &str) -> Problem {
    assert_eq!(r.status().as_u16(), status, "status");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "application/problem+json", "content type");
    let text = r.text().await.expect("body");
    let p: Problem = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not a problem document ({e}): {text}"));
    assert_eq!(p.status, status, "problem status: {text}");
    assert_eq!(p.code.as_str(), code, "problem code: {text}");
    assert_eq!(p.type_uri, format!("urn:gridwalk:problem:{code}"));
    p
}

/// The document's operations are exactly the router's routes (implicit `HEAD` on `GET`
/// routes is not an operation of its own), tus and health included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_routes() {
    let h = start().await;
    let doc = document(&h).await;
    let documented: BTreeSet<_> = operations(&doc).into_keys().collect();
    let served = routes();
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in ROUTES"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in ROUTES but not documented"
    );
    for needed in [
        ("GET", "/v1/health"),
        ("GET", "/openapi.json"),
        ("OPTIONS", "/v1/photos"),
        ("POST", "/v1/photos"),
        ("PATCH", "/v1/photos/{id}"),
        ("HEAD", "/v1/photos/{id}"),
        ("DELETE", "/v1/photos/{id}"),
    ] {
        assert!(
            served.contains(&(needed.0.to_string(), needed.1.to_string())),
            "{needed:?} missing"
        );
    }
    h.stop().await;
}

/// Every security requirement names a scheme of `components.securitySchemes`; the
/// authenticated operations require `bearer` (HTTP bearer), `/metrics` the scraper's
/// `metrics_token`, the public ones nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_security_requirement_names_a_defined_scheme() {
    let h = start().await;
    let doc = document(&h).await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(schemes["bearer"]["type"], "http", "{schemes:?}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes:?}");
    let mut requirements: Vec<Value> = doc["security"].as_array().cloned().unwrap_or_default();
    for ((method, path), op) in operations(&doc) {
        let reqs = op["security"].as_array().cloned().unwrap_or_default();
        let names: BTreeSet<String> = reqs
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().cloned())
            .collect();
        if PUBLIC_OPERATIONS.contains(&(method.as_str(), path.as_str())) {
            assert!(names.is_empty(), "{method} {path} is public: {reqs:?}");
        } else if (method.as_str(), path.as_str()) == ("GET", "/metrics") {
            // The scraper's own token, never a device token or a session.
            assert_eq!(names, BTreeSet::from(["metrics_token".to_string()]));
        } else {
            assert_eq!(
                names,
                BTreeSet::from(["bearer".to_string()]),
                "{method} {path} needs the bearer token"
            );
        }
        requirements.extend(reqs);
    }
    for req in requirements {
        for name in req.as_object().expect("requirement object").keys() {
            assert!(schemes.contains_key(name), "scheme '{name}' undefined");
        }
    }
    h.stop().await;
}

/// Every 4XX/5XX response is declared as `application/problem+json` with the `Problem`
/// schema, never as `application/json`; every operation declares both classes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_response_is_declared_as_a_problem_document() {
    let h = start().await;
    let doc = document(&h).await;
    assert!(
        doc["components"]["schemas"]["Problem"].is_object(),
        "Problem schema missing"
    );
    for ((method, path), op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('4')),
            "{method} {path}: no 4XX response"
        );
        assert!(
            responses.keys().any(|k| k.starts_with('5')),
            "{method} {path}: no 5XX response"
        );
        for (status, resp) in responses {
            if !(status.starts_with('4') || status.starts_with('5') || status == "default") {
                continue;
            }
            let content = resp["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} {status}: no content"));
            let types: Vec<&String> = content.keys().collect();
            assert_eq!(
                types,
                vec!["application/problem+json"],
                "{method} {path} {status}"
            );
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
    h.stop().await;
}

/// Each route of `ROUTES`, requested with its method (no token, parameters filled with a
/// random UUID), reaches a handler rather than the fallbacks; each path refuses another
/// method with a 405 whose `Allow` lists exactly the `ROUTES` methods (plus the `HEAD`
/// axum adds to `GET`). A `ROUTES` entry the router does not serve fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_route_is_served_by_the_router() {
    let h = start().await;
    let mut by_path: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (method, path) in ROUTES {
        let set = by_path.entry(path).or_default();
        set.insert(method.to_string());
        if *method == "GET" {
            set.insert("HEAD".to_string());
        }
    }
    for (path, methods) in &by_path {
        // A public lookup answers 404 for an unknown id from its handler (its body says
        // so); its HEAD then is 404 too, with no body to tell (methods go GET, HEAD).
        let mut get_found_nothing = false;
        for method in methods {
            let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let r = h
                .http
                .request(m, h.url(&concrete(path)))
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path} not routed: {body}");
            if method == "HEAD" {
                if !get_found_nothing {
                    assert_ne!(status, 404, "{method} {path} not routed");
                }
            } else if status == 404 {
                get_found_nothing = method == "GET";
                assert_ne!(
                    body["detail"], "no such endpoint",
                    "{method} {path} fell through to the fallback"
                );
            }
        }
        let probe = ["PUT", "TRACE"]
            .into_iter()
            .find(|m| !methods.contains(*m))
            .expect("a method the path does not take");
        let m = reqwest::Method::from_bytes(probe.as_bytes()).expect("method");
        let r = h
            .http
            .request(m, h.url(&concrete(path)))
            .send()
            .await
            .expect("send");
        let allow: BTreeSet<String> = r
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(&allow, methods, "Allow of {path}");
        assert_problem(r, 405, "method_not_allowed").await;
    }
    h.stop().await;
}

/// An unknown path is a 404 `not_found` problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_a_not_found_problem() {
    let h = start().await;
    let r = h.http.get(h.url("/v1/nope")).send().await.expect("send");
    assert_eq!(
        r.headers()["gridwalk-protocol"],
        gridwalk_protocol::PROTOCOL_VERSION.to_string().as_str()
    );
    assert_problem(r, 404, "not_found").await;
    h.stop().await;
}

/// A known path with another method is a 405 `method_not_allowed` problem with `Allow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_a_method_not_allowed_problem_with_allow() {
    let h = start().await;
    let r = h
        .http
        .delete(h.url("/v1/sync/push"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["allow"], "POST");
    let p = assert_problem(r, 405, "method_not_allowed").await;
    assert!(p.detail.contains("DELETE"), "{}", p.detail);
    h.stop().await;
}

/// `?limit=abc` is a 400 `malformed_body` problem naming `limit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_query_parameter_is_a_malformed_body_problem_naming_it() {
    let h = start().await;
    let dev = h.enroll("grid-east").await;
    let r = h
        .http
        .get(h.url("/v1/sync/pull?limit=abc"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .expect("send");
    let p = assert_problem(r, 400, "malformed_body").await;
    assert!(p.detail.contains("limit"), "{}", p.detail);
    h.stop().await;
}

/// A `Content-Encoding` the server cannot decode is a 415 `unsupported_media_type`
/// problem (not the decompression layer's empty answer), still naming what it accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_content_encoding_is_an_unsupported_media_type_problem() {
    let h = start().await;
    let dev = h.enroll("grid-east").await;
    let r = h
        .http
        .post(h.url("/v1/sync/push"))
        .bearer_auth(&dev.token)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "br")
        .body(b"\x0b\x02\x80{\"records\":[]}\x03".to_vec())
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("accept-encoding"), "{r:?}");
    let p = assert_problem(r, 415, "unsupported_media_type").await;
    assert!(p.detail.contains("br"), "{}", p.detail);
    h.stop().await;
}

/// A JSON body over the limit is a 413 `body_too_large` problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_a_body_too_large_problem() {
    let h = start().await;
    let dev = h.enroll("grid-east").await;
    let big = format!(
        "{{\"records\":[],\"pad\":\"{}\"}}",
        "x".repeat(gridwalk_protocol::MAX_JSON_BODY + 1)
    );
    let r = h
        .http
        .post(h.url("/v1/sync/push"))
        .bearer_auth(&dev.token)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_problem(r, 413, "body_too_large").await;
    h.stop().await;
}

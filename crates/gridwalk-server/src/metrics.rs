//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format to a
//! scraper holding the metrics token (`serve --metrics-token`; without one the endpoint
//! answers 404). Per route: request counts by status and latencies (until the answer's
//! head is ready); records received by kind and outcome; photos verified and stored
//! (count and bytes); the sync lag of accepted records (server receipt minus the
//! phone's record time). The registry belongs to one server state, not the process.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gridwalk_protocol::{Outcome, RecordEnvelope, RecordResult};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecordLabels {
    kind: String,
    outcome: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    records: Family<RecordLabels, Counter>,
    photos: Counter,
    photo_bytes: Counter,
    sync_lag: Histogram,
    /// SHA-256 of the token a scraper must present; `None`: metrics are off.
    token_sha256: Option<[u8; 32]>,
}

/// The server's metrics (cheap to clone: shared).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new(None)
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// A registry of the server's metrics; served only to a scraper that presents
    /// `token` (none: `/metrics` is off).
    pub fn new(token: Option<&str>) -> Metrics {
        let mut registry = Registry::with_prefix("gridwalk");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival until its answer's head is ready",
            latency.clone(),
        );
        let records = Family::<RecordLabels, Counter>::default();
        registry.register(
            "records_received",
            "Records pushed by devices, by kind and outcome (accepted, duplicate, rejected, conflict, gap)",
            records.clone(),
        );
        let photos = Counter::default();
        registry.register(
            "photos_stored",
            "Photos verified against their SHA-256 and stored",
            photos.clone(),
        );
        let photo_bytes = Counter::default();
        registry.register(
            "photo_bytes_stored",
            "Bytes of the photos verified and stored",
            photo_bytes.clone(),
        );
        // One minute to about eleven days.
        let sync_lag = Histogram::new(exponential_buckets(60.0, 4.0, 8));
        registry.register(
            "sync_lag_seconds",
            "Server receipt time minus the phone's record time, per accepted record",
            sync_lag.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            records,
            photos,
            photo_bytes,
            sync_lag,
            token_sha256: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }))
    }

    /// Whether `/metrics` is served at all.
    pub fn enabled(&self) -> bool {
        self.0.token_sha256.is_some()
    }

    /// Whether `presented` is the metrics token (compared as SHA-256 digests, so the
    /// comparison's time says nothing about the token).
    pub fn token_matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.0.token_sha256 == Some(digest)
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.0.registry)?;
        Ok(out)
    }

    /// Counts one answered request.
    pub fn observe_request(
        &self,
        method: &str,
        route: &str,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.0
            .latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a push's outcomes and the sync lag of what it accepted.
    pub fn observe_push(
        &self,
        records: &[RecordEnvelope],
        results: &[RecordResult],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for (r, res) in records.iter().zip(results) {
            let outcome = match res.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Duplicate => "duplicate",
                Outcome::Rejected { .. } => "rejected",
                Outcome::Conflict { .. } => "conflict",
                Outcome::Gap { .. } => "gap",
            };
            self.0
                .records
                .get_or_create(&RecordLabels {
                    kind: r.kind.as_str().to_string(),
                    outcome: outcome.to_string(),
                })
                .inc();
            if matches!(res.outcome, Outcome::Accepted) {
                if let Some(at) = r.device_time {
                    let lag = (now - at).num_milliseconds() as f64 / 1000.0;
                    self.0.sync_lag.observe(lag.max(0.0));
                }
            }
        }
    }

    /// Counts a photo verified and stored.
    pub fn observe_photo(&self, bytes: u64) {
        self.0.photos.inc();
        self.0.photo_bytes.inc_by(bytes);
    }
}

/// Middleware (a route layer, where the matched route is known): counts and times each
/// request by its route template, never by its concrete path.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe_request(&method, &route, resp.status().as_u16(), start.elapsed());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_required_and_compared_whole() {
        let m = Metrics::new(Some("s3cret-token"));
        assert!(m.enabled());
        assert!(m.token_matches("s3cret-token"));
        assert!(!m.token_matches("s3cret-toke"));
        assert!(!m.token_matches(""));
        let off = Metrics::default();
        assert!(!off.enabled());
        assert!(!off.token_matches(""));
    }

    #[test]
    fn requests_are_counted_by_route_template() {
        let m = Metrics::new(Some("t"));
        m.observe_request(
            "GET",
            "/v1/hazards/{id}",
            404,
            std::time::Duration::from_millis(3),
        );
        m.observe_request(
            "GET",
            "/v1/hazards/{id}",
            404,
            std::time::Duration::from_millis(5),
        );
        m.observe_photo(300_000);
        let text = m.render().expect("render");
        assert!(
            text.contains(
                r#"gridwalk_http_requests_total{method="GET",route="/v1/hazards/{id}",status="404"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains("gridwalk_photo_bytes_stored_total 300000"),
            "{text}"
        );
        assert!(text.contains("gridwalk_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/hazards/{id}\"} 2"), "{text}");
    }
}

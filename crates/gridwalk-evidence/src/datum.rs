//! Chinese map datums: WGS-84 (GNSS), GCJ-02 (AMap/Tencent), BD-09 (Baidu).
//!
//! Raw GPS is always stored as WGS-84; convert only for display on the matching tiles.
//! All functions take and return `(lat, lon)` in decimal degrees.
//!
//! Out-of-China rule (see `docs/evidence.md`): the wandergis/coordtransform rectangle,
//! a point is *in* China only if `73.66 < lon < 135.05 && 3.86 < lat < 53.55`.
//! Points outside (and non-finite input) are returned unchanged by the GCJ-02 functions.

use std::f64::consts::PI;

const A: f64 = 6378245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// `true` when the GCJ-02 offset does not apply (outside the China rectangle, or non-finite).
pub fn out_of_china(lat: f64, lon: f64) -> bool {
    !(lon > 73.66 && lon < 135.05 && lat > 3.86 && lat < 53.55)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// GCJ-02 offset `(dlat, dlon)` at a WGS-84 point (no out-of-China check).
fn delta(lat: f64, lon: f64) -> (f64, f64) {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

/// WGS-84 → GCJ-02 (the published "Mars" formula; identity outside China).
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = delta(lat, lon);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 → WGS-84, exact: fixed-point iteration `w ← w − (f(w) − g)` until the residual is
/// below 1e-10° (≈ 0.01 mm), at most 30 rounds. Identity outside China.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..30 {
        let (dlat, dlon) = delta(wlat, wlon);
        let (elat, elon) = (wlat + dlat - lat, wlon + dlon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
    }
    (wlat, wlon)
}

/// GCJ-02 → BD-09 (Baidu).
pub fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon, lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// BD-09 → GCJ-02: the usual closed-form inverse refined by fixed-point iteration
/// (residual < 1e-10°).
pub fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    let (mut glat, mut glon) = (z * theta.sin(), z * theta.cos());
    for _ in 0..10 {
        let (blat, blon) = gcj02_to_bd09(glat, glon);
        let (elat, elon) = (blat - lat, blon - lon);
        if !(elat.is_finite() && elon.is_finite()) {
            break;
        }
        glat -= elat;
        glon -= elon;
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
    }
    (glat, glon)
}

/// WGS-84 → BD-09 (via GCJ-02).
pub fn wgs84_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let (g_lat, g_lon) = wgs84_to_gcj02(lat, lon);
    gcj02_to_bd09(g_lat, g_lon)
}

/// BD-09 → WGS-84 (via GCJ-02, both steps exact-iterative).
pub fn bd09_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    let (g_lat, g_lon) = bd09_to_gcj02(lat, lon);
    gcj02_to_wgs84(g_lat, g_lon)
}

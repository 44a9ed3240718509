//! Is the inspector at the enterprise? Geodesic (Karney, WGS-84) distances via `geo`.

use std::cmp::Ordering;

use geo::{Distance, Geodesic, Point};
use serde::{Deserialize, Serialize};

/// Result of comparing a GPS stamp with the enterprise's registered location.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OnSiteCheck {
    /// Geodesic distance in metres (NaN if an input was not finite).
    pub distance_m: f64,
    /// `true` when farther than the radius, or when the distance could not be computed.
    pub off_site: bool,
}

/// Geodesic distance in metres between two `(lat, lon)` points on the WGS-84 ellipsoid.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let coords_ok = [a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite())
        && a.0.abs() <= 90.0
        && b.0.abs() <= 90.0;
    if !coords_ok {
        return f64::NAN;
    }
    Geodesic.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// Compares a stamp position with the registered `(lat, lon)`; off-site if farther than `radius_m`.
pub fn onsite_check(
    stamp_lat: f64,
    stamp_lon: f64,
    registered: (f64, f64),
    radius_m: f64,
) -> OnSiteCheck {
    let distance_m = distance_m((stamp_lat, stamp_lon), registered);
    // NaN distance or radius: treat as off-site (never silently "on site").
    let off_site = !matches!(
        distance_m.partial_cmp(&radius_m),
        Some(Ordering::Less | Ordering::Equal)
    );
    OnSiteCheck {
        distance_m,
        off_site,
    }
}

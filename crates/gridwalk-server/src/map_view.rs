//! The console's map (docs/console.md "地图"): enterprises coloured by status and
//! inspections by their on-site verdict, in the datum of the configured tiles. Phones
//! and the register hold WGS-84; Chinese web maps (AMap, and most Tianditu styles
//! served as "GCJ-02") draw in GCJ-02, so a WGS-84 point put on them lands a few
//! hundred metres off — on the wrong street. The shift is done here, once, with the
//! evidence crate's datum code; the console only places what it is given.

use crate::error::StoreError;
use crate::store::{problem, Store};
use crate::work::Actor;
use gridwalk_core::DivisionCode;
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The datum a tile layer is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MapDatum {
    /// WGS-84 (OpenStreetMap; Tianditu's CGCS2000 is within centimetres of it).
    Wgs84,
    /// GCJ-02 (AMap / Gaode, Tencent, Google China).
    Gcj02,
}

/// The latest inspections of a division (`$1` a code prefix with `%`, `$2` how many) with
/// the evidence records of their photos, in that order: an inspection's photo links by
/// its record id, then the evidence links of each hash, then the evidence record. The
/// `CROSS JOIN`s keep SQLite to that order; without statistics it began from every
/// evidence record (`crate::query_plans` tests the plan).
pub(crate) const LATEST_INSPECTION_STAMPS: &str =
    "SELECT i.inspection_id, i.enterprise_uscc, i.off_site, e.payload
     FROM (SELECT record_id, inspection_id, enterprise_uscc, off_site, finalized_at
           FROM inspection WHERE division_code LIKE $1
           ORDER BY finalized_at DESC, inspection_id LIMIT $2) i
     CROSS JOIN record_photo rp CROSS JOIN record_photo ep CROSS JOIN record e
     WHERE rp.record_id = i.record_id
       AND ep.sha256 = rp.sha256 AND ep.evidence = 1 AND ep.record_id <> rp.record_id
       AND e.id = ep.record_id AND e.kind = 'evidence' AND e.state = 'accepted'
     ORDER BY i.finalized_at DESC, i.inspection_id, e.seq";

impl MapDatum {
    /// `wgs84` or `gcj02`.
    pub fn parse(s: &str) -> Option<MapDatum> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "cgcs2000" => Some(MapDatum::Wgs84),
            "gcj02" | "gcj-02" => Some(MapDatum::Gcj02),
            _ => None,
        }
    }

    /// A WGS-84 point in this datum.
    pub fn from_wgs84(self, lat: f64, lon: f64) -> (f64, f64) {
        match self {
            MapDatum::Wgs84 => (lat, lon),
            MapDatum::Gcj02 => gridwalk_evidence::datum::wgs84_to_gcj02(lat, lon),
        }
    }
}

/// The tile layer the console draws under the points (`serve --map-tile-url`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapTiles {
    /// An XYZ template, `{z}/{x}/{y}` (and `{s}`) filled by the map library.
    pub url: String,
    pub datum: MapDatum,
    pub attribution: String,
}

/// A point in the tiles' datum, with the WGS-84 it came from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapPoint {
    /// Where to draw it (the tiles' datum; WGS-84 when there are no tiles).
    pub lat: f64,
    pub lon: f64,
    pub wgs84_lat: f64,
    pub wgs84_lon: f64,
}

/// An enterprise on the map.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapEnterprise {
    pub uscc: String,
    pub name: String,
    #[serde(flatten)]
    pub at: MapPoint,
    /// `open_hazard` (a hazard not closed), `visited` (inspected, no open hazard) or
    /// `not_visited`.
    pub status: String,
}

/// An inspection on the map, where its first stamped photo was taken.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapInspection {
    pub inspection_id: String,
    pub enterprise_uscc: String,
    #[serde(flatten)]
    pub at: MapPoint,
    pub off_site: Option<bool>,
}

/// `GET /v1/map`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapView {
    pub division: String,
    pub division_name: Option<String>,
    /// `None`: no tile server configured; the console draws on a plain background.
    pub tiles: Option<MapTiles>,
    pub enterprises: Vec<MapEnterprise>,
    /// Enterprises of the division without a registered location (not drawn).
    pub unlocated: usize,
    /// More than [`MAX_ENTERPRISES`] located enterprises: the rest are not drawn (pick
    /// a smaller division).
    pub truncated: bool,
    pub inspections: Vec<MapInspection>,
}

/// At most this many inspections are drawn (the latest).
pub const MAX_INSPECTIONS: usize = 5000;
/// At most this many enterprises are drawn (a district's map is drawn town by town).
pub const MAX_ENTERPRISES: usize = 20_000;

fn point(datum: Option<MapDatum>, lat: f64, lon: f64) -> Option<MapPoint> {
    if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
        return None;
    }
    let (dlat, dlon) = datum.map_or((lat, lon), |d| d.from_wgs84(lat, lon));
    Some(MapPoint {
        lat: dlat,
        lon: dlon,
        wgs84_lat: lat,
        wgs84_lon: lon,
    })
}

impl Store {
    /// The map of `division` for an officer or admin inside it (outside: 404).
    pub fn map_view(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        tiles: Option<MapTiles>,
    ) -> Result<MapView, StoreError> {
        if !actor.may_manage() || !actor.sees(division) {
            return Err(problem(
                ProblemCode::NotFound,
                format!("no division {division} in your jurisdiction"),
            ));
        }
        let datum = tiles.as_ref().map(|t| t.datum);
        let prefix = format!("{}%", division.significant_prefix());
        self.tx(|t| {
            let name = t
                .query_opt(
                    "SELECT name FROM division WHERE code = $1",
                    &[division.as_str().into()],
                )?
                .map(|r| r.str(0))
                .transpose()?;
            let mut status: HashMap<String, &'static str> = HashMap::new();
            for r in t.query(
                "SELECT DISTINCT enterprise_uscc FROM inspection WHERE division_code LIKE $1",
                &[prefix.clone().into()],
            )? {
                status.insert(r.str(0)?, "visited");
            }
            for r in t.query(
                "SELECT DISTINCT enterprise_uscc FROM hazard WHERE division_code LIKE $1
                   AND COALESCE(status, 'found') <> 'closed'",
                &[prefix.clone().into()],
            )? {
                status.insert(r.str(0)?, "open_hazard");
            }
            let mut enterprises = Vec::new();
            let mut unlocated = 0;
            let mut truncated = false;
            for r in t.query(
                "SELECT uscc, COALESCE(name, ''), body FROM enterprise WHERE village_code LIKE $1
                 ORDER BY uscc",
                &[prefix.clone().into()],
            )? {
                let uscc = r.str(0)?;
                let body: Value = serde_json::from_str(&r.str(2)?).unwrap_or(Value::Null);
                let at = body
                    .get("location")
                    .and_then(|l| point(datum, l.get("lat")?.as_f64()?, l.get("lon")?.as_f64()?));
                let Some(at) = at else {
                    unlocated += 1;
                    continue;
                };
                if enterprises.len() >= MAX_ENTERPRISES {
                    truncated = true;
                    continue;
                }
                enterprises.push(MapEnterprise {
                    status: status
                        .get(&uscc)
                        .copied()
                        .unwrap_or("not_visited")
                        .to_string(),
                    uscc,
                    name: r.str(1)?,
                    at,
                });
            }
            // The latest inspections, each at the stamp of its first photo taken (the
            // lowest position in its device's sequence) that has one.
            let rows = t.query(
                LATEST_INSPECTION_STAMPS,
                &[prefix.clone().into(), (MAX_INSPECTIONS as i64).into()],
            )?;
            let mut placed: HashSet<String> = HashSet::new();
            let mut inspections: Vec<MapInspection> = Vec::new();
            for r in &rows {
                let id = r.str(0)?;
                if placed.contains(&id) {
                    continue;
                }
                let payload: Value = r
                    .text(3)?
                    .and_then(|p| serde_json::from_str(&p).ok())
                    .unwrap_or(Value::Null);
                let at = payload
                    .get("stamp")
                    .and_then(|s| point(datum, s.get("lat")?.as_f64()?, s.get("lon")?.as_f64()?));
                if let Some(at) = at {
                    placed.insert(id.clone());
                    inspections.push(MapInspection {
                        inspection_id: id,
                        enterprise_uscc: r.str(1)?,
                        off_site: r.opt_int(2)?.map(|v| v != 0),
                        at,
                    });
                }
            }
            Ok(MapView {
                division: division.as_str().to_string(),
                division_name: name,
                tiles: tiles.clone(),
                enterprises,
                unlocated,
                truncated,
                inspections,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published vectors (../shared/testdata/gcj02/vectors.csv): a WGS-84 point on
    /// GCJ-02 tiles is drawn where the reference implementations put it.
    #[test]
    fn points_are_shifted_into_the_tiles_datum() {
        let dir = std::env::var("GRIDWALK_TESTDATA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata").into()
        });
        let csv = std::fs::read_to_string(format!("{dir}/gcj02/vectors.csv")).expect("vectors");
        let mut checked = 0;
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.get(1) != Some(&"wgs84_to_gcj02") {
                continue;
            }
            let n = |i: usize| f[i].parse::<f64>().expect("number");
            if n(3).abs() > 180.0 {
                // Not a place on Earth (the reference passes it through): not drawn.
                assert!(point(Some(MapDatum::Gcj02), n(2), n(3)).is_none(), "{line}");
                continue;
            }
            let p = point(Some(MapDatum::Gcj02), n(2), n(3)).expect("point");
            assert!(
                (p.lat - n(4)).abs() < 5e-6 && (p.lon - n(5)).abs() < 5e-6,
                "{line}"
            );
            assert_eq!((p.wgs84_lat, p.wgs84_lon), (n(2), n(3)));
            // On WGS-84 tiles (or none) the point stays put.
            let w = point(Some(MapDatum::Wgs84), n(2), n(3)).expect("point");
            assert_eq!((w.lat, w.lon), (n(2), n(3)));
            checked += 1;
        }
        assert!(checked >= 3, "{checked} vectors");
        assert!(point(None, f64::NAN, 1.0).is_none());
        assert!(point(None, 91.0, 1.0).is_none());
    }

    #[test]
    fn datums_parse() {
        assert_eq!(MapDatum::parse("GCJ-02"), Some(MapDatum::Gcj02));
        assert_eq!(MapDatum::parse("cgcs2000"), Some(MapDatum::Wgs84));
        assert_eq!(MapDatum::parse("bd09"), None);
    }
}

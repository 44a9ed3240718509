//! GPS stamps attached to evidence, and the policy that flags doubtful ones.
//!
//! A stamp that is merely doubtful (poor accuracy, stale fix, mock location, EXIF fallback…)
//! is **accepted and flagged**, never dropped: the reviewer decides. Only physically impossible
//! values (NaN, ±inf, out-of-range coordinates, negative accuracy) are errors.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::photo::ExifFacts;

/// Where a stamp's position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StampSource {
    /// The phone's location provider at capture time.
    Device,
    /// The photo's own EXIF GPS tags (camera app wrote them; weaker evidence).
    ExifFallback,
    /// Typed in or picked on a map by the inspector.
    Manual,
}

/// A position fix tied to a piece of evidence. Coordinates are WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpsStamp {
    /// Latitude, WGS-84 degrees.
    pub lat: f64,
    /// Longitude, WGS-84 degrees.
    pub lon: f64,
    /// Horizontal accuracy (68 % radius) in metres, if the provider gave one.
    pub accuracy_m: Option<f64>,
    /// Altitude above the WGS-84 ellipsoid / MSL as reported, metres.
    pub altitude_m: Option<f64>,
    /// Time of the fix (GNSS time), if known.
    pub fix_time: Option<DateTime<Utc>>,
    /// Phone clock when the stamp was taken, with its UTC offset.
    pub device_time: DateTime<FixedOffset>,
    /// Provider name, e.g. `"gps"`, `"fused"`, `"network"`, `"exif"`, `"manual"`.
    pub provider: String,
    /// Satellites used in the fix, if known.
    pub satellites: Option<u32>,
    /// Android reported the location as coming from a mock provider.
    pub mock_location: bool,
    /// Where the position came from.
    pub source: StampSource,
}

/// Thresholds for flagging stamps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsPolicy {
    /// Accuracy worse (larger) than this is flagged. Default 50 m.
    pub max_accuracy_m: f64,
    /// A fix older than this relative to the device clock is flagged stale. Default 2 min.
    pub max_fix_age: TimeDelta,
    /// A fix *newer* than the device clock by more than this flags clock skew. Default 5 min.
    pub max_clock_skew: TimeDelta,
}

impl Default for GpsPolicy {
    fn default() -> Self {
        GpsPolicy {
            max_accuracy_m: 50.0,
            max_fix_age: TimeDelta::minutes(2),
            max_clock_skew: TimeDelta::minutes(5),
        }
    }
}

/// Why a stamp deserves a reviewer's attention. The stamp is kept either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StampFlag {
    /// Accuracy radius larger than the policy allows.
    PoorAccuracy {
        /// Reported accuracy, metres.
        accuracy_m: f64,
        /// Policy threshold, metres.
        max_m: f64,
    },
    /// No accuracy reported.
    MissingAccuracy,
    /// No fix time, so freshness cannot be checked.
    MissingFixTime,
    /// Fix older than `max_fix_age` when the stamp was taken.
    StaleFix {
        /// device_time − fix_time, seconds.
        age_s: i64,
    },
    /// Fix time is ahead of the device clock by more than `max_clock_skew`.
    ClockSkew {
        /// fix_time − device_time, seconds.
        skew_s: i64,
    },
    /// Android mock-location provider.
    MockLocation,
    /// Position taken from the photo's EXIF, not the device at capture.
    ExifFallback,
    /// Position entered by hand.
    Manual,
}

/// Stamps with impossible values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StampError {
    /// Latitude NaN, infinite or outside [-90, 90].
    #[error("latitude {0} is not a valid WGS-84 latitude")]
    InvalidLatitude(f64),
    /// Longitude NaN, infinite or outside [-180, 180].
    #[error("longitude {0} is not a valid WGS-84 longitude")]
    InvalidLongitude(f64),
    /// Accuracy negative, NaN or infinite.
    #[error("accuracy {0} m is not a valid accuracy")]
    InvalidAccuracy(f64),
    /// Altitude NaN or infinite.
    #[error("altitude {0} m is not finite")]
    InvalidAltitude(f64),
    /// A text field (`provider`) longer than `gridwalk_protocol::limits::MAX_STAMP_TEXT_CHARS`.
    #[error("stamp {field} is {chars} characters long, more than the {max} allowed")]
    TextTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
}

/// Validates a stamp and returns its flags (empty = clean). Errors only for impossible values.
pub fn assess(stamp: &GpsStamp, policy: &GpsPolicy) -> Result<Vec<StampFlag>, StampError> {
    if !(stamp.lat.is_finite() && (-90.0..=90.0).contains(&stamp.lat)) {
        return Err(StampError::InvalidLatitude(stamp.lat));
    }
    if !(stamp.lon.is_finite() && (-180.0..=180.0).contains(&stamp.lon)) {
        return Err(StampError::InvalidLongitude(stamp.lon));
    }
    if let Some(acc) = stamp.accuracy_m {
        if !(acc.is_finite() && acc >= 0.0) {
            return Err(StampError::InvalidAccuracy(acc));
        }
    }
    if let Some(alt) = stamp.altitude_m {
        if !alt.is_finite() {
            return Err(StampError::InvalidAltitude(alt));
        }
    }
    gridwalk_protocol::limits::check_chars(
        &stamp.provider,
        gridwalk_protocol::limits::MAX_STAMP_TEXT_CHARS,
    )
    .map_err(|(chars, max)| StampError::TextTooLong {
        field: "provider",
        chars,
        max,
    })?;

    let mut flags = Vec::new();
    match stamp.accuracy_m {
        Some(acc) if acc > policy.max_accuracy_m => flags.push(StampFlag::PoorAccuracy {
            accuracy_m: acc,
            max_m: policy.max_accuracy_m,
        }),
        Some(_) => {}
        None => flags.push(StampFlag::MissingAccuracy),
    }
    match stamp.fix_time {
        Some(fix) => {
            let age = stamp.device_time.with_timezone(&Utc) - fix;
            if age > policy.max_fix_age {
                flags.push(StampFlag::StaleFix {
                    age_s: age.num_seconds(),
                });
            } else if -age > policy.max_clock_skew {
                flags.push(StampFlag::ClockSkew {
                    skew_s: (-age).num_seconds(),
                });
            }
        }
        None => flags.push(StampFlag::MissingFixTime),
    }
    if stamp.mock_location {
        flags.push(StampFlag::MockLocation);
    }
    match stamp.source {
        StampSource::Device => {}
        StampSource::ExifFallback => flags.push(StampFlag::ExifFallback),
        StampSource::Manual => flags.push(StampFlag::Manual),
    }
    Ok(flags)
}

/// Builds an [`StampSource::ExifFallback`] stamp from a photo's EXIF GPS, if it has any.
pub fn stamp_from_exif(exif: &ExifFacts, device_time: DateTime<FixedOffset>) -> Option<GpsStamp> {
    let gps = exif.gps.as_ref()?;
    Some(GpsStamp {
        lat: gps.lat,
        lon: gps.lon,
        accuracy_m: gps.h_error_m,
        altitude_m: gps.altitude_m,
        fix_time: gps.time,
        device_time,
        provider: "exif".to_string(),
        satellites: None,
        mock_location: false,
        source: StampSource::ExifFallback,
    })
}

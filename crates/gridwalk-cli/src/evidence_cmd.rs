//! Evidence commands: `photo process` and the `geo` datum and distance tools.

use crate::output;
use crate::Cli;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, FixedOffset, Local};
use clap::Subcommand;
use gridwalk_core::enterprise::LatLon;
use gridwalk_device::evidence::PhotoInput;
use gridwalk_device::Store;
use gridwalk_evidence::photo::{process_photo, PhotoConfig};
use gridwalk_evidence::stamp::{GpsStamp, StampSource};
use gridwalk_evidence::watermark::WatermarkInfo;
use gridwalk_evidence::{datum, fsio, onsite};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PhotoCmd {
    /// Runs the evidence pipeline on a JPEG/PNG: oriented, resized, watermarked JPEG and a
    /// thumbnail are written to OUT_DIR (named by their SHA-256); prints the hashes.
    Process {
        input: PathBuf,
        out_dir: PathBuf,
        #[arg(long, allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Horizontal accuracy in metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// Capture time (RFC 3339); default: now.
        #[arg(long)]
        time: Option<String>,
        #[arg(long, default_value = "")]
        enterprise: String,
        #[arg(long, default_value = "")]
        inspector: String,
    },
    /// Adds a photo to this device's evidence: processed, stored beside the database,
    /// recorded with its position, on-site check and a link in the hash chain.
    Add {
        input: PathBuf,
        /// Enterprise photographed (id or USCC).
        #[arg(long)]
        enterprise: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Horizontal accuracy in metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// Capture time (RFC 3339); default: now.
        #[arg(long)]
        time: Option<String>,
        #[arg(long, default_value = "")]
        inspector: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCmd {
    /// Checks the device's hash chain, every photo record and every photo file;
    /// exits 1 when anything is missing or altered.
    Verify,
    /// Removes temp files and photo files no record refers to (after a crash).
    Sweep,
}

#[derive(Debug, Subcommand)]
pub enum GeoCmd {
    /// WGS-84 → GCJ-02 (AMap/Tencent display); prints `<lat> <lon>`.
    #[command(name = "to-gcj02")]
    ToGcj02 {
        #[arg(allow_hyphen_values = true)]
        lat: f64,
        #[arg(allow_hyphen_values = true)]
        lon: f64,
    },
    /// GCJ-02 → WGS-84 (exact inverse); prints `<lat> <lon>`.
    #[command(name = "to-wgs84")]
    ToWgs84 {
        #[arg(allow_hyphen_values = true)]
        lat: f64,
        #[arg(allow_hyphen_values = true)]
        lon: f64,
    },
    /// Geodesic distance in metres between two WGS-84 points.
    Distance {
        #[arg(allow_hyphen_values = true)]
        lat1: f64,
        #[arg(allow_hyphen_values = true)]
        lon1: f64,
        #[arg(allow_hyphen_values = true)]
        lat2: f64,
        #[arg(allow_hyphen_values = true)]
        lon2: f64,
    },
}

fn point(lat: f64, lon: f64) -> Result<(f64, f64)> {
    let p = LatLon::new(lat, lon).with_context(|| format!("invalid coordinates {lat} {lon}"))?;
    Ok((p.lat, p.lon))
}

fn parse_time(time: &Option<String>) -> Result<DateTime<FixedOffset>> {
    Ok(match time {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .with_context(|| format!("--time '{t}' is not RFC 3339"))?,
        None => Local::now().fixed_offset(),
    })
}

fn add(cli: &Cli, cmd: &PhotoCmd) -> Result<ExitCode> {
    let PhotoCmd::Add {
        input,
        enterprise,
        lat,
        lon,
        accuracy,
        time,
        inspector,
    } = cmd
    else {
        bail!("not an add command");
    };
    let store = Store::open(&cli.db).with_context(|| format!("opening {}", cli.db.display()))?;
    let enterprise_id = match enterprise {
        Some(key) => Some(store.enterprise(key)?.enterprise.id),
        None => None,
    };
    let device_time = parse_time(time)?;
    let stamp = match (lat, lon) {
        (Some(lat), Some(lon)) => Some(GpsStamp {
            lat: *lat,
            lon: *lon,
            accuracy_m: *accuracy,
            altitude_m: None,
            fix_time: None,
            device_time,
            provider: "manual".into(),
            satellites: None,
            mock_location: false,
            source: StampSource::Manual,
        }),
        (None, None) => None,
        _ => bail!("--lat and --lon go together"),
    };
    let record = store.add_photo(&PhotoInput {
        path: input.clone(),
        enterprise_id,
        inspector: inspector.clone(),
        device_time,
        stamp,
    })?;
    if cli.json {
        output::json(&record)?;
    } else {
        println!(
            "photo {} recorded as evidence #{}",
            record.payload.id, record.chain_seq
        );
        println!(
            "  {}x{} {}",
            record.payload.width,
            record.payload.height,
            record.derived_path.display()
        );
        match record.off_site {
            Some(true) => println!(
                "  off site: outside {} m of the registered location (flagged for review)",
                record.payload.onsite_radius_m
            ),
            Some(false) => println!("  on site"),
            None => println!("  on-site check: no position or no registered location"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn evidence(cli: &Cli, cmd: &EvidenceCmd) -> Result<ExitCode> {
    let store = Store::open(&cli.db).with_context(|| format!("opening {}", cli.db.display()))?;
    match cmd {
        EvidenceCmd::Verify => {
            let report = store.verify_evidence()?;
            if cli.json {
                output::json(&report)?;
            } else if report.ok {
                println!(
                    "ok: {} chain links, {} photos, nothing missing or altered",
                    report.links, report.photos
                );
            } else {
                println!(
                    "FAILED: {} chain links, {} photos",
                    report.links, report.photos
                );
                for p in &report.chain_problems {
                    println!("  chain: {p:?}");
                }
                for p in &report.record_problems {
                    println!("  {p}");
                }
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        EvidenceCmd::Sweep => {
            let n = store.sweep_photo_dir()?;
            println!("removed {n} orphan file(s)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn photo(cli: &Cli, cmd: &PhotoCmd) -> Result<ExitCode> {
    let PhotoCmd::Process {
        input,
        out_dir,
        lat,
        lon,
        accuracy,
        time,
        enterprise,
        inspector,
    } = cmd
    else {
        return add(cli, cmd);
    };
    let cfg = PhotoConfig::default();
    let size = std::fs::metadata(input)
        .with_context(|| format!("reading {}", input.display()))?
        .len();
    if size > cfg.max_input_bytes {
        bail!(
            "{} is {size} bytes, more than the {} accepted",
            input.display(),
            cfg.max_input_bytes
        );
    }
    let position = match (lat, lon) {
        (Some(lat), Some(lon)) => {
            let (lat, lon) = point(*lat, *lon)?;
            let acc = accuracy.unwrap_or(f64::NAN);
            if acc.is_finite() && acc < 0.0 {
                bail!("accuracy {acc} m is negative");
            }
            Some((lat, lon, acc))
        }
        (None, None) => None,
        _ => bail!("--lat and --lon go together"),
    };
    let device_time = parse_time(time)?;
    let original = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let info = WatermarkInfo {
        device_time,
        gnss_time: None,
        position,
        enterprise: enterprise.clone(),
        inspector: inspector.clone(),
    };
    let processed = process_photo(&original, &cfg, Some(&info))
        .with_context(|| format!("processing {}", input.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let derived = fsio::write_atomic(
        out_dir,
        &format!("{}.jpg", processed.derived_sha256),
        &processed.derived_jpeg,
    )?;
    let thumb = fsio::write_atomic(
        out_dir,
        &format!("{}.thumb.jpg", processed.thumbnail_sha256),
        &processed.thumbnail_jpeg,
    )?;
    let summary = serde_json::json!({
        "original_sha256": processed.original_sha256,
        "derived_sha256": processed.derived_sha256,
        "thumbnail_sha256": processed.thumbnail_sha256,
        "width": processed.width,
        "height": processed.height,
        "bytes": processed.derived_jpeg.len(),
        "derived_path": derived,
        "thumbnail_path": thumb,
    });
    if cli.json {
        output::json(&summary)?;
    } else {
        println!(
            "{}x{} {} bytes -> {}",
            processed.width,
            processed.height,
            processed.derived_jpeg.len(),
            derived.display()
        );
        println!("original  sha256 {}", processed.original_sha256);
        println!("derived   sha256 {}", processed.derived_sha256);
        println!("thumbnail sha256 {}", processed.thumbnail_sha256);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn geo(cli: &Cli, cmd: &GeoCmd) -> Result<ExitCode> {
    let print_point = |(lat, lon): (f64, f64)| -> Result<()> {
        if cli.json {
            output::json(&serde_json::json!({ "lat": lat, "lon": lon }))
        } else {
            println!("{lat:.7} {lon:.7}");
            Ok(())
        }
    };
    match cmd {
        GeoCmd::ToGcj02 { lat, lon } => {
            let (lat, lon) = point(*lat, *lon)?;
            print_point(datum::wgs84_to_gcj02(lat, lon))?;
        }
        GeoCmd::ToWgs84 { lat, lon } => {
            let (lat, lon) = point(*lat, *lon)?;
            print_point(datum::gcj02_to_wgs84(lat, lon))?;
        }
        GeoCmd::Distance {
            lat1,
            lon1,
            lat2,
            lon2,
        } => {
            let d = onsite::distance_m(point(*lat1, *lon1)?, point(*lat2, *lon2)?);
            if cli.json {
                output::json(&serde_json::json!({ "metres": d }))?;
            } else {
                println!("{d:.3}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

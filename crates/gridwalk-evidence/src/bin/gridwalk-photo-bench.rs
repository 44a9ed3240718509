//! Bench / probe helper for `scripts/bench-photo`.
//!
//! ```text
//! gridwalk-photo-bench gen <out.jpg> <width> <height>   # photo-like JPEG with EXIF orientation 6
//! gridwalk-photo-bench run <in.jpg> <out_dir> [--watermark]
//! gridwalk-photo-bench probe <file>...                  # print what process_photo says
//! ```

use std::error::Error;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use gridwalk_evidence::photo::{process_photo, PhotoConfig};
use gridwalk_evidence::watermark::WatermarkInfo;

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 5 => gen(&args[2], args[3].parse()?, args[4].parse()?),
        Some("run") if args.len() >= 4 => run(&args[2], &args[3], args.iter().any(|a| a == "--watermark")),
        Some("probe") => {
            for f in &args[2..] {
                probe(f);
            }
            Ok(())
        }
        _ => Err(
            "usage: gridwalk-photo-bench gen <out.jpg> <w> <h> | run <in> <out_dir> [--watermark] | probe <files>"
                .into(),
        ),
    }
}

fn info() -> Res<WatermarkInfo> {
    let device_time = chrono::FixedOffset::east_opt(8 * 3600)
        .ok_or("offset")?
        .with_ymd_and_hms(2026, 3, 2, 9, 31, 5)
        .single()
        .ok_or("time")?;
    let gnss: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 3, 2, 1, 31, 4)
        .single()
        .ok_or("time")?;
    Ok(WatermarkInfo {
        device_time,
        gnss_time: Some(gnss),
        position: Some((31.74, 119.56, 8.0)),
        enterprise: "常州市金坛区某某木业有限公司".into(),
        inspector: "王小明".into(),
    })
}

fn run(input: &str, out_dir: &str, watermark: bool) -> Res<()> {
    let bytes = std::fs::read(input)?;
    let wm = if watermark { Some(info()?) } else { None };
    let p = process_photo(&bytes, &PhotoConfig::default(), wm.as_ref())?;
    drop(bytes);
    let dir = Path::new(out_dir);
    std::fs::write(dir.join("derived.jpg"), &p.derived_jpeg)?;
    std::fs::write(dir.join("thumb.jpg"), &p.thumbnail_jpeg)?;
    eprintln!(
        "{}x{} -> {}x{} (orientation {}), thumb {}x{}, derived {} B sha256 {}",
        p.original_width,
        p.original_height,
        p.width,
        p.height,
        p.orientation,
        p.thumb_width,
        p.thumb_height,
        p.derived_jpeg.len(),
        p.derived_sha256
    );
    Ok(())
}

fn probe(path: &str) {
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read(path) {
        Err(e) => println!("{name}: read error {e}"),
        Ok(bytes) => {
            match process_photo(&bytes, &PhotoConfig::default(), None) {
                Ok(p) => println!(
                "{name}: OK {}x{} o={} -> {}x{} gps={:?} dto={:?} make={:?} model={:?} damaged={}",
                p.original_width,
                p.original_height,
                p.orientation,
                p.width,
                p.height,
                p.exif.gps.as_ref().map(|g| (g.lat, g.lon, g.altitude_m, g.time)),
                p.exif.datetime_original,
                p.exif.make,
                p.exif.model,
                p.exif.exif_damaged
            ),
                Err(e) => println!("{name}: ERR {e:?}"),
            }
        }
    }
}

/// Photo-like test image: smooth gradients and blobs plus sensor-like noise, stored landscape
/// with EXIF orientation 6 (so it displays portrait), q92 4:2:0 like a phone camera.
fn gen(out: &str, w: usize, h: usize) -> Res<()> {
    let mut px = vec![0u8; w * h * 3];
    let colsin: Vec<f32> = (0..w).map(|x| (x as f32 / w as f32 * 9.0).sin()).collect();
    let rowsin: Vec<f32> = (0..h).map(|y| (y as f32 / h as f32 * 7.0).cos()).collect();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for (y, rs) in rowsin.iter().enumerate() {
        for (x, cs) in colsin.iter().enumerate() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let n = ((s & 0xff) as f32 - 128.0) / 128.0 * 10.0;
            let g = x as f32 / w as f32 * 120.0 + y as f32 / h as f32 * 60.0;
            let blob = cs * rs * 50.0;
            let i = (y * w + x) * 3;
            px[i] = (40.0 + g + blob + n).clamp(0.0, 255.0) as u8;
            px[i + 1] = (70.0 + g * 0.8 - blob * 0.5 + n).clamp(0.0, 255.0) as u8;
            px[i + 2] = (90.0 + 100.0 - g * 0.5 + blob * 0.3 + n).clamp(0.0, 255.0) as u8;
        }
    }
    let img = turbojpeg::Image {
        pixels: &px[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let jpeg = turbojpeg::compress(img, 92, turbojpeg::Subsamp::Sub2x2)?;
    // APP1 "Exif\0\0" + little-endian TIFF header + IFD0 { Orientation = 6 }.
    let mut app1: Vec<u8> = vec![0xFF, 0xE1, 0, 34];
    app1.extend_from_slice(b"Exif\0\0II*\0\x08\0\0\0");
    app1.extend_from_slice(&[1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut file = Vec::with_capacity(jpeg.len() + app1.len());
    file.extend_from_slice(&jpeg[..2]);
    file.extend_from_slice(&app1);
    file.extend_from_slice(&jpeg[2..]);
    std::fs::write(out, &file)?;
    eprintln!("wrote {out}: {w}x{h}, {} bytes", file.len());
    Ok(())
}

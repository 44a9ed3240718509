//! Photo pipeline: the shared corpus, hostile input, a seeded fuzz run, the watermark golden
//! image and crash-safe storage.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeZone, Utc};
use gridwalk_evidence::fsio::{store_photo, sweep_temp, write_atomic, FsError, TEMP_PREFIX};
use gridwalk_evidence::photo::{
    process_photo, sniff, working_bytes, PhotoConfig, PhotoError, ProcessedPhoto, SourceFormat,
    DEFAULT_MAX_DECODE_BYTES,
};
use gridwalk_evidence::watermark::{burn_in, check_code, watermark_lines, WatermarkInfo};

fn photo(name: &str) -> Vec<u8> {
    common::read_testdata(&format!("photos/{name}"))
}

fn process(bytes: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    process_photo(bytes, &PhotoConfig::default(), None)
}

/// Decodes a derived JPEG and box-averages it to a `gw`×`gh` grey grid.
fn signature(jpeg: &[u8], gw: u32, gh: u32) -> Vec<f32> {
    let img = image::load_from_memory(jpeg)
        .expect("derived JPEG decodes")
        .to_luma8();
    let small = image::imageops::resize(&img, gw, gh, image::imageops::FilterType::Triangle);
    small.pixels().map(|p| f32::from(p.0[0])).collect()
}

// ---------- corpus ----------

struct Row {
    file: String,
    wh: (u32, u32),
    orientation: u16,
    gps: Option<(f64, f64, Option<f64>)>,
    sha16: String,
}

fn manifest() -> Vec<Row> {
    let text = String::from_utf8(common::read_testdata("photos/MANIFEST.md")).expect("utf8");
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let file = cells[0].trim_matches('`').to_string();
        let (w, h) = cells[4].split_once('x').expect("WxH");
        let orientation = cells[7]
            .split_whitespace()
            .next()
            .and_then(|o| o.parse().ok())
            .unwrap_or(1);
        let gps = {
            let g = cells[8];
            let mut nums = g.split([',', ' ']).filter_map(|t| t.parse::<f64>().ok());
            match (nums.next(), nums.next()) {
                (Some(lat), Some(lon)) => {
                    Some((lat, lon, g.contains(" alt ").then(|| nums.next()).flatten()))
                }
                _ => None,
            }
        };
        rows.push(Row {
            file,
            wh: (w.parse().expect("w"), h.parse().expect("h")),
            orientation,
            gps,
            sha16: cells[10].to_string(),
        });
    }
    rows
}

#[test]
fn every_corpus_photo_is_processed_with_the_manifests_size_orientation_and_gps() {
    let rows = manifest();
    assert_eq!(rows.len(), 24, "MANIFEST lists 24 files");
    for r in &rows {
        let bytes = photo(&r.file);
        let p = process(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", r.file));
        assert!(p.original_sha256.starts_with(&r.sha16), "{}: sha", r.file);
        assert_eq!(
            (p.original_width, p.original_height),
            r.wh,
            "{}: size",
            r.file
        );
        assert_eq!(p.orientation, r.orientation, "{}: orientation", r.file);
        // Upright dims: swapped for 5..8, long edge min(2048, original), aspect kept.
        let (uw, uh) = if r.orientation >= 5 {
            (r.wh.1, r.wh.0)
        } else {
            r.wh
        };
        let long = uw.max(uh).min(2048);
        assert_eq!(p.width.max(p.height), long, "{}: long edge", r.file);
        assert_eq!(p.width >= p.height, uw >= uh, "{}: aspect", r.file);
        let ar = |a: u32, b: u32| a as f64 / b as f64;
        assert!(
            (ar(p.width, p.height) - ar(uw, uh)).abs() < 0.01,
            "{}: aspect ratio",
            r.file
        );
        assert_eq!(
            p.thumb_width.max(p.thumb_height),
            long.min(320),
            "{}: thumbnail",
            r.file
        );
        match (r.gps, &p.exif.gps) {
            (Some((lat, lon, alt)), Some(g)) => {
                assert!(
                    (g.lat - lat).abs() < 1e-5 && (g.lon - lon).abs() < 1e-5,
                    "{}: {g:?}",
                    r.file
                );
                if let Some(alt) = alt {
                    let got = g.altitude_m.expect("altitude");
                    assert!((got - alt).abs() < 0.1, "{}: altitude {got}", r.file);
                }
            }
            (None, None) => {}
            (want, got) => panic!("{}: GPS expected {want:?}, got {got:?}", r.file),
        }
        // Only corrupted.jpg has damaged (but resynchronised) entropy data.
        assert_eq!(
            p.decode_warning.is_some(),
            r.file == "corrupted.jpg",
            "{}: {:?}",
            r.file,
            p.decode_warning
        );
    }
}

#[test]
fn malformed_exif_never_fails_a_decodable_photo_and_is_reported_as_damaged() {
    let p = process(&photo("tests__30-type_error.jpg")).expect("processed");
    assert!(p.exif.exif_damaged);
    let p = process(&photo("tests__45-gps_ifd.jpg")).expect("processed");
    assert!(p.exif.gps.is_none(), "empty GPS IFD gives no position");
    assert_eq!(p.exif.model.as_deref(), Some("Gran Turismo 5"));
    let p = process(&photo("tests__67-0_length_string.jpg")).expect("processed");
    assert_eq!(p.exif.make.as_deref(), Some("samsung"));
    let p = process(&photo("xmp__no_exif.jpg")).expect("processed");
    assert_eq!(p.orientation, 1);
}

#[test]
fn smartphone_exif_gives_camera_time_and_gps_fix_time() {
    let p = process(&photo("exiftool-t__Apple.jpg")).expect("processed");
    assert_eq!(p.exif.make.as_deref(), Some("Apple"));
    assert_eq!(p.exif.model.as_deref(), Some("iPhone 7"));
    assert_eq!(
        p.exif.datetime_original.map(|d| d.to_string()).as_deref(),
        Some("2016-09-28 18:18:05")
    );
    let g = p.exif.gps.expect("gps");
    assert!(g.time.is_some());
    assert!((g.altitude_m.expect("alt") - 72.4).abs() < 0.1);
}

fn oriented_signatures(kind: &str, gw: u32, gh: u32) -> Vec<(u16, Vec<f32>)> {
    [1u16, 3, 6, 8]
        .iter()
        .map(|o| {
            let p = process(&photo(&format!("orientation__{kind}_{o}.jpg"))).expect("processed");
            (*o, signature(&p.derived_jpeg, gw, gh))
        })
        .collect()
}

#[test]
fn landscapes_with_orientation_1_3_6_and_8_all_come_out_the_same_way_up() {
    let sigs = oriented_signatures("landscape", 16, 12);
    check_same_picture(&sigs, 16);
}

#[test]
fn portraits_with_orientation_1_3_6_and_8_all_come_out_the_same_way_up() {
    let sigs = oriented_signatures("portrait", 12, 16);
    check_same_picture(&sigs, 12);
}

#[test]
fn a_portrait_with_orientation_6_comes_out_upright() {
    let p = process(&photo("orientation__portrait_6.jpg")).expect("processed");
    assert_eq!((p.original_width, p.original_height), (600, 450));
    assert_eq!((p.width, p.height), (450, 600));
    assert_eq!(p.orientation, 6);
}

/// Pearson correlation of two signatures (insensitive to the brightness difference between
/// the corpus files: `*_1.jpg` was exported brighter than `*_3/6/8.jpg`).
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f32 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f32 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

/// Each oriented output must correlate almost perfectly with the orientation-1 output, and
/// clearly better than the orientation-1 output does with its own 180° rotation or mirror
/// images (negative controls: otherwise the comparison would prove nothing).
fn check_same_picture(sigs: &[(u16, Vec<f32>)], gw: usize) {
    let reference = &sigs[0].1;
    let rows: Vec<&[f32]> = reference.chunks(gw).collect();
    let rot180: Vec<f32> = reference.iter().rev().copied().collect();
    let flip_h: Vec<f32> = rows.iter().flat_map(|r| r.iter().rev().copied()).collect();
    let flip_v: Vec<f32> = rows.iter().rev().flat_map(|r| r.iter().copied()).collect();
    let control = [rot180, flip_h, flip_v]
        .iter()
        .map(|c| correlation(reference, c))
        .fold(f32::MIN, f32::max);
    assert!(
        control < 0.8,
        "wrong orientations correlate too well to tell apart: {control}"
    );
    for (o, s) in &sigs[1..] {
        let c = correlation(reference, s);
        assert!(
            c > 0.95,
            "orientation {o}: correlation with orientation 1 is only {c} (best wrong one {control})"
        );
    }
}

/// Upright test picture: four differently coloured quadrants plus a white bar along the top,
/// so every rotation and mirror of it is distinguishable.
fn upright_pattern(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        if y < h / 8 {
            return image::Rgb([255, 255, 255]);
        }
        match (x < w / 2, y < h / 2) {
            (true, true) => image::Rgb([200, 30, 30]),
            (false, true) => image::Rgb([30, 200, 30]),
            (true, false) => image::Rgb([30, 30, 200]),
            (false, false) => image::Rgb([20, 20, 20]),
        }
    })
}

/// JPEG of `img` with an EXIF APP1 holding only `Orientation = o`.
fn jpeg_with_orientation(img: &image::RgbImage, o: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(img)
        .unwrap();
    let mut app1: Vec<u8> = vec![0xFF, 0xE1, 0, 34];
    app1.extend_from_slice(b"Exif\0\0II*\0\x08\0\0\0");
    app1.extend_from_slice(&[
        1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o as u8, 0, 0, 0, 0, 0, 0, 0,
    ]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn every_one_of_the_8_exif_orientations_comes_out_upright() {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    let upright = upright_pattern(96, 64);
    // How a viewer turns the stored pixels for display, per EXIF orientation.
    let display = |img: &image::RgbImage, o: u16| -> image::RgbImage {
        match o {
            2 => flip_horizontal(img),
            3 => rotate180(img),
            4 => flip_vertical(img),
            5 => flip_horizontal(&rotate90(img)),
            6 => rotate90(img),
            7 => flip_horizontal(&rotate270(img)),
            8 => rotate270(img),
            _ => img.clone(),
        }
    };
    for o in 1u16..=8 {
        // The stored picture is the upright one turned by the inverse display transform.
        let inverse = match o {
            6 => 8,
            8 => 6,
            x => x,
        };
        let stored = display(&upright, inverse);
        let p = process(&jpeg_with_orientation(&stored, o))
            .unwrap_or_else(|e| panic!("orientation {o}: {e:?}"));
        assert_eq!(p.orientation, o);
        assert_eq!((p.width, p.height), (96, 64), "orientation {o}");
        let got = image::load_from_memory(&p.derived_jpeg).unwrap().to_rgb8();
        let diff: u64 = got
            .as_raw()
            .iter()
            .zip(upright.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / got.as_raw().len() as f64;
        assert!(
            mean < 6.0,
            "orientation {o}: mean difference {mean} from the upright picture"
        );
    }
}

#[test]
fn derived_files_carry_no_metadata() {
    let p = process(&photo("exiftool-t__Apple.jpg")).expect("processed");
    for out in [&p.derived_jpeg, &p.thumbnail_jpeg] {
        assert!(out.starts_with(&[0xFF, 0xD8]));
        assert!(
            !out.windows(6).any(|w| w == b"Exif\0\0"),
            "EXIF in derived file"
        );
        assert!(
            !out.windows(4).any(|w| w == b"<x:x" || w == b"http"),
            "XMP in derived file"
        );
        assert!(
            !out.windows(2).any(|w| w == [0xFF, 0xE1]),
            "APP1 in derived file"
        );
    }
    assert_eq!(
        p.derived_sha256,
        gridwalk_evidence::sha256_hex(&p.derived_jpeg)
    );
    assert_eq!(
        p.thumbnail_sha256,
        gridwalk_evidence::sha256_hex(&p.thumbnail_jpeg)
    );
}

#[test]
fn small_photos_are_never_upscaled() {
    let p = process(&photo("exiftool-t__Apple.jpg")).expect("processed");
    assert_eq!(
        (p.width, p.height, p.thumb_width, p.thumb_height),
        (8, 8, 8, 8)
    );
}

#[test]
fn a_png_is_accepted_and_stored_with_a_png_extension() {
    let p = process(&photo("exiftool-t__PNG.png")).expect("processed");
    assert_eq!(p.source_format, SourceFormat::Png);
    assert_eq!((p.width, p.height), (16, 16));
}

// ---------- hostile input ----------

#[test]
fn zero_bytes_are_refused_as_empty() {
    assert_eq!(process(&[]), Err(PhotoError::Empty));
}

#[test]
fn random_bytes_are_not_an_image() {
    let mut rng = common::Rng(42);
    let junk: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    assert_eq!(process(&junk), Err(PhotoError::NotAnImage));
    assert_eq!(process(b"hello, world"), Err(PhotoError::NotAnImage));
}

#[test]
fn a_cut_off_jpeg_is_refused_as_truncated() {
    let full = photo("hdr__iphone_hdr_NO.jpg");
    for cut in [full.len() / 2, full.len() - 1000] {
        assert_eq!(
            process(&full[..cut]),
            Err(PhotoError::Truncated),
            "cut at {cut}"
        );
    }
    // Cut inside the headers: also a typed error, never a panic.
    assert!(process(&full[..600]).is_err());
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    let mut c = Vec::new();
    c.extend_from_slice(&(data.len() as u32).to_be_bytes());
    c.extend_from_slice(&crc_input);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_tiny_png_declaring_50000_by_50000_pixels_is_refused_before_decoding() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    assert!(png.len() < 100);
    let err = process(&png).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooManyPixels {
            width: 50_000,
            height: 50_000,
            max: 120_000_000
        }
    );
}

#[test]
fn a_jpeg_header_declaring_60000_by_60000_pixels_is_refused_before_decoding() {
    let mut jpeg = photo("exiftool-t__GPS.jpg");
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("SOF");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    assert!(matches!(
        process(&jpeg),
        Err(PhotoError::TooManyPixels {
            width: 60_000,
            height: 60_000,
            ..
        })
    ));
}

#[test]
fn a_48_megapixel_photo_is_within_the_default_limits() {
    let cfg = PhotoConfig::default();
    assert!(cfg.max_pixels >= 8000 * 6000);
    assert_eq!(
        (cfg.long_edge, cfg.jpeg_quality, cfg.thumb_long_edge),
        (2048, 80, 320)
    );
}

#[test]
fn an_oversized_file_is_refused_unread() {
    let cfg = PhotoConfig {
        max_input_bytes: 1000,
        ..PhotoConfig::default()
    };
    let bytes = photo("gps__DSCN0010.jpg");
    assert!(matches!(
        process_photo(&bytes, &cfg, None),
        Err(PhotoError::TooLarge { max: 1000, .. })
    ));
}

#[test]
fn heic_webp_gif_tiff_and_avif_are_refused_by_name() {
    let cases: [(&[u8], &str); 6] = [
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIC"),
        (b"\0\0\0\x1cftypmif1\0\0\0\0mif1heic", "HEIC"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "AVIF"),
        (b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0", "WebP"),
        (b"GIF89a\x01\0\x01\0\x80\0\0", "GIF"),
        (b"II*\0\x08\0\0\0\0\0", "TIFF"),
    ];
    for (bytes, name) in cases {
        assert_eq!(
            process(bytes),
            Err(PhotoError::UnsupportedFormat { detected: name })
        );
        assert_eq!(
            sniff(bytes),
            Err(PhotoError::UnsupportedFormat { detected: name })
        );
    }
}

// ---------- working-memory budget ----------

/// A PNG that is only a header: IHDR (`depth`-bit, colour type `colour`), optional extra
/// chunks before the image data, and an empty zlib stream as IDAT. Decoding it fails
/// (truncated), so a `TooLargeDecoded` answer proves the refusal came from the header.
fn png_header_only(w: u32, h: u32, depth: u8, colour: u8, extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &ihdr));
    for (kind, data) in extra {
        png.extend(png_chunk(kind, data));
    }
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// Largest square side whose estimate fits the default budget (binary search on the header).
fn largest_accepted_side(make: impl Fn(u32) -> Vec<u8>) -> u32 {
    let cfg = PhotoConfig::default();
    let (mut lo, mut hi) = (1u32, 20_000u32);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if working_bytes(&make(mid), &cfg).unwrap() <= cfg.max_decode_bytes {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

#[test]
fn a_100_megapixel_16_bit_rgba_png_is_refused_by_its_decoded_size_before_decoding() {
    // 100 MP is under the 120 MP pixel guard, but 8 bytes a pixel plus the conversion to RGB8.
    let png = png_header_only(10_000, 10_000, 16, 6, &[]);
    assert!(png.len() < 100);
    let start = Instant::now();
    match process(&png) {
        Err(PhotoError::TooLargeDecoded {
            width: 10_000,
            height: 10_000,
            bytes,
            max,
        }) => {
            assert_eq!(max, DEFAULT_MAX_DECODE_BYTES);
            // 800 MB decoded + 400 MB RGBA8 alive at the same time.
            assert!(bytes >= 1_200_000_000, "{bytes}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "refused without decoding"
    );
    let msg = process(&png).unwrap_err().to_string();
    assert!(
        msg.contains("10000x10000") && msg.contains("bytes of memory"),
        "{msg}"
    );
}

/// Both sides of the default budget for one PNG layout: the largest accepted square passes the
/// header check (and then fails only because the header-only file has no pixel data), one
/// pixel more on each side is refused.
fn check_png_boundary(depth: u8, colour: u8, bytes_per_pixel_at_peak: u64) -> u32 {
    let make = |s: u32| png_header_only(s, s, depth, colour, &[]);
    let side = largest_accepted_side(make);
    let budget = DEFAULT_MAX_DECODE_BYTES;
    // The estimate is dominated by the decode + conversion buffers.
    let px = |s: u32| u64::from(s) * u64::from(s);
    assert!(px(side) * bytes_per_pixel_at_peak <= budget, "side {side}");
    // Accepted by the header check: decoding then fails on the missing pixel data.
    assert!(
        matches!(
            process(&make(side)),
            Err(PhotoError::Truncated | PhotoError::Corrupt(_))
        ),
        "{side}: {:?}",
        process(&make(side))
    );
    assert!(
        matches!(
            process(&make(side + 1)),
            Err(PhotoError::TooLargeDecoded { .. })
        ),
        "{}",
        side + 1
    );
    side
}

#[test]
fn the_largest_accepted_16_bit_rgba_png_is_the_budget_over_12_bytes_a_pixel() {
    // 8 bytes native + 4 bytes RGBA8 alive together while converting.
    let side = check_png_boundary(16, 6, 12);
    assert!((3600..3800).contains(&side), "{side}");
    let px = u64::from(side + 1) * u64::from(side + 1);
    assert!(px * 12 > DEFAULT_MAX_DECODE_BYTES - (8 << 20), "{side}");
}

#[test]
fn an_8_bit_rgb_png_near_the_old_pixel_limit_is_refused_and_the_largest_accepted_one_fits() {
    // 120 MP 8-bit RGB passed the old pixel limit (360 MB decoded); now it is refused.
    let png = png_header_only(12_000, 10_000, 8, 2, &[]);
    assert!(matches!(
        process(&png),
        Err(PhotoError::TooLargeDecoded {
            width: 12_000,
            height: 10_000,
            ..
        })
    ));
    // 3 bytes decoded + the resize's vertical pass (width × 2048 × 3) + 2048² × 3.
    let side = check_png_boundary(8, 2, 3);
    assert!((5500..7000).contains(&side), "{side}");
}

#[test]
fn a_trns_chunk_counts_as_an_alpha_channel() {
    let cfg = PhotoConfig::default();
    let plain = working_bytes(&png_header_only(4000, 3000, 8, 2, &[]), &cfg).unwrap();
    let trns = working_bytes(
        &png_header_only(4000, 3000, 8, 2, &[(b"tRNS", &[0, 0, 0, 0, 0, 0])]),
        &cfg,
    )
    .unwrap();
    // RGBA8 (from tRNS) composited into RGB8: 7 bytes a pixel alive at once.
    assert!(trns >= 7 * 12_000_000 && trns > plain, "{plain} {trns}");
}

/// A `w`×`h` JPEG (4:2:0, optionally progressive) whose SOF is then patched to `pw`×`ph`.
fn jpeg_patched(progressive: bool, pw: u16, ph: u16) -> Vec<u8> {
    let px = vec![128u8; 32 * 32 * 3];
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    c.set_progressive(progressive).unwrap();
    let mut j = c
        .compress_to_vec(turbojpeg::Image {
            pixels: &px[..],
            width: 32,
            pitch: 96,
            height: 32,
            format: turbojpeg::PixelFormat::RGB,
        })
        .unwrap();
    let sof = j
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("SOF");
    j[sof + 5..sof + 7].copy_from_slice(&ph.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&pw.to_be_bytes());
    j
}

#[test]
fn a_120_megapixel_baseline_jpeg_fits_because_it_is_decoded_scaled_down() {
    let cfg = PhotoConfig::default();
    let baseline = jpeg_patched(false, 12_000, 10_000);
    let need = working_bytes(&baseline, &cfg).unwrap();
    // 3000×2500 RGB decode (2/8 scale) + resize buffers: far below the budget.
    assert!(need < 64 << 20, "{need}");
    assert!(need <= cfg.max_decode_bytes);
}

#[test]
fn a_progressive_jpeg_counts_its_whole_image_coefficient_buffer() {
    let cfg = PhotoConfig::default();
    let base = working_bytes(&jpeg_patched(false, 8000, 6000), &cfg).unwrap();
    let prog = working_bytes(&jpeg_patched(true, 8000, 6000), &cfg).unwrap();
    // 4:2:0: 1.5 samples a pixel × 2 bytes a coefficient = 144 MB for 48 MP, next to the
    // 3000×2250 RGB decode buffer; the baseline JPEG needs no coefficient buffer.
    assert!(base < 64 << 20, "{base}");
    assert!(prog >= 144_000_000 + 20_250_000, "{prog}");
    // A 100 MP progressive JPEG is refused from its header.
    let big = jpeg_patched(true, 12_000, 8_400);
    assert!(matches!(
        process(&big),
        Err(PhotoError::TooLargeDecoded {
            width: 12_000,
            height: 8_400,
            ..
        })
    ));
}

#[test]
fn a_real_16_bit_rgba_png_is_processed_at_exactly_its_budget_and_refused_one_byte_below() {
    let img = image::ImageBuffer::from_fn(640, 480, |x, y| {
        image::Rgba([(x * 100) as u16, (y * 130) as u16, 40_000, 65_535])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba16(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let need = working_bytes(&png, &PhotoConfig::default()).unwrap();
    let at = PhotoConfig {
        max_decode_bytes: need,
        ..PhotoConfig::default()
    };
    let p = process_photo(&png, &at, None).expect("fits exactly");
    assert_eq!((p.width, p.height), (640, 480));
    let below = PhotoConfig {
        max_decode_bytes: need - 1,
        ..PhotoConfig::default()
    };
    assert_eq!(
        process_photo(&png, &below, None),
        Err(PhotoError::TooLargeDecoded {
            width: 640,
            height: 480,
            bytes: need,
            max: need - 1
        })
    );
    // Bit depth and channels count: the same size in 8-bit RGB needs less.
    let rgb = png_header_only(640, 480, 8, 2, &[]);
    let cfg = PhotoConfig::default();
    let big = working_bytes(&png_header_only(4000, 3000, 16, 6, &[]), &cfg).unwrap();
    let small = working_bytes(&png_header_only(4000, 3000, 8, 2, &[]), &cfg).unwrap();
    assert!(big > 2 * small, "{big} {small}");
    assert!(working_bytes(&rgb, &cfg).unwrap() <= need);
}

#[test]
fn the_default_budget_is_160_mib_and_an_old_config_without_it_gets_the_default() {
    assert_eq!(PhotoConfig::default().max_decode_bytes, 160 << 20);
    let old = r#"{"long_edge":2048,"jpeg_quality":80,"thumb_long_edge":320,
        "max_input_bytes":41943040,"max_pixels":120000000}"#;
    let cfg: PhotoConfig = serde_json::from_str(old).unwrap();
    assert_eq!(cfg, PhotoConfig::default());
}

// ---------- fuzz ----------

/// Small corpus files (fast to decode) used as mutation seeds.
const FUZZ_SEEDS: &[&str] = &[
    "gps__DSCN0010.jpg",
    "orientation__landscape_6.jpg",
    "orientation__portrait_8.jpg",
    "exiftool-t__Apple.jpg",
    "exiftool-t__GPS.jpg",
    "exiftool-t__PNG.png",
    "invalid__image01137.jpg",
    "xmp__no_exif.jpg",
];

fn mutate(rng: &mut common::Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if b.is_empty() {
            break;
        }
        match rng.below(7) {
            0 => {
                // bit flips anywhere
                for _ in 0..1 + rng.below(16) {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
            }
            1 => {
                let cut = rng.below(b.len());
                b.truncate(cut);
            }
            2 => {
                // header region: markers, EXIF, tables
                let n = b.len().min(2048);
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(n);
                    b[i] = rng.next_u64() as u8;
                }
            }
            3 => {
                // dimensions in SOF / IHDR
                if let Some(p) = b
                    .windows(2)
                    .position(|w| w[0] == 0xFF && (0xC0..=0xC3).contains(&w[1]))
                {
                    for k in 5..9 {
                        if let Some(x) = b.get_mut(p + k) {
                            *x = rng.next_u64() as u8;
                        }
                    }
                } else if b.len() > 24 {
                    for x in &mut b[16..24] {
                        *x = rng.next_u64() as u8;
                    }
                }
            }
            4 => {
                // delete a block
                let s = rng.below(b.len());
                let e = (s + 1 + rng.below(512)).min(b.len());
                b.drain(s..e);
            }
            5 => {
                // insert random bytes / markers
                let s = rng.below(b.len());
                let ins: Vec<u8> = (0..1 + rng.below(64))
                    .map(|_| {
                        if rng.below(4) == 0 {
                            0xFF
                        } else {
                            rng.next_u64() as u8
                        }
                    })
                    .collect();
                b.splice(s..s, ins);
            }
            _ => {
                // splice the tail of another seed
                let other = &seeds[rng.below(seeds.len())];
                let s = rng.below(b.len());
                let o = rng.below(other.len());
                b.truncate(s);
                b.extend_from_slice(&other[o..]);
            }
        }
    }
    b
}

/// Runs mutated inputs until `max_cases` or `budget`; returns (cases, ok, refused).
fn fuzz(seed: u64, max_cases: usize, budget: Duration) -> (usize, usize, usize) {
    let seeds: Vec<Vec<u8>> = FUZZ_SEEDS.iter().map(|f| photo(f)).collect();
    let mut rng = common::Rng(seed);
    let cfg = PhotoConfig {
        max_pixels: 40_000_000,
        ..PhotoConfig::default()
    };
    let wm = info();
    let start = Instant::now();
    let (mut cases, mut ok, mut refused) = (0, 0, 0);
    while cases < max_cases && start.elapsed() < budget {
        let input = mutate(&mut rng, &seeds);
        let with_wm = rng.below(4) == 0;
        let r = catch_unwind(AssertUnwindSafe(|| {
            process_photo(&input, &cfg, with_wm.then_some(&wm))
        }));
        match r {
            Ok(Ok(p)) => {
                assert!(p.width.max(p.height) <= 2048 && !p.derived_jpeg.is_empty());
                ok += 1;
            }
            Ok(Err(_)) => refused += 1,
            Err(_) => {
                let path =
                    std::env::temp_dir().join(format!("gridwalk-fuzz-crash-{seed}-{cases}.bin"));
                let _ = std::fs::write(&path, &input);
                panic!(
                    "process_photo panicked on case {cases} (seed {seed}); input saved to {}",
                    path.display()
                );
            }
        }
        cases += 1;
    }
    eprintln!(
        "fuzz seed {seed}: {cases} cases in {:?} ({ok} processed, {refused} refused)",
        start.elapsed()
    );
    (cases, ok, refused)
}

#[test]
fn mutated_corpus_files_never_panic_the_decoder() {
    let (cases, ok, refused) = fuzz(0xC0FFEE, 400, Duration::from_secs(40));
    assert!(cases >= 50, "only {cases} cases ran");
    assert!(ok > 0 && refused > 0);
}

/// Long variant: `cargo test --release -- --ignored long_fuzz` (GRIDWALK_FUZZ_CASES, default 20000).
#[test]
#[ignore]
fn long_fuzz_of_the_decode_path() {
    let n = std::env::var("GRIDWALK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    fuzz(0x5EED_0001, n, Duration::from_secs(3600));
}

// ---------- watermark ----------

fn info() -> WatermarkInfo {
    WatermarkInfo {
        device_time: FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 2, 9, 31, 5)
            .unwrap(),
        gnss_time: Some(Utc.with_ymd_and_hms(2026, 3, 2, 1, 31, 4).unwrap()),
        position: Some((31.74, 119.56, 8.0)),
        enterprise: "常州市金坛区某某木业有限公司".into(),
        inspector: "王小明".into(),
    }
}

#[test]
fn the_watermark_says_time_place_enterprise_inspector_and_check_code() {
    let lines = watermark_lines(&info(), "ABCD-1234");
    assert_eq!(
        lines,
        vec![
            "时间 2026-03-02 09:31:05 +08:00 (GNSS 01:31:04Z)",
            "位置 31.7400000,119.5600000 ±8m (WGS-84)",
            "企业 常州市金坛区某某木业有限公司",
            "检查人 王小明",
            "校验码 ABCD-1234",
        ]
    );
}

#[test]
fn the_check_code_is_the_first_eight_hex_digits_of_the_originals_sha256() {
    assert_eq!(check_code("17307b1207eb6487aa"), "1730-7B12");
    assert_eq!(check_code("xyz"), "????-????");
}

fn gradient(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 160]);
        }
    }
    v
}

#[test]
fn the_watermark_matches_the_golden_image() {
    let (w, h) = (480u32, 360u32);
    let mut px = gradient(w, h);
    burn_in(&mut px, w, h, &info(), "ABCD-1234");
    let golden =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/watermark_480x360.png");
    if std::env::var_os("GRIDWALK_UPDATE_GOLDEN").is_some() {
        image::save_buffer(&golden, &px, w, h, image::ExtendedColorType::Rgb8)
            .expect("write golden");
    }
    let want = image::open(&golden)
        .expect("golden PNG (regenerate with GRIDWALK_UPDATE_GOLDEN=1)")
        .to_rgb8();
    assert_eq!(want.dimensions(), (w, h));
    let (mut sum, mut bad) = (0u64, 0usize);
    for (a, b) in px.iter().zip(want.as_raw()) {
        let d = a.abs_diff(*b);
        sum += u64::from(d);
        bad += usize::from(d > 48);
    }
    let mean = sum as f64 / px.len() as f64;
    assert!(
        mean < 1.0 && bad < px.len() / 200,
        "mean diff {mean}, {bad} channels off by > 48"
    );
    // The band darkens the bottom and leaves the top untouched.
    let base = gradient(w, h);
    assert_eq!(
        &px[..(w * 200 * 3) as usize],
        &base[..(w * 200 * 3) as usize]
    );
}

#[test]
fn a_watermarked_photo_differs_only_in_the_band_and_keeps_a_clean_thumbnail() {
    let bytes = photo("orientation__landscape_1.jpg");
    let plain = process(&bytes).expect("plain");
    let marked = process_photo(&bytes, &PhotoConfig::default(), Some(&info())).expect("marked");
    assert_eq!(plain.thumbnail_sha256, marked.thumbnail_sha256);
    assert_ne!(plain.derived_sha256, marked.derived_sha256);
    let a = image::load_from_memory(&plain.derived_jpeg)
        .unwrap()
        .to_luma8();
    let b = image::load_from_memory(&marked.derived_jpeg)
        .unwrap()
        .to_luma8();
    let row_diff = |y: u32| {
        (0..a.width())
            .map(|x| a.get_pixel(x, y).0[0].abs_diff(b.get_pixel(x, y).0[0]) as u32)
            .sum::<u32>() as f64
            / a.width() as f64
    };
    assert!(row_diff(20) < 2.0, "top row changed");
    assert!(row_diff(a.height() - 5) > 20.0, "bottom band missing");
}

// ---------- fsio ----------

#[test]
fn an_atomic_write_leaves_the_file_and_no_temp_behind() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_atomic(dir.path(), "a.bin", b"hello").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"hello");
    write_atomic(dir.path(), "a.bin", b"world").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"world");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("a.bin")]);
}

#[test]
fn path_like_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", ".", "..", "a/b", "../x", &format!("{TEMP_PREFIX}x")] {
        assert!(
            matches!(
                write_atomic(dir.path(), bad, b"x"),
                Err(FsError::InvalidName(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn storing_a_photo_twice_is_idempotent_and_content_addressed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = photo("gps__DSCN0010.jpg");
    let p = process(&bytes).unwrap();
    let s1 = store_photo(dir.path(), &bytes, &p).unwrap();
    let s2 = store_photo(dir.path(), &bytes, &p).unwrap();
    assert_eq!(s1, s2);
    assert_eq!(
        s1.original_path.file_name().unwrap().to_string_lossy(),
        format!("{}.orig.jpg", p.original_sha256)
    );
    assert_eq!(
        s1.derived_path.file_name().unwrap().to_string_lossy(),
        format!("{}.jpg", p.derived_sha256)
    );
    assert_eq!(
        s1.thumbnail_path.file_name().unwrap().to_string_lossy(),
        format!("{}.thumb.jpg", p.thumbnail_sha256)
    );
    assert_eq!(std::fs::read(&s1.original_path).unwrap(), bytes);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    // A damaged stored copy is repaired on the next store.
    std::fs::write(&s1.derived_path, b"garbage").unwrap();
    store_photo(dir.path(), &bytes, &p).unwrap();
    assert_eq!(std::fs::read(&s1.derived_path).unwrap(), p.derived_jpeg);
}

#[test]
fn storing_with_the_wrong_original_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = process(&photo("gps__DSCN0010.jpg")).unwrap();
    assert!(matches!(
        store_photo(dir.path(), b"other", &p),
        Err(FsError::OriginalMismatch)
    ));
}

#[test]
fn leftover_temp_files_are_swept_and_real_files_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(format!("{TEMP_PREFIX}123-0-x.jpg")),
        b"half",
    )
    .unwrap();
    std::fs::write(dir.path().join("keep.jpg"), b"ok").unwrap();
    assert_eq!(sweep_temp(dir.path()).unwrap(), 1);
    assert_eq!(sweep_temp(dir.path()).unwrap(), 0);
    assert!(dir.path().join("keep.jpg").exists());
}

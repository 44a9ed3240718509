//! Bench / probe helper for `scripts/bench-photo`.
//!
//! ```text
//! gridwalk-photo-bench gen <out.jpg> <width> <height> [--progressive] [--444]
//!                                                       # photo-like JPEG with EXIF orientation 6
//! gridwalk-photo-bench gen-png <out.png> <w> <h> <8|16> <gray|ga|rgb|rgba>
//!                                                       # all-zero PNG, streamed (any size)
//! gridwalk-photo-bench run <in.jpg> <out_dir> [--watermark]
//! gridwalk-photo-bench peak <file> [--watermark]        # process once, print VmHWM
//! gridwalk-photo-bench limits                           # largest accepted 4:3 size per kind
//! gridwalk-photo-bench probe <file>...                  # print what process_photo says
//! ```

use std::error::Error;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use gridwalk_evidence::photo::{process_photo, working_bytes, PhotoConfig};
use gridwalk_evidence::watermark::WatermarkInfo;

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() >= 5 => gen(
            &args[2],
            args[3].parse()?,
            args[4].parse()?,
            args.iter().any(|a| a == "--progressive"),
            args.iter().any(|a| a == "--444"),
        ),
        Some("gen-png") if args.len() == 7 => gen_png(
            &args[2],
            args[3].parse()?,
            args[4].parse()?,
            args[5].parse()?,
            &args[6],
        ),
        Some("run") if args.len() >= 4 => run(&args[2], &args[3], args.iter().any(|a| a == "--watermark")),
        Some("peak") if args.len() >= 3 => peak(&args[2], args.iter().any(|a| a == "--watermark")),
        Some("limits") => limits(),
        Some("probe") => {
            for f in &args[2..] {
                probe(f);
            }
            Ok(())
        }
        _ => Err(
            "usage: gridwalk-photo-bench gen <out.jpg> <w> <h> [--progressive] [--444] | gen-png <out.png> <w> <h> <8|16> <gray|ga|rgb|rgba> | run <in> <out_dir> [--watermark] | peak <in> [--watermark] | limits | probe <files>"
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
fn gen(out: &str, w: usize, h: usize, progressive: bool, full_chroma: bool) -> Res<()> {
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
    let jpeg = compress(img, progressive, full_chroma)?;
    drop(px);
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

fn compress(img: turbojpeg::Image<&[u8]>, progressive: bool, full_chroma: bool) -> Res<Vec<u8>> {
    let mut c = turbojpeg::Compressor::new()?;
    c.set_quality(92)?;
    c.set_subsamp(if full_chroma {
        turbojpeg::Subsamp::None
    } else {
        turbojpeg::Subsamp::Sub2x2
    })?;
    c.set_progressive(progressive)?;
    Ok(c.compress_to_vec(img)?)
}

/// Peak resident memory of this process so far (`VmHWM`), in kB.
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Processes one file with the default config and prints the budget estimate, the outcome and
/// the process's peak RSS.
fn peak(input: &str, watermark: bool) -> Res<()> {
    let bytes = std::fs::read(input)?;
    let wm = if watermark { Some(info()?) } else { None };
    let cfg = PhotoConfig::default();
    let est = working_bytes(&bytes, &cfg);
    let t = std::time::Instant::now();
    let outcome = match process_photo(&bytes, &cfg, wm.as_ref()) {
        Ok(p) => format!(
            "OK {}x{} -> {}x{}",
            p.original_width, p.original_height, p.width, p.height
        ),
        Err(e) => format!("REFUSED {e}"),
    };
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "{input}: {} input bytes ({:.1} MiB); estimate {}; budget {:.1} MiB; {outcome}; {:.2} s; VmHWM {:.1} MiB",
        bytes.len(),
        mib(bytes.len() as u64),
        match est {
            Ok(b) => format!("{b} B ({:.1} MiB)", mib(b)),
            Err(e) => format!("n/a ({e})"),
        },
        mib(cfg.max_decode_bytes),
        t.elapsed().as_secs_f64(),
        vm_hwm_kb().map_or(f64::NAN, |kb| kb as f64 / 1024.0)
    );
    Ok(())
}

/// Largest accepted 4:3 landscape size (by the header check) for each kind of input.
fn limits() -> Res<()> {
    let cfg = PhotoConfig::default();
    println!(
        "budget {} B ({:.1} MiB), max_pixels {}",
        cfg.max_decode_bytes,
        cfg.max_decode_bytes as f64 / 1048576.0,
        cfg.max_pixels
    );
    type Maker = Box<dyn Fn(u32, u32) -> Res<Vec<u8>>>;
    let tiny = |progressive: bool, full_chroma: bool| -> Res<Vec<u8>> {
        let px = vec![128u8; 32 * 32 * 3];
        let img = turbojpeg::Image {
            pixels: &px[..],
            width: 32,
            pitch: 32 * 3,
            height: 32,
            format: turbojpeg::PixelFormat::RGB,
        };
        compress(img, progressive, full_chroma)
    };
    let kinds: Vec<(&str, Maker)> = vec![
        (
            "PNG 16-bit RGBA",
            Box::new(|w, h| Ok(png_header(w, h, 16, 6))),
        ),
        (
            "PNG 16-bit RGB",
            Box::new(|w, h| Ok(png_header(w, h, 16, 2))),
        ),
        (
            "PNG 8-bit RGBA",
            Box::new(|w, h| Ok(png_header(w, h, 8, 6))),
        ),
        ("PNG 8-bit RGB", Box::new(|w, h| Ok(png_header(w, h, 8, 2)))),
        ("JPEG baseline 4:2:0", {
            let t = tiny(false, false)?;
            Box::new(move |w, h| patch_sof(&t, w, h))
        }),
        ("JPEG progressive 4:2:0", {
            let t = tiny(true, false)?;
            Box::new(move |w, h| patch_sof(&t, w, h))
        }),
        ("JPEG progressive 4:4:4", {
            let t = tiny(true, true)?;
            Box::new(move |w, h| patch_sof(&t, w, h))
        }),
    ];
    for (name, make) in kinds {
        // Largest long edge (4:3) whose estimate fits and whose pixels pass max_pixels.
        let fits = |long: u32| -> Res<bool> {
            let (w, h) = (long, (long * 3 / 4).max(1));
            let b = make(w, h)?;
            Ok(u64::from(w) * u64::from(h) <= cfg.max_pixels
                && working_bytes(&b, &cfg)? <= cfg.max_decode_bytes)
        };
        let (mut lo, mut hi) = (1u32, 65_535u32);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid)? {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let (w, h) = (lo, lo * 3 / 4);
        let est = working_bytes(&make(w, h)?, &cfg)?;
        println!(
            "{name:24} {w}x{h} ({:.1} MP), estimate {:.1} MiB",
            f64::from(w) * f64::from(h) / 1e6,
            est as f64 / 1048576.0
        );
    }
    Ok(())
}

/// A PNG of `w`×`h` all-zero pixels whose IDAT is not needed (header-only estimate).
fn png_header(w: u32, h: u32, depth: u8, colour: u8) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[]));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// `jpeg` with the SOF width and height replaced.
fn patch_sof(jpeg: &[u8], w: u32, h: u32) -> Res<Vec<u8>> {
    let mut j = jpeg.to_vec();
    let sof = j
        .windows(2)
        .position(|m| m[0] == 0xFF && matches!(m[1], 0xC0..=0xC2))
        .ok_or("no SOF")?;
    let (w, h) = (u16::try_from(w)?, u16::try_from(h)?);
    j[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    Ok(j)
}

fn crc32(parts: &[&[u8]]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    let mut c = 0xFFFF_FFFFu32;
    for p in parts {
        for &b in *p {
            c = table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    !c
}

fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
    out
}

/// LSB-first bit writer for a deflate stream.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code (MSB first).
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
}

/// Writes a valid PNG of `w`×`h` all-zero pixels without ever holding them: the zlib stream is
/// one fixed-Huffman block of a literal 0 followed by (length 258, distance 1) matches.
fn gen_png(out: &str, w: u32, h: u32, depth: u8, kind: &str) -> Res<()> {
    let (colour, channels) = match kind {
        "gray" => (0u8, 1u64),
        "ga" => (4, 2),
        "rgb" => (2, 3),
        "rgba" => (6, 4),
        _ => return Err("kind: gray|ga|rgb|rgba".into()),
    };
    if depth != 8 && depth != 16 {
        return Err("depth: 8|16".into());
    }
    let row = 1 + u64::from(w) * channels * u64::from(depth / 8);
    let total = row * u64::from(h);
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = 01, fixed Huffman
    bits.code(0x30, 8); // literal 0
    let mut left = total - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.put(0, 8 - bits.n);
    }
    let adler = ((total % 65_521) << 16) | 1;
    let mut z = bits.out;
    z.extend_from_slice(&(adler as u32).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &z));
    png.extend(chunk(b"IEND", &[]));
    std::fs::write(out, &png)?;
    eprintln!(
        "wrote {out}: {w}x{h} {depth}-bit {kind}, {} bytes",
        png.len()
    );
    Ok(())
}

//! Photo pipeline: sniff → bound → read EXIF → (scaled) decode → resize → orient →
//! thumbnail → watermark → encode → hash.
//!
//! * Only JPEG and PNG are accepted, by magic bytes; everything else is refused with
//!   [`PhotoError::UnsupportedFormat`] or [`PhotoError::NotAnImage`].
//! * Input size, *declared* pixel count and the *working memory* the whole pipeline will need
//!   (from the header: bit depth, channels, progressive/multi-scan JPEG coefficient buffers,
//!   resize/orientation/encode buffers; see [`working_bytes`]) are checked before any pixel is
//!   decoded.
//! * JPEGs are decoded by libjpeg-turbo with DCT-domain down-scaling (the smallest n/8 whose
//!   output still covers the target long edge) so a 48 MP photo never exists at full size in
//!   memory, then resized with `fast_image_resize`
//!   and oriented *after* resizing (cheap), then re-encoded by libjpeg-turbo.
//! * Broken EXIF never fails an otherwise decodable image: it only loses the facts.
//! * Derived files carry no metadata at all (libjpeg-turbo writes only a JFIF APP0).

use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use fast_image_resize as fr;
use serde::{Deserialize, Serialize};

use crate::watermark::{self, WatermarkInfo};

/// Tunables of [`process_photo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoConfig {
    /// Long edge of the derived photo in pixels (never upscaled). Default 2048.
    pub long_edge: u32,
    /// JPEG quality of derived photo and thumbnail (1–100). Default 80.
    pub jpeg_quality: u8,
    /// Long edge of the thumbnail. Default 320.
    pub thumb_long_edge: u32,
    /// Inputs larger than this are refused unread. Default 40 MiB.
    pub max_input_bytes: u64,
    /// Inputs declaring more pixels than this are refused before decoding. Default 120 MP.
    /// A cheap first guard; the real bound is `max_decode_bytes`.
    pub max_pixels: u64,
    /// Working-memory budget in bytes. An input whose processing would hold more pixel
    /// buffers than this at the same time is refused from its header, before any pixel is
    /// decoded ([`PhotoError::TooLargeDecoded`]). What is counted ([`working_bytes`]): the
    /// decoded image in its native bit depth and channel count (a 16-bit RGBA PNG is 8 bytes a
    /// pixel) plus its conversion to 8-bit RGB, libjpeg's coefficient buffers for progressive
    /// or multi-scan JPEGs, and the resize, orientation, thumbnail, watermark and encode
    /// buffers, at the worst point of the pipeline. The input bytes themselves
    /// (≤ `max_input_bytes`, held by the caller) are not counted.
    ///
    /// Default [`DEFAULT_MAX_DECODE_BYTES`] = 160 MiB: the process peak is at most input
    /// (≤ 40 MiB) + 160 MiB + a few MiB of runtime ≈ 213 MB, under the 300 MB phone target
    /// with room for the rest of the app (measured: 167 MiB VmHWM for the worst accepted
    /// images, see `docs/evidence.md`). Accepted at most, e.g.: 16-bit RGBA PNG 13.6 MP,
    /// 8-bit RGB PNG 40 MP, progressive 4:2:0 JPEG 46 MP, baseline JPEG any size ≤ 120 MP.
    #[serde(default = "default_max_decode_bytes")]
    pub max_decode_bytes: u64,
}

/// Default of [`PhotoConfig::max_decode_bytes`]: 160 MiB.
pub const DEFAULT_MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;

fn default_max_decode_bytes() -> u64 {
    DEFAULT_MAX_DECODE_BYTES
}

impl Default for PhotoConfig {
    fn default() -> Self {
        PhotoConfig {
            long_edge: 2048,
            jpeg_quality: 80,
            thumb_long_edge: 320,
            max_input_bytes: 40 * 1024 * 1024,
            max_pixels: 120_000_000,
            max_decode_bytes: DEFAULT_MAX_DECODE_BYTES,
        }
    }
}

/// Accepted input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFormat {
    /// JPEG / JFIF / EXIF-JPEG.
    Jpeg,
    /// PNG.
    Png,
}

impl SourceFormat {
    /// File extension used when storing an original of this format.
    pub fn extension(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpg",
            SourceFormat::Png => "png",
        }
    }
}

/// GPS facts from EXIF (WGS-84 decimal degrees, south/west negative).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExifGps {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Altitude in metres (negative below sea level), if present.
    pub altitude_m: Option<f64>,
    /// GPSDateStamp + GPSTimeStamp (UTC), if both present and valid.
    pub time: Option<DateTime<Utc>>,
    /// GPSHPositioningError in metres, if present.
    pub h_error_m: Option<f64>,
}

/// What the EXIF said, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExifFacts {
    /// GPS position, if present and plausible.
    pub gps: Option<ExifGps>,
    /// DateTimeOriginal (camera local time, no zone).
    pub datetime_original: Option<NaiveDateTime>,
    /// OffsetTimeOriginal as seconds east of UTC (`+08:00` → 28800), if present and valid.
    pub datetime_original_offset_s: Option<i32>,
    /// Camera maker.
    pub make: Option<String>,
    /// Camera model.
    pub model: Option<String>,
    /// `true` when an EXIF block was present but (partly) unreadable.
    pub exif_damaged: bool,
}

/// Output of [`process_photo`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// Format of the original.
    pub source_format: SourceFormat,
    /// SHA-256 (lowercase hex) of the original bytes, exactly as received.
    pub original_sha256: String,
    /// Derived JPEG: upright, resized, watermarked if requested, no metadata.
    pub derived_jpeg: Vec<u8>,
    /// SHA-256 of `derived_jpeg`.
    pub derived_sha256: String,
    /// Thumbnail JPEG (upright, no watermark, no metadata).
    pub thumbnail_jpeg: Vec<u8>,
    /// SHA-256 of `thumbnail_jpeg`.
    pub thumbnail_sha256: String,
    /// Derived width (upright).
    pub width: u32,
    /// Derived height (upright).
    pub height: u32,
    /// Thumbnail width.
    pub thumb_width: u32,
    /// Thumbnail height.
    pub thumb_height: u32,
    /// Stored (un-oriented) width of the original.
    pub original_width: u32,
    /// Stored (un-oriented) height of the original.
    pub original_height: u32,
    /// EXIF orientation applied (1 when absent or invalid).
    pub orientation: u16,
    /// EXIF facts.
    pub exif: ExifFacts,
    /// Decoder warning for recoverable damage in the pixel data (e.g. "Corrupt JPEG data:
    /// premature end of data segment"): the photo was accepted but should be flagged.
    pub decode_warning: Option<String>,
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// More bytes than `max_input_bytes`.
    #[error("the file is {bytes} bytes, more than the {max} allowed")]
    TooLarge {
        /// Input size.
        bytes: u64,
        /// Configured maximum.
        max: u64,
    },
    /// Recognised image format that GridWalk does not accept.
    #[error("{detected} images are not accepted; use JPEG or PNG")]
    UnsupportedFormat {
        /// Format name, e.g. `"HEIC"`, `"WebP"`, `"GIF"`, `"TIFF"`.
        detected: &'static str,
    },
    /// Not a recognised image at all.
    #[error("the file is not an image")]
    NotAnImage,
    /// Declared dimensions exceed `max_pixels` (decompression-bomb guard).
    #[error("the image declares {width}x{height} pixels, more than the {max} allowed")]
    TooManyPixels {
        /// Declared width (0 if only the decoder's allocation limit tripped).
        width: u64,
        /// Declared height.
        height: u64,
        /// Configured maximum pixel count.
        max: u64,
    },
    /// Processing the image would need more working memory than `max_decode_bytes`
    /// (decompression-bomb guard that accounts for bit depth, channels and JPEG coding).
    #[error(
        "the image ({width}x{height}) would need {bytes} bytes of memory to process, \
         more than the {max} allowed"
    )]
    TooLargeDecoded {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Working memory the pipeline would need, from [`working_bytes`].
        bytes: u64,
        /// Configured `max_decode_bytes`.
        max: u64,
    },
    /// Declared width or height is zero.
    #[error("the image declares an invalid size {width}x{height}")]
    InvalidDimensions {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
    },
    /// The data ends before the image is complete.
    #[error("the image is truncated")]
    Truncated,
    /// The data is damaged or uses a feature that cannot be decoded.
    #[error("the image is corrupt: {0}")]
    Corrupt(String),
    /// Encoding the derived JPEG failed (should not happen).
    #[error("encoding the derived image failed: {0}")]
    Encode(String),
}

/// Identifies the format from magic bytes.
pub fn sniff(bytes: &[u8]) -> Result<SourceFormat, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok(SourceFormat::Png);
    }
    let detected = if starts(b"GIF87a") || starts(b"GIF89a") {
        "GIF"
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "WebP"
    } else if bytes.get(4..8) == Some(b"ftyp") {
        match bytes.get(8..12) {
            Some(b"avif") | Some(b"avis") => "AVIF",
            Some(b"heic") | Some(b"heix") | Some(b"hevc") | Some(b"heim") | Some(b"heis")
            | Some(b"mif1") | Some(b"msf1") => "HEIC",
            _ => "ISO-BMFF (MP4/MOV/HEIF)",
        }
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        "TIFF"
    } else if starts(b"BM") && bytes.len() >= 26 {
        "BMP"
    } else if starts(b"%PDF") {
        "PDF"
    } else if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL ") {
        "JPEG XL"
    } else if starts(&[0xFF, 0x4F, 0xFF, 0x51]) || starts(b"\0\0\0\x0cjP  ") {
        "JPEG 2000"
    } else {
        return Err(PhotoError::NotAnImage);
    };
    Err(PhotoError::UnsupportedFormat { detected })
}

/// Processes an original photo into the derived evidence JPEG and thumbnail.
///
/// Never panics on any input; memory is bounded by `max_input_bytes` plus
/// `max_decode_bytes` (checked from the header, see [`working_bytes`]).
pub fn process_photo(
    original: &[u8],
    cfg: &PhotoConfig,
    watermark: Option<&WatermarkInfo>,
) -> Result<ProcessedPhoto, PhotoError> {
    if original.len() as u64 > cfg.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes: original.len() as u64,
            max: cfg.max_input_bytes,
        });
    }
    let format = sniff(original)?;
    let hdr = read_header(format, original)?;
    let (ow, oh) = (hdr.width, hdr.height);
    check_pixels(ow, oh, cfg.max_pixels)?;
    let need = estimate_working_bytes(&hdr, original.len(), cfg);
    let guard = Guard {
        width: u64::from(ow),
        height: u64::from(oh),
        bytes: need,
        max: cfg.max_decode_bytes,
    };
    if need > cfg.max_decode_bytes {
        return Err(guard.error());
    }

    let exif = read_exif(original);
    let orientation = exif.orientation;

    // Long edge of the derived photo, in the stored (un-oriented) frame; never upscale.
    let long = ow.max(oh);
    let target_long = cfg.long_edge.max(1).min(long);
    let (tw, th) = fit(ow, oh, target_long);

    let decoded = match format {
        SourceFormat::Jpeg => decode_jpeg(original, ow, oh, target_long, cfg.max_pixels, &guard)?,
        SourceFormat::Png => (decode_png(original, cfg.max_pixels, &guard)?, None),
    };
    let (decoded, decode_warning) = decoded;
    let resized = resize_rgb(decoded, tw, th)?;
    let (pixels, w, h) =
        crate::orient::apply(resized.pixels, tw as usize, th as usize, orientation);
    let (w32, h32) = (w as u32, h as u32);

    // Thumbnail from the upright, un-watermarked image.
    let thumb_long = cfg.thumb_long_edge.max(1).min(w32.max(h32));
    let (thw, thh) = fit(w32, h32, thumb_long);
    let thumbnail_jpeg = if (thw, thh) == (w32, h32) {
        encode_jpeg(&pixels, thw, thh, cfg.jpeg_quality)?
    } else {
        let thumb = resize_ref(&pixels, w32, h32, thw, thh)?;
        encode_jpeg(&thumb, thw, thh, cfg.jpeg_quality)?
    };

    let original_sha256 = crate::sha256_hex(original);
    let mut pixels = pixels;
    if let Some(info) = watermark {
        let code = watermark::check_code(&original_sha256);
        watermark::burn_in(&mut pixels, w32, h32, info, &code);
    }
    let derived_jpeg = encode_jpeg(&pixels, w32, h32, cfg.jpeg_quality)?;
    drop(pixels);

    Ok(ProcessedPhoto {
        source_format: format,
        original_sha256,
        derived_sha256: crate::sha256_hex(&derived_jpeg),
        derived_jpeg,
        thumbnail_sha256: crate::sha256_hex(&thumbnail_jpeg),
        thumbnail_jpeg,
        width: w32,
        height: h32,
        thumb_width: thw,
        thumb_height: thh,
        original_width: ow,
        original_height: oh,
        orientation: if (1..=8).contains(&orientation) {
            orientation
        } else {
            1
        },
        exif: exif.facts,
        decode_warning,
    })
}

fn check_pixels(w: u32, h: u32, max: u64) -> Result<(), PhotoError> {
    let (w, h) = (u64::from(w), u64::from(h));
    if w == 0 || h == 0 {
        return Err(PhotoError::InvalidDimensions {
            width: w,
            height: h,
        });
    }
    if w * h > max {
        return Err(PhotoError::TooManyPixels {
            width: w,
            height: h,
            max,
        });
    }
    Ok(())
}

/// Scales `(w, h)` so that the long edge is `long`, keeping the aspect ratio (min 1 px).
fn fit(w: u32, h: u32, long: u32) -> (u32, u32) {
    let m = w.max(h).max(1) as u64;
    let sc = |v: u32| (((v as u64) * (long as u64) + m / 2) / m).max(1) as u32;
    if w >= h {
        (long, sc(h))
    } else {
        (sc(w), long)
    }
}

/// Where the budget check trips, for the typed error.
struct Guard {
    width: u64,
    height: u64,
    bytes: u64,
    max: u64,
}

impl Guard {
    fn error(&self) -> PhotoError {
        PhotoError::TooLargeDecoded {
            width: self.width,
            height: self.height,
            bytes: self.bytes,
            max: self.max,
        }
    }
}

/// What the header says: enough to size every buffer of the pipeline.
#[derive(Debug, Clone)]
struct Header {
    width: u32,
    height: u32,
    layout: Layout,
}

#[derive(Debug, Clone)]
enum Layout {
    /// PNG as the `image` crate decodes it: palette and < 8-bit samples expanded to 8 bits,
    /// a `tRNS` chunk turned into an alpha channel, 16-bit samples kept at 16 bits.
    Png { channels: u64, sample_bytes: u64 },
    /// JPEG. `cmyk` ones go through the `image` crate at full size; `frame` is `None` when the
    /// markers could not be walked (then the worst case is assumed).
    Jpeg {
        cmyk: bool,
        lossless: bool,
        frame: Option<JpegFrame>,
    },
}

/// The parts of a JPEG frame that decide libjpeg's (and zune-jpeg's) buffers.
#[derive(Debug, Clone)]
struct JpegFrame {
    /// Progressive, or a first scan that does not hold every component: the decoder keeps
    /// the whole image's coefficients (2 bytes per coefficient) until the last scan.
    multi_scan: bool,
    /// (horizontal, vertical) sampling factor of each component.
    sampling: Vec<(u64, u64)>,
}

fn read_header(format: SourceFormat, b: &[u8]) -> Result<Header, PhotoError> {
    match format {
        SourceFormat::Png => png_header(b),
        SourceFormat::Jpeg => jpeg_header(b),
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn png_header(b: &[u8]) -> Result<Header, PhotoError> {
    // Signature (8) + IHDR length (4) + "IHDR" (4) + width, height (4 + 4) + bit depth (1)
    // + colour type (1).
    let ihdr = b.get(8..26).ok_or(PhotoError::Truncated)?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(PhotoError::Corrupt(
            "PNG does not start with an IHDR chunk".into(),
        ));
    }
    let w = be32(ihdr, 8).ok_or(PhotoError::Truncated)?;
    let h = be32(ihdr, 12).ok_or(PhotoError::Truncated)?;
    let (depth, colour) = (ihdr[16], ihdr[17]);
    let sample_bytes = if depth == 16 { 2 } else { 1 };
    let channels = match colour {
        0 => 1 + u64::from(png_has_trns(b)), // grey (+ alpha from tRNS)
        2 | 3 => 3 + u64::from(png_has_trns(b)), // RGB / palette (+ alpha from tRNS)
        4 => 2,                              // grey + alpha
        _ => 4,                              // RGBA (and invalid types: worst case)
    };
    Ok(Header {
        width: w,
        height: h,
        layout: Layout::Png {
            channels,
            sample_bytes,
        },
    })
}

/// Whether a `tRNS` chunk comes before the first `IDAT` (the decoder then adds an alpha
/// channel). Chunks that cannot be walked count as "yes" (worst case).
fn png_has_trns(b: &[u8]) -> bool {
    let mut at = 8usize;
    loop {
        let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) else {
            return true;
        };
        match kind {
            b"IDAT" => return false,
            b"tRNS" => return true,
            _ => {}
        }
        match (len as usize)
            .checked_add(12)
            .and_then(|n| at.checked_add(n))
        {
            Some(next) => at = next,
            None => return true,
        }
    }
}

fn jpeg_header(b: &[u8]) -> Result<Header, PhotoError> {
    let mut d = crate::tj::Decoder::new()
        .ok_or_else(|| PhotoError::Corrupt("TurboJPEG init failed".into()))?;
    let hdr = d.header(b).map_err(classify_tj)?;
    let w = u32::try_from(hdr.width).map_err(|_| PhotoError::Corrupt("width overflow".into()))?;
    let h = u32::try_from(hdr.height).map_err(|_| PhotoError::Corrupt("height overflow".into()))?;
    Ok(Header {
        width: w,
        height: h,
        layout: Layout::Jpeg {
            cmyk: crate::tj::is_cmyk(hdr.colorspace),
            lossless: hdr.lossless,
            frame: jpeg_frame(b),
        },
    })
}

/// Walks the JPEG markers up to the first SOS the way libjpeg does (garbage before a marker
/// and fill bytes are skipped) and reports the frame's components and whether the image is
/// coded in more than one scan.
fn jpeg_frame(b: &[u8]) -> Option<JpegFrame> {
    let mut at = 2usize; // after SOI
    let mut frame: Option<(bool, Vec<(u64, u64)>)> = None;
    loop {
        while *b.get(at)? != 0xFF {
            at += 1;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue, // standalone markers
            0xD9 => return None,            // EOI before any scan
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
        let seg = b.get(at + 2..at + len.max(2))?;
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let n = usize::from(*seg.get(5)?);
                let mut sampling = Vec::with_capacity(n);
                for i in 0..n {
                    let hv = *seg.get(6 + i * 3 + 1)?;
                    sampling.push((u64::from(hv >> 4).max(1), u64::from(hv & 0x0F).max(1)));
                }
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                frame = Some((progressive, sampling));
            }
            0xDA => {
                let (progressive, sampling) = frame?;
                let in_scan = usize::from(*seg.first()?);
                return Some(JpegFrame {
                    multi_scan: progressive || in_scan < sampling.len(),
                    sampling,
                });
            }
            _ => {}
        }
        at += len;
    }
}

/// Bytes of working memory [`process_photo`] needs for `original` under `cfg`: the largest
/// total of buffers alive at the same time anywhere in the pipeline, computed from the header
/// alone (nothing is decoded). The input bytes themselves are not included. An input is
/// refused with [`PhotoError::TooLargeDecoded`] when this exceeds `cfg.max_decode_bytes`.
pub fn working_bytes(original: &[u8], cfg: &PhotoConfig) -> Result<u64, PhotoError> {
    let hdr = read_header(sniff(original)?, original)?;
    check_pixels(hdr.width, hdr.height, u64::MAX)?;
    Ok(estimate_working_bytes(&hdr, original.len(), cfg))
}

/// Allocator slack, font rasteriser, EXIF, libjpeg compressor and decoder state.
const FIXED_OVERHEAD: u128 = 4 << 20;

/// See [`working_bytes`]. Mirrors the pipeline phase by phase (u128: cannot overflow).
fn estimate_working_bytes(hdr: &Header, input_len: usize, cfg: &PhotoConfig) -> u64 {
    let (w32, h32) = (hdr.width.max(1), hdr.height.max(1));
    let (w, h) = (u128::from(w32), u128::from(h32));
    let px = w * h;
    let target_long = cfg.long_edge.max(1).min(w32.max(h32));
    let (tw, th) = fit(w32, h32, target_long);
    let (tw, th) = (u128::from(tw), u128::from(th));
    let target = 3 * tw * th;
    // Resize of an RGB8 `sw`×`sh` source to the target: source + fast_image_resize's
    // vertical-pass buffer (source width × target height) + destination.
    let resize = |sw: u128, sh: u128| {
        if (sw, sh) == (tw, th) {
            3 * sw * sh
        } else {
            3 * sw * sh + 3 * sw * th + 3 + target
        }
    };
    // After the resize: orientation copies the target-size image (2×), the thumbnail resize
    // and the JPEG encoder's output buffer each add at most one more target-size buffer.
    let after = 3 * target;

    let (decode, resized) = match &hdr.layout {
        Layout::Png {
            channels,
            sample_bytes,
        } => {
            let (c, sb) = (u128::from(*channels), u128::from(*sample_bytes));
            let native = px * c * sb;
            // The png crate's row buffers (current + previous row) and inflate window.
            let rows = 4 * (w * c * sb + 1) + (64 << 10);
            let alpha = c == 2 || c == 4;
            let to_rgb8 = match (alpha, c, sb) {
                // Already RGB8: no conversion.
                (false, 3, 1) => native,
                // → RGB8 next to the native buffer.
                (false, _, _) => native + 3 * px,
                // RGBA8: composited on white into RGB8 next to it.
                (true, 4, 1) => 7 * px,
                // → RGBA8 next to the native buffer, then composited into RGB8.
                (true, _, _) => (native + 4 * px).max(7 * px),
            };
            ((native + rows).max(to_rgb8), resize(w, h))
        }
        Layout::Jpeg {
            cmyk,
            lossless,
            frame,
        } => {
            // Whole-image coefficient buffer of a progressive / multi-scan JPEG: per component
            // (MCUs across × H) × (MCUs down × V) blocks of 64 coefficients × 2 bytes; lossless
            // JPEGs keep 1 sample (≤ 2 bytes) per block instead. Unknown frame: 4 full-size
            // components, multi-scan.
            let worst = [(1, 1); 4];
            let (multi, sampling): (bool, &[(u64, u64)]) = match frame {
                Some(f) => (f.multi_scan, &f.sampling),
                None => (true, &worst),
            };
            let hmax = u128::from(sampling.iter().map(|s| s.0).max().unwrap_or(1));
            let vmax = u128::from(sampling.iter().map(|s| s.1).max().unwrap_or(1));
            let per_block = if *lossless { 2 } else { 128 };
            let block = if *lossless { 1 } else { 8 };
            let mcus_x = w.div_ceil(block * hmax);
            let mcus_y = h.div_ceil(block * vmax);
            let coef = if multi {
                sampling
                    .iter()
                    .map(|&(hs, vs)| mcus_x * u128::from(hs) * mcus_y * u128::from(vs) * per_block)
                    .sum::<u128>()
            } else {
                0
            };
            // Decoder row buffers (iMCU rows of every component, upsampling context, colour
            // conversion): generous.
            let rows = 96 * w * vmax * (sampling.len().max(3) as u128);
            if *cmyk {
                // `image` crate (zune-jpeg): copies the input, decodes RGB8 at full size.
                let full = 3 * px;
                (input_len as u128 + full + coef + rows, resize(w, h))
            } else {
                let num = jpeg_scale(w32.max(h32), target_long, *lossless);
                let sw = crate::tj::scaled(w32 as usize, num) as u128;
                let sh = crate::tj::scaled(h32 as usize, num) as u128;
                (3 * sw * sh + coef + rows, resize(sw, sh))
            }
        }
    };
    let total = decode.max(resized).max(after) + FIXED_OVERHEAD;
    u64::try_from(total).unwrap_or(u64::MAX)
}

/// Smallest DCT scale n/8 whose output still covers the target (memory ∝ n²); lossless
/// JPEGs cannot be scaled.
fn jpeg_scale(long: u32, target_long: u32, lossless: bool) -> usize {
    if lossless {
        return 8;
    }
    (1..=8)
        .find(|&n| crate::tj::scaled(long as usize, n) >= target_long as usize)
        .unwrap_or(8)
}

/// Maps a fatal libjpeg-turbo error (or the end-of-file warning) to a typed error.
fn classify_tj(e: crate::tj::TjError) -> PhotoError {
    if e.message.contains("Premature end of JPEG file") {
        PhotoError::Truncated
    } else {
        PhotoError::Corrupt(e.message)
    }
}

struct Rgb {
    pixels: Vec<u8>,
    w: u32,
    h: u32,
}

/// Decodes a JPEG to RGB8, DCT-scaling by the smallest n/8 whose result stays ≥ `target_long`.
///
/// libjpeg-turbo *warnings* leave every pixel decoded (damaged entropy segments are resynced at
/// the next restart marker). They are accepted and reported in the second tuple element,
/// except "Premature end of JPEG file", which means the file was cut: [`PhotoError::Truncated`].
fn decode_jpeg(
    b: &[u8],
    ow: u32,
    oh: u32,
    target_long: u32,
    max_pixels: u64,
    guard: &Guard,
) -> Result<(Rgb, Option<String>), PhotoError> {
    let mut d = crate::tj::Decoder::new()
        .ok_or_else(|| PhotoError::Corrupt("TurboJPEG init failed".into()))?;
    let hdr = d.header(b).map_err(classify_tj)?;
    if crate::tj::is_cmyk(hdr.colorspace) {
        return decode_with_image_crate(b, image::ImageFormat::Jpeg, max_pixels, guard)
            .map(|r| (r, None));
    }
    let num = jpeg_scale(ow.max(oh), target_long, hdr.lossless);
    let (w, h) = (
        crate::tj::scaled(hdr.width, num),
        crate::tj::scaled(hdr.height, num),
    );
    let mut pixels = vec![0u8; w * h * 3];
    // Backstop for libjpeg's whole-image buffers: the budget, in MiB.
    let max_mib = std::ffi::c_int::try_from(guard.max.div_ceil(1 << 20)).unwrap_or(i32::MAX);
    let warning = d.decode_rgb(b, num, w, &mut pixels, max_mib).map_err(|e| {
        if e.message.contains("Backing store") {
            guard.error()
        } else {
            classify_tj(e)
        }
    })?;
    if let Some(msg) = &warning {
        if msg.contains("Premature end of JPEG file") {
            return Err(PhotoError::Truncated);
        }
    }
    Ok((
        Rgb {
            pixels,
            w: w as u32,
            h: h as u32,
        },
        warning,
    ))
}

fn decode_png(b: &[u8], max_pixels: u64, guard: &Guard) -> Result<Rgb, PhotoError> {
    decode_with_image_crate(b, image::ImageFormat::Png, max_pixels, guard)
}

/// Slow path (PNG, CMYK JPEG) through the `image` crate, with allocation limits.
fn decode_with_image_crate(
    b: &[u8],
    fmt: image::ImageFormat,
    max_pixels: u64,
    guard: &Guard,
) -> Result<Rgb, PhotoError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(b), fmt);
    let mut limits = image::Limits::default();
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // Backstop: the decoded buffer alone never exceeds the working-memory budget (the header
    // check in `process_photo` has already counted it and everything after it).
    limits.max_alloc = Some(guard.max);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => guard.error(),
        image::ImageError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        other => {
            let m = other.to_string();
            if m.contains("EOF")
                || m.contains("end of")
                || m.contains("truncated")
                || m.contains("No more data")
            {
                PhotoError::Truncated
            } else {
                PhotoError::Corrupt(m)
            }
        }
    })?;
    let (w, h) = (img.width(), img.height());
    let pixels = if img.color().has_alpha() {
        // Composite on white so transparent areas do not turn black.
        let rgba = img.into_rgba8();
        let mut out = Vec::with_capacity(w as usize * h as usize * 3);
        for p in rgba.pixels() {
            let a = u16::from(p.0[3]);
            for c in 0..3 {
                out.push(((u16::from(p.0[c]) * a + 255 * (255 - a) + 127) / 255) as u8);
            }
        }
        out
    } else {
        img.into_rgb8().into_raw()
    };
    Ok(Rgb { pixels, w, h })
}

/// Resizes RGB8 to exactly `tw`×`th` (Catmull-Rom convolution, SIMD where available).
fn resize_rgb(src: Rgb, tw: u32, th: u32) -> Result<Rgb, PhotoError> {
    if src.w == tw && src.h == th {
        return Ok(src);
    }
    let src_img = fr::images::Image::from_vec_u8(src.w, src.h, src.pixels, fr::PixelType::U8x3)
        .map_err(|e| PhotoError::Corrupt(format!("resize source: {e}")))?;
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let mut resizer = fr::Resizer::new();
    let opts =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    resizer
        .resize(&src_img, &mut dst, &opts)
        .map_err(|e| PhotoError::Corrupt(format!("resize: {e}")))?;
    Ok(Rgb {
        pixels: dst.into_vec(),
        w: tw,
        h: th,
    })
}

/// Like [`resize_rgb`] but borrowing the source.
fn resize_ref(src: &[u8], w: u32, h: u32, tw: u32, th: u32) -> Result<Vec<u8>, PhotoError> {
    let src_img = fr::images::ImageRef::new(w, h, src, fr::PixelType::U8x3)
        .map_err(|e| PhotoError::Corrupt(format!("resize source: {e}")))?;
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let opts =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src_img, &mut dst, &opts)
        .map_err(|e| PhotoError::Corrupt(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

/// Encodes RGB8 as baseline JPEG, 4:2:0, no metadata.
pub(crate) fn encode_jpeg(
    pixels: &[u8],
    w: u32,
    h: u32,
    quality: u8,
) -> Result<Vec<u8>, PhotoError> {
    let mut c = turbojpeg::Compressor::new().map_err(|e| PhotoError::Encode(e.to_string()))?;
    c.set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    let img = turbojpeg::Image {
        pixels,
        width: w as usize,
        pitch: w as usize * 3,
        height: h as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(img)
        .map_err(|e| PhotoError::Encode(e.to_string()))
}

struct ExifRead {
    orientation: u16,
    facts: ExifFacts,
}

/// Reads EXIF leniently: a damaged block yields whatever fields could be parsed.
fn read_exif(bytes: &[u8]) -> ExifRead {
    let mut out = ExifRead {
        orientation: 1,
        facts: ExifFacts::default(),
    };
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(e) => Some(e),
        Err(exif::Error::NotFound(_)) => None,
        Err(e) => {
            out.facts.exif_damaged = true;
            e.distill_partial_result(|_| {}).ok()
        }
    };
    let Some(ex) = parsed else { return out };
    use exif::{In, Tag, Value};

    let field = |tag: Tag, ifd: In| ex.get_field(tag, ifd).map(|f| &f.value);
    let uint = |tag: Tag| field(tag, In::PRIMARY).and_then(|v| v.get_uint(0));
    let ascii = |tag: Tag| -> Option<String> {
        match field(tag, In::PRIMARY)? {
            Value::Ascii(parts) => {
                let raw = parts.first()?;
                let s = String::from_utf8_lossy(raw);
                let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                (!s.is_empty()).then(|| s.to_string())
            }
            _ => None,
        }
    };
    let rationals = |tag: Tag| -> Option<Vec<f64>> {
        match field(tag, In::PRIMARY)? {
            Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
            Value::SRational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
            _ => None,
        }
    };

    out.orientation = uint(Tag::Orientation)
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    out.facts.make = ascii(Tag::Make);
    out.facts.model = ascii(Tag::Model);
    out.facts.datetime_original =
        ascii(Tag::DateTimeOriginal).and_then(|s| parse_exif_datetime(&s));
    out.facts.datetime_original_offset_s = ascii(Tag::OffsetTimeOriginal)
        .and_then(|s| parse_offset(&s))
        .map(|o| o.local_minus_utc());

    let dms = |v: Vec<f64>| -> Option<f64> {
        let d = *v.first()?;
        let m = v.get(1).copied().unwrap_or(0.0);
        let s = v.get(2).copied().unwrap_or(0.0);
        let x = d + m / 60.0 + s / 3600.0;
        x.is_finite().then_some(x)
    };
    let lat = rationals(Tag::GPSLatitude).and_then(dms);
    let lon = rationals(Tag::GPSLongitude).and_then(dms);
    if let (Some(lat), Some(lon)) = (lat, lon) {
        let lat = if ascii(Tag::GPSLatitudeRef).is_some_and(|r| r.starts_with(['S', 's'])) {
            -lat
        } else {
            lat
        };
        let lon = if ascii(Tag::GPSLongitudeRef).is_some_and(|r| r.starts_with(['W', 'w'])) {
            -lon
        } else {
            lon
        };
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            let altitude_m = rationals(Tag::GPSAltitude)
                .and_then(|v| v.first().copied())
                .filter(|a| a.is_finite())
                .map(|a| {
                    if uint(Tag::GPSAltitudeRef) == Some(1) {
                        -a
                    } else {
                        a
                    }
                });
            let time = gps_time(ascii(Tag::GPSDateStamp), rationals(Tag::GPSTimeStamp));
            let h_error_m = rationals(Tag::GPSHPositioningError)
                .and_then(|v| v.first().copied())
                .filter(|e| e.is_finite() && *e >= 0.0);
            out.facts.gps = Some(ExifGps {
                lat,
                lon,
                altitude_m,
                time,
                h_error_m,
            });
        }
    }
    out
}

fn parse_exif_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim_end_matches('Z');
    let head = s.get(..19)?;
    NaiveDateTime::parse_from_str(head, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(head, "%Y-%m-%d %H:%M:%S"))
        .ok()
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let b = s.as_bytes();
    if b.len() < 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh: i32 = s.get(1..3)?.parse().ok()?;
    let mm: i32 = s.get(4..6)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hh * 3600 + mm * 60))
}

fn gps_time(date: Option<String>, hms: Option<Vec<f64>>) -> Option<DateTime<Utc>> {
    let date = date?;
    let d = NaiveDate::parse_from_str(date.get(..10)?, "%Y:%m:%d").ok()?;
    let hms = hms?;
    let (h, m, s) = (*hms.first()?, *hms.get(1)?, *hms.get(2)?);
    if !(h.is_finite() && m.is_finite() && s.is_finite()) || h < 0.0 || m < 0.0 || s < 0.0 {
        return None;
    }
    let whole = s.floor();
    let nanos = ((s - whole) * 1e9).round().min(999_999_999.0) as u32;
    let t = NaiveTime::from_hms_nano_opt(h as u32, m as u32, whole as u32, nanos)?;
    Some(NaiveDateTime::new(d, t).and_utc())
}

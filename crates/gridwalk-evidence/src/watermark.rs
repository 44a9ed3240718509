//! Evidence watermark burned into the derived photo.
//!
//! A semi-opaque dark band along the bottom edge carries five lines of white text:
//!
//! ```text
//! 时间 2026-03-02 09:31:05 +08:00 (GNSS 01:31:04Z)
//! 位置 31.7400000,119.5600000 ±8m (WGS-84)
//! 企业 <enterprise>
//! 检查人 <inspector>
//! 校验码 ABCD-1234
//! ```
//!
//! The text is rendered with the shipped Noto Sans CJK SC Bold subset (GB2312 + ASCII +
//! punctuation, `assets/`), at a pixel size proportional to the image width (width / 48,
//! at least 12 px), shrunk if the widest line would not fit. Characters outside the subset
//! render as the font's `.notdef` box.
//!
//! The check code ([`check_code`]) is the first 8 hex digits of the ORIGINAL file's SHA-256,
//! upper-cased and split 4-4 (`ABCD-1234`): anyone holding the original can verify that the
//! printed photo was derived from it.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// The shipped font subset (see `assets/README.md`).
pub static FONT_BYTES: &[u8] = include_bytes!("../assets/NotoSansSC-Bold-gb2312.otf");

/// What is written on the photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkInfo {
    /// Phone clock at capture, with its UTC offset.
    pub device_time: DateTime<FixedOffset>,
    /// GNSS time of the fix, if any.
    pub gnss_time: Option<DateTime<Utc>>,
    /// `(lat, lon, accuracy_m)`, WGS-84.
    pub position: Option<(f64, f64, f64)>,
    /// Enterprise name.
    pub enterprise: String,
    /// Inspector name.
    pub inspector: String,
}

/// Short verification code from the original's SHA-256 hex: first 8 hex digits, upper case,
/// as `XXXX-XXXX`. Returns `"????-????"` if the input is not hex.
pub fn check_code(original_sha256_hex: &str) -> String {
    let head: String = original_sha256_hex.chars().take(8).collect();
    if head.len() != 8 || !head.chars().all(|c| c.is_ascii_hexdigit()) {
        return "????-????".to_string();
    }
    let up = head.to_ascii_uppercase();
    format!("{}-{}", &up[..4], &up[4..])
}

fn clean(s: &str, max_chars: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

/// The text lines written on the photo, top to bottom.
pub fn watermark_lines(info: &WatermarkInfo, check_code: &str) -> Vec<String> {
    let mut time = format!("时间 {}", info.device_time.format("%Y-%m-%d %H:%M:%S %:z"));
    if let Some(g) = info.gnss_time {
        time.push_str(&format!(" (GNSS {}Z)", g.format("%H:%M:%S")));
    }
    let pos = match info.position {
        Some((lat, lon, acc)) => {
            let acc = if acc.is_finite() && acc >= 0.0 {
                format!("±{acc:.0}m")
            } else {
                "±?m".to_string()
            };
            format!("位置 {lat:.7},{lon:.7} {acc} (WGS-84)")
        }
        None => "位置 无定位 (no fix)".to_string(),
    };
    vec![
        time,
        pos,
        format!("企业 {}", clean(&info.enterprise, 40)),
        format!("检查人 {}", clean(&info.inspector, 20)),
        format!("校验码 {check_code}"),
    ]
}

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

fn line_width<F: Font>(font: &F, px: f32, text: &str) -> f32 {
    let sf = font.as_scaled(PxScale::from(px));
    let mut x = 0.0;
    let mut prev: Option<GlyphId> = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            x += sf.kern(p, id);
        }
        x += sf.h_advance(id);
        prev = Some(id);
    }
    x
}

/// Burns the watermark into a packed RGB8 image (`width`×`height`, 3 bytes per pixel).
/// Does nothing if the buffer does not match the dimensions.
pub fn burn_in(pixels: &mut [u8], width: u32, height: u32, info: &WatermarkInfo, check_code: &str) {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || pixels.len() != w * h * 3 {
        return;
    }
    let lines = watermark_lines(info, check_code);
    let margin = (w as f32 / 60.0).max(4.0);
    let mut px = (w as f32 / 48.0).max(12.0);
    if let Some(f) = font() {
        let widest = lines
            .iter()
            .map(|l| line_width(f, px, l))
            .fold(0.0f32, f32::max);
        let avail = w as f32 - 2.0 * margin;
        if widest > avail && widest > 0.0 {
            px = (px * avail / widest).max(10.0);
        }
    }
    let line_h = px * 1.3;
    let band_h = ((lines.len() as f32 * line_h + margin * 1.2).ceil() as usize).min(h);
    let band_top = h - band_h;

    // Band: 55 % black over the photo.
    for p in pixels[band_top * w * 3..].iter_mut() {
        *p = ((u16::from(*p) * 45 + 50) / 100) as u8;
    }

    let Some(f) = font() else { return };
    let sf = f.as_scaled(PxScale::from(px));
    let ascent = sf.ascent();
    for (i, text) in lines.iter().enumerate() {
        let baseline =
            band_top as f32 + margin * 0.6 + i as f32 * line_h + (line_h - px) / 2.0 + ascent;
        let mut x = margin;
        let mut prev: Option<GlyphId> = None;
        for ch in text.chars() {
            let id = sf.glyph_id(ch);
            if let Some(p) = prev {
                x += sf.kern(p, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(px), point(x, baseline));
            x += sf.h_advance(id);
            prev = Some(id);
            let Some(outline) = f.outline_glyph(glyph) else {
                continue;
            };
            let bb = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let xx = bb.min.x as i64 + i64::from(gx);
                let yy = bb.min.y as i64 + i64::from(gy);
                if xx < 0 || yy < band_top as i64 || xx >= w as i64 || yy >= h as i64 {
                    return;
                }
                let idx = (yy as usize * w + xx as usize) * 3;
                let a = cov.clamp(0.0, 1.0);
                for c in &mut pixels[idx..idx + 3] {
                    *c = (f32::from(*c) * (1.0 - a) + 255.0 * a + 0.5) as u8;
                }
            });
        }
    }
}

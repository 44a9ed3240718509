//! The printable inspection record (检查记录): one inspection as an A4 PDF with Chinese
//! headings, the enterprise, template, inspector and times, the result, findings and
//! answers, the photos with their captions (the watermark text burned into them, GNSS
//! position, distance, whether the server re-verified the bytes), the enterprise's
//! signature, the record's SHA-256 and a QR code of the URL that verifies it against
//! the server, with page numbers on every page.
//!
//! Plain input ([`Record`]), no database or HTTP: the server fills the record and hands
//! the bytes out (docs/console.md "Printable record"). Rendering is in two steps: a
//! layout into pages of drawing operations (pure, tested without a PDF), then the PDF
//! (krilla: the font is embedded as a subset of the glyphs used, so a record stays small
//! whatever the font's size; JPEG photos pass through without re-encoding).

mod font;
mod layout;
mod qr;
mod record;
mod render;

pub use font::{find_font, PdfFont, DEFAULT_FONT_PATHS, FONT_ENV};
pub use record::{Answer, Finding, Photo, Record, Signature};
pub use render::render;

/// What could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// No CJK font was named, and none of the default paths holds one.
    #[error(
        "no CJK font for the PDF: none of {tried} exists; install Debian's fonts-noto-cjk \
         or name a TTF/OTF/TTC file with --pdf-font FILE (env {FONT_ENV})"
    )]
    NoFont { tried: String },
    /// The font file could not be read.
    #[error("reading the PDF font {path}: {source}")]
    FontRead {
        path: String,
        source: std::io::Error,
    },
    /// The file is not a font, or has no face with Chinese glyphs.
    #[error("{path} is not a font with Chinese glyphs (检查记录)")]
    NotCjkFont { path: String },
    /// The QR code could not hold the verification URL.
    #[error("the verification URL does not fit a QR code: {0}")]
    Qr(String),
    /// The PDF writer failed.
    #[error("writing the PDF: {0}")]
    Pdf(String),
}

//! The CJK font the record is set in: found on disk (a named file, `GRIDWALK_PDF_FONT`,
//! or the usual Debian paths), one face picked from a collection (the Simplified
//! Chinese one of Noto Sans CJK's `.ttc`), and measured for line breaking.

use crate::PrintError;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable that names the font file.
pub const FONT_ENV: &str = "GRIDWALK_PDF_FONT";

/// Where a CJK font is looked for when none is named, in order: Debian's fonts-noto-cjk
/// (Sans, then Serif), fonts-wqy-microhei / -zenhei, fonts-arphic-uming, and the paths
/// other distributions use for Noto CJK.
pub const DEFAULT_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
];

/// The font file to use: `named` if given, else the first of [`DEFAULT_FONT_PATHS`]
/// that exists.
pub fn find_font(named: Option<&Path>) -> Result<PathBuf, PrintError> {
    if let Some(p) = named {
        return Ok(p.to_path_buf());
    }
    DEFAULT_FONT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| PrintError::NoFont {
            tried: DEFAULT_FONT_PATHS.join(", "),
        })
}

/// A loaded font face: the file's bytes and the face's index in it.
#[derive(Clone)]
pub struct PdfFont {
    data: Arc<Vec<u8>>,
    index: u32,
    name: String,
}

impl std::fmt::Debug for PdfFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfFont")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Characters every face must have: the record's fixed headings.
const PROBE: &str = "检查记录第页";

fn family(font: &FontRef) -> String {
    font.localized_strings(StringId::FAMILY_NAME)
        .english_or_first()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn has_cjk(font: &FontRef) -> bool {
    let map = font.charmap();
    PROBE.chars().all(|c| map.map(c).is_some())
}

impl PdfFont {
    /// Reads a TTF, OTF or collection (TTC/OTC) from disk.
    pub fn load(path: &Path) -> Result<PdfFont, PrintError> {
        let data = std::fs::read(path).map_err(|source| PrintError::FontRead {
            path: path.display().to_string(),
            source,
        })?;
        PdfFont::from_bytes(data).ok_or_else(|| PrintError::NotCjkFont {
            path: path.display().to_string(),
        })
    }

    /// A face of `data` with Chinese glyphs: in a collection the Simplified Chinese
    /// one (family name ending in `SC`) if there is one, else the first with the glyphs.
    pub fn from_bytes(data: Vec<u8>) -> Option<PdfFont> {
        let (index, name) = {
            let faces: Vec<(u32, FontRef)> = match FileRef::new(&data).ok()? {
                FileRef::Font(f) => vec![(0, f)],
                FileRef::Collection(c) => (0..c.len())
                    .filter_map(|i| c.get(i).ok().map(|f| (i, f)))
                    .collect(),
            };
            let usable: Vec<(u32, String)> = faces
                .iter()
                .filter(|(_, f)| has_cjk(f))
                .map(|(i, f)| (*i, family(f)))
                .collect();
            usable
                .iter()
                .find(|(_, n)| n.ends_with(" SC") || n.contains("SC "))
                .or_else(|| usable.first())
                .cloned()?
        };
        Some(PdfFont {
            data: Arc::new(data),
            index,
            name,
        })
    }

    /// The face's family name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn krilla(&self) -> Option<krilla::text::Font> {
        krilla::text::Font::new(self.data.clone().into(), self.index)
    }

    pub(crate) fn measure(&self) -> Option<Measure<'_>> {
        let font = FontRef::from_index(&self.data, self.index).ok()?;
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Some(Measure {
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem: if upem > 0.0 { upem } else { 1000.0 },
        })
    }
}

/// Advance widths of the face, for line breaking.
pub(crate) struct Measure<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    metrics: skrifa::metrics::GlyphMetrics<'a>,
    upem: f32,
}

impl Measure<'_> {
    /// Width of `c` at `size` points (a character the font lacks: as wide as an ideograph).
    pub fn char_width(&self, c: char, size: f32) -> f32 {
        let units = self
            .charmap
            .map(c)
            .and_then(|g| self.metrics.advance_width(g))
            .unwrap_or(self.upem);
        units / self.upem * size
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }
}

#[cfg(test)]
pub(crate) fn test_font() -> Option<PdfFont> {
    let path = find_font(std::env::var_os(FONT_ENV).map(PathBuf::from).as_deref()).ok()?;
    PdfFont::load(&path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simplified_chinese_face_is_picked_from_a_collection() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        assert!(
            font.name().contains("CJK SC") || !font.name().contains("CJK"),
            "{font:?}"
        );
        let m = font.measure().expect("measure");
        let ideograph = m.char_width('检', 10.0);
        assert!((ideograph - 10.0).abs() < 0.5, "{ideograph}");
        assert!(m.char_width('i', 10.0) < ideograph);
    }

    #[test]
    fn a_file_that_is_no_font_is_refused_and_a_missing_one_named() {
        assert!(PdfFont::from_bytes(b"not a font".to_vec()).is_none());
        let err = PdfFont::load(Path::new("/nonexistent/font.ttc")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/font.ttc"), "{err}");
        let named = find_font(Some(Path::new("/x/y.otf"))).expect("named");
        assert_eq!(named, PathBuf::from("/x/y.otf"));
    }
}

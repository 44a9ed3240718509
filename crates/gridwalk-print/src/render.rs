//! The PDF: the laid-out pages drawn with krilla (fonts embedded as subsets, JPEGs
//! passed through).

use crate::font::PdfFont;
use crate::layout::{layout, ImageRef, ImageSizes, Op, PAGE_H, PAGE_W};
use crate::qr::qr_runs;
use crate::record::Record;
use crate::PrintError;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;

fn fill(gray: u8) -> Fill {
    Fill {
        paint: luma::Color::new(gray).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn rect_path(rects: impl IntoIterator<Item = (f32, f32, f32, f32)>) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    for (x, y, w, h) in rects {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
    }
    pb.finish()
}

/// Renders `record` as a PDF set in `font`. A photo or signature whose bytes do not
/// decode is drawn as a placeholder rather than failing the record.
pub fn render(record: &Record, font: &PdfFont) -> Result<Vec<u8>, PrintError> {
    let pdf_font = font
        .krilla()
        .ok_or_else(|| PrintError::Pdf("the font face cannot be read".into()))?;
    let measure = font
        .measure()
        .ok_or_else(|| PrintError::Pdf("the font face cannot be measured".into()))?;
    let photos: Vec<Option<Image>> = record
        .photos
        .iter()
        .map(|p| {
            p.jpeg
                .as_ref()
                .and_then(|b| Image::from_jpeg(b.clone().into(), true).ok())
        })
        .collect();
    let signatures: Vec<Option<Image>> = record
        .signatures
        .iter()
        .map(|s| {
            s.png
                .as_ref()
                .and_then(|b| Image::from_png(b.clone().into(), true).ok())
        })
        .collect();
    let sizes = ImageSizes {
        photos: photos.iter().map(|i| i.as_ref().map(Image::size)).collect(),
        signatures: signatures
            .iter()
            .map(|i| i.as_ref().map(Image::size))
            .collect(),
    };
    let qr = qr_runs(&record.verify_url)?;
    let pages = layout(record, &measure, &sizes, &qr);

    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(record.title.clone())
            .language("zh-CN".into())
            .creator("GridWalk 网格巡查".into())
            .keywords(vec![record.record_sha256.clone()]),
    );
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PrintError::Pdf("page size".into()))?;
    for ops in &pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for op in ops {
            draw(&mut s, op, &pdf_font, &photos, &signatures, &qr);
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

fn draw(
    s: &mut Surface,
    op: &Op,
    font: &krilla::text::Font,
    photos: &[Option<Image>],
    signatures: &[Option<Image>],
    qr: &crate::qr::QrRuns,
) {
    match op {
        Op::Text {
            x,
            y,
            size,
            gray,
            text,
        } => {
            s.set_stroke(None);
            s.set_fill(Some(fill(*gray)));
            s.draw_text(
                Point::from_xy(*x, *y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Fill { x, y, w, h, gray } => {
            if let Some(p) = rect_path([(*x, *y, *w, *h)]) {
                s.set_stroke(None);
                s.set_fill(Some(fill(*gray)));
                s.draw_path(&p);
            }
        }
        Op::Rule { x, y, w } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x, *y);
            pb.line_to(x + w, *y);
            if let Some(p) = pb.finish() {
                s.set_fill(None);
                s.set_stroke(Some(Stroke {
                    paint: luma::Color::new(150).into(),
                    width: 0.5,
                    ..Default::default()
                }));
                s.draw_path(&p);
                s.set_stroke(None);
            }
        }
        Op::Image { image, x, y, w, h } => {
            let img = match image {
                ImageRef::Photo(i) => photos.get(*i),
                ImageRef::Signature(i) => signatures.get(*i),
            };
            if let (Some(Some(img)), Some(size)) = (img, Size::from_wh(*w, *h)) {
                s.push_transform(&Transform::from_translate(*x, *y));
                s.draw_image(img.clone(), size);
                s.pop();
            }
        }
        Op::Qr { x, y, module } => {
            let rects = qr.runs.iter().map(|&(row, col, n)| {
                (
                    x + col as f32 * module,
                    y + row as f32 * module,
                    n as f32 * module,
                    *module,
                )
            });
            if let Some(p) = rect_path(rects) {
                s.set_stroke(None);
                s.set_fill(Some(fill(0)));
                s.draw_path(&p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::test_font;
    use crate::record::{Answer, Finding, Photo, Signature};
    use std::path::PathBuf;

    fn testdata(name: &str) -> Option<Vec<u8>> {
        let dir = std::env::var_os("GRIDWALK_TESTDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
            });
        std::fs::read(dir.join("photos").join(name)).ok()
    }

    fn record(photos: Vec<Photo>, signatures: Vec<Signature>) -> Record {
        Record {
            title: "粉尘涉爆企业检查记录".into(),
            subtitle: vec!["粉尘涉爆企业监督抽查表（第1版）".into()],
            fields: vec![
                ("企业名称".into(), "金坛东村木业有限公司".into()),
                ("检查人".into(), "赵专家".into()),
            ],
            result: vec!["合格率 90%（18 项合格，2 项不合格），发现问题 2 项。".into()],
            findings: vec![Finding {
                severity: "重大".into(),
                item: "除尘器是否设置泄爆装置".into(),
                text: "除尘器未设置泄爆装置".into(),
                legal_basis: Some("工贸企业重大事故隐患判定标准 第十一条".into()),
            }],
            answers: vec![Answer {
                section: "除尘系统".into(),
                label: "除尘器是否设置泄爆装置".into(),
                value: "否".into(),
                note: Some("责令整改".into()),
            }],
            photos,
            signatures,
            record_sha256: "3f".repeat(32),
            verify_url: format!("http://127.0.0.1:8737/v1/verify/{}", "3f".repeat(32)),
            printed: "打印：officer-jincheng 2026-03-02 10:00".into(),
        }
    }

    fn text_of(pdf: &[u8]) -> String {
        pdf_extract::extract_text_from_mem(pdf).expect("extract text")
    }

    /// Extracted text without the spaces and line breaks the extractor puts in.
    fn squeezed(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn the_record_reads_back_with_its_title_enterprise_finding_and_hash() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        let r = record(vec![], vec![]);
        let pdf = render(&r, &font).expect("render");
        assert!(pdf.starts_with(b"%PDF-"));
        // The font is a subset: a record without photos stays small (the .ttc is ~20 MB).
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
        let text = squeezed(&text_of(&pdf));
        for want in [
            "粉尘涉爆企业检查记录",
            "金坛东村木业有限公司",
            "除尘器未设置泄爆装置",
            "第1页/共1页",
            &r.record_sha256,
        ] {
            assert!(text.contains(&squeezed(want)), "{want} in {text}");
        }
    }

    #[test]
    fn photos_and_the_signature_are_embedded_and_bad_bytes_become_placeholders() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        let (Some(jpeg), Some(png)) = (
            testdata("gps__DSCN0010.jpg"),
            testdata("exiftool-t__PNG.png"),
        ) else {
            eprintln!("SKIPPED: set GRIDWALK_TESTDATA to the shared testdata directory");
            return;
        };
        let photo = |b: Option<Vec<u8>>| Photo {
            jpeg: b,
            caption: vec!["时间 2026-03-02 10:00:00 +08:00".into(), "校验通过".into()],
        };
        let r = record(
            vec![
                photo(Some(jpeg.clone())),
                photo(Some(b"not a jpeg".to_vec())),
                photo(None),
            ],
            vec![Signature {
                png: Some(png),
                signer: "王建国".into(),
                signed_at: "2026-03-02 10:30".into(),
            }],
        );
        let pdf = render(&r, &font).expect("render");
        // The JPEG passes through unchanged (not decoded and re-encoded).
        assert!(
            pdf.windows(jpeg.len().min(4096))
                .any(|w| w == &jpeg[..jpeg.len().min(4096)]),
            "the JPEG's bytes are in the PDF"
        );
        let text = squeezed(&text_of(&pdf));
        for want in [
            "照片1",
            "照片3",
            "服务器未存有可用的照片文件",
            "签字人：王建国",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }

    #[test]
    fn twenty_photos_render_in_reasonable_time_and_size() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        let Some(jpeg) = testdata("gps__DSCN0010.jpg") else {
            eprintln!("SKIPPED: set GRIDWALK_TESTDATA to the shared testdata directory");
            return;
        };
        let photos = (0..20)
            .map(|i| {
                // Distinct bytes per photo (a comment segment), as twenty real photos are.
                let mut b = jpeg[..2].to_vec();
                let note = format!("photo {i}");
                b.extend_from_slice(&[0xFF, 0xFE, 0, (note.len() + 2) as u8]);
                b.extend_from_slice(note.as_bytes());
                b.extend_from_slice(&jpeg[2..]);
                Photo {
                    jpeg: Some(b),
                    caption: vec![format!("时间 2026-03-02 10:{i:02}:00 +08:00")],
                }
            })
            .collect();
        let started = std::time::Instant::now();
        let pdf = render(&record(photos, vec![]), &font).expect("render");
        let took = started.elapsed();
        eprintln!(
            "20 photos of {} bytes: {} bytes of PDF in {took:?}",
            jpeg.len(),
            pdf.len()
        );
        assert!(pdf.len() < 20 * jpeg.len() + 300_000, "{}", pdf.len());
    }
}

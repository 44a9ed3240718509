//! Layout: the record flowed onto A4 pages as drawing operations (text on a baseline,
//! filled rectangles, rules, images, the QR code). Pure: the PDF writer only draws what
//! this decides, and the tests read the pages without a PDF.

use crate::font::Measure;
use crate::qr::QrRuns;
use crate::record::Record;

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const BODY_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Content stops here; the footer lives below.
const BODY_BOTTOM: f32 = PAGE_H - 56.0;
const LEADING: f32 = 1.45;
const BODY: f32 = 9.5;
const SMALL: f32 = 7.5;
const QR_SIZE: f32 = 96.0;
const PHOTO_GAP: f32 = 14.0;
const PHOTO_MAX_H: f32 = 185.0;

/// An image the record holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ImageRef {
    Photo(usize),
    Signature(usize),
}

/// One drawing operation; `y` grows downwards from the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Text with its baseline at `y`; `gray` 0 is black.
    Text {
        x: f32,
        y: f32,
        size: f32,
        gray: u8,
        text: String,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: u8,
    },
    Rule {
        x: f32,
        y: f32,
        w: f32,
    },
    Image {
        image: ImageRef,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    /// The QR code's dark runs, each module `module` points wide.
    Qr {
        x: f32,
        y: f32,
        module: f32,
    },
}

/// Pixel sizes of the images that decoded (`None`: a placeholder is drawn).
pub(crate) struct ImageSizes {
    pub photos: Vec<Option<(u32, u32)>>,
    pub signatures: Vec<Option<(u32, u32)>>,
}

/// Splits `text` into lines no wider than `width` at `size`: between any two
/// ideographs, at spaces between Latin words, and inside a word only when it is wider
/// than a line (a hash, a URL). Closing punctuation may hang past the edge rather than
/// start a line.
pub(crate) fn wrap(m: &Measure, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        for tok in tokens(para) {
            let tw = m.width(tok, size);
            let hangs = tok.chars().count() == 1 && "，。、；：！？）」』】,.;:!?)".contains(tok);
            if w + tw <= width || (hangs && w + tw <= width + size) {
                line.push_str(tok);
                w += tw;
            } else if tw <= width {
                lines.push(line.trim_end().to_string());
                line = tok.trim_start().to_string();
                w = m.width(&line, size);
            } else {
                for c in tok.chars() {
                    let cw = m.char_width(c, size);
                    if w + cw > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        w = 0.0;
                    }
                    line.push(c);
                    w += cw;
                }
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Latin words (runs of printable ASCII), single spaces and single other characters.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let word = c.is_ascii_graphic();
        match (word, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, st) => {
                if let Some(b) = st {
                    out.push(&s[b..i]);
                    start = None;
                }
                out.push(&s[i..i + c.len_utf8()]);
            }
        }
    }
    if let Some(b) = start {
        out.push(&s[b..]);
    }
    out
}

struct Flow<'a> {
    m: &'a Measure<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Flow<'_> {
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn ensure(&mut self, h: f32) {
        if self.y + h > BODY_BOTTOM {
            self.new_page();
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, gray: u8, text: &str) {
        if !text.is_empty() {
            self.op(Op::Text {
                x,
                y,
                size,
                gray,
                text: text.to_string(),
            });
        }
    }

    /// A wrapped paragraph at `x` (from the left margin), `width` wide.
    fn paragraph(&mut self, text: &str, size: f32, x: f32, width: f32, gray: u8) {
        let lh = size * LEADING;
        for line in wrap(self.m, text, size, width) {
            self.ensure(lh);
            self.y += lh;
            self.text(MARGIN + x, self.y - lh * 0.28, size, gray, &line);
        }
    }

    /// A section heading, kept with at least three lines of what follows.
    fn heading(&mut self, text: &str) {
        self.heading_with(text, BODY * LEADING * 3.0);
    }

    /// A section heading kept with `next` points of what follows.
    fn heading_with(&mut self, text: &str, next: f32) {
        self.ensure(13.0 * LEADING + 6.0 + next);
        self.y += 8.0;
        self.paragraph(text, 12.0, 0.0, BODY_W, 0);
        self.op(Op::Rule {
            x: MARGIN,
            y: self.y + 1.0,
            w: BODY_W,
        });
        self.y += 5.0;
    }

    /// A table row: columns `(x offset, width, text)`, wrapped; a row taller than the
    /// rest of the page goes on line by line onto the next. `shade` fills its background.
    fn row(&mut self, cols: &[(f32, f32, &str)], size: f32, shade: Option<u8>) {
        let lh = size * LEADING;
        let wrapped: Vec<Vec<String>> = cols
            .iter()
            .map(|(_, w, t)| wrap(self.m, t, size, *w - 6.0))
            .collect();
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        self.ensure((n.min(3) as f32) * lh + 4.0);
        self.y += 2.0;
        for i in 0..n {
            self.ensure(lh);
            if let Some(g) = shade {
                self.op(Op::Fill {
                    x: MARGIN,
                    y: self.y - 2.0,
                    w: BODY_W,
                    h: lh + 4.0,
                    gray: g,
                });
            }
            self.y += lh;
            for ((x, _, _), lines) in cols.iter().zip(&wrapped) {
                if let Some(l) = lines.get(i) {
                    let base = self.y - lh * 0.28;
                    self.text(MARGIN + x + 3.0, base, size, 0, l);
                }
            }
        }
        self.y += 2.0;
        self.op(Op::Rule {
            x: MARGIN,
            y: self.y,
            w: BODY_W,
        });
    }
}

/// The answers table's four columns: 序号, 检查项目, 结果, 备注.
fn cols<'t>(a: &'t str, b: &'t str, c: &'t str, d: &'t str) -> [(f32, f32, &'t str); 4] {
    let (c0, c1, c2) = (26.0, 250.0, 72.0);
    [
        (0.0, c0, a),
        (c0, c1, b),
        (c0 + c1, c2, c),
        (c0 + c1 + c2, BODY_W - c0 - c1 - c2, d),
    ]
}

/// `(w, h)` of an image of `px` pixels fitted into `max_w`×`max_h` points.
fn fit(px: (u32, u32), max_w: f32, max_h: f32) -> (f32, f32) {
    let (w, h) = (px.0.max(1) as f32, px.1.max(1) as f32);
    let s = (max_w / w).min(max_h / h);
    (w * s, h * s)
}

/// The record on A4 pages, footers with page numbers included.
pub(crate) fn layout(r: &Record, m: &Measure, sizes: &ImageSizes, qr: &QrRuns) -> Vec<Vec<Op>> {
    let mut f = Flow {
        m,
        pages: Vec::new(),
        y: MARGIN,
    };
    f.new_page();
    // The title, centred.
    for (text, size) in std::iter::once((r.title.as_str(), 18.0))
        .chain(r.subtitle.iter().map(|s| (s.as_str(), 10.0)))
    {
        for line in wrap(m, text, size, BODY_W) {
            let lh = size * LEADING;
            f.y += lh;
            let x = MARGIN + (BODY_W - m.width(&line, size)).max(0.0) / 2.0;
            f.text(x, f.y - lh * 0.28, size, 0, &line);
        }
    }
    f.y += 10.0;

    // Verification: the QR code beside the hash and the URL.
    let top = f.y;
    let module = QR_SIZE / qr.width.max(1) as f32;
    f.op(Op::Qr {
        x: MARGIN,
        y: top,
        module,
    });
    let tx = QR_SIZE + 12.0;
    let tw = BODY_W - tx;
    f.paragraph("记录哈希（SHA-256）", BODY, tx, tw, 0);
    f.paragraph(&r.record_sha256, 9.0, tx, tw, 0);
    f.paragraph(
        "扫描左侧二维码或访问下列网址，核验服务器是否收存了此哈希的检查记录：",
        SMALL + 0.5,
        tx,
        tw,
        60,
    );
    f.paragraph(&r.verify_url, SMALL + 0.5, tx, tw, 60);
    f.y = f.y.max(top + QR_SIZE) + 6.0;

    f.heading("一、基本信息");
    for (label, value) in &r.fields {
        f.row(
            &[(0.0, 110.0, label), (110.0, BODY_W - 110.0, value)],
            BODY,
            None,
        );
    }

    f.heading("二、检查结论");
    for line in &r.result {
        f.paragraph(line, BODY, 0.0, BODY_W, 0);
    }

    f.heading("三、发现问题");
    if r.findings.is_empty() {
        f.paragraph("未发现问题。", BODY, 0.0, BODY_W, 0);
    }
    for (i, x) in r.findings.iter().enumerate() {
        f.ensure(BODY * LEADING * 3.0);
        f.paragraph(
            &format!("{}. 【{}】{}", i + 1, x.severity, x.item),
            BODY,
            0.0,
            BODY_W,
            0,
        );
        if !x.text.is_empty() {
            f.paragraph(&format!("问题：{}", x.text), BODY, 14.0, BODY_W - 14.0, 0);
        }
        if let Some(b) = x.legal_basis.as_deref().filter(|b| !b.is_empty()) {
            f.paragraph(&format!("依据：{b}"), BODY, 14.0, BODY_W - 14.0, 60);
        }
        f.y += 3.0;
    }

    f.heading("四、检查项目");
    f.row(&cols("序号", "检查项目", "结果", "备注"), BODY, Some(225));
    let mut section = "";
    for (i, a) in r.answers.iter().enumerate() {
        if a.section != section && !a.section.is_empty() {
            section = &a.section;
            f.row(&[(0.0, BODY_W, section)], BODY, Some(240));
        }
        let n = (i + 1).to_string();
        f.row(
            &cols(&n, &a.label, &a.value, a.note.as_deref().unwrap_or("")),
            BODY,
            None,
        );
    }

    // Kept with the first row of photos.
    f.heading_with("五、现场照片", PHOTO_MAX_H + SMALL * LEADING * 6.0);
    if r.photos.is_empty() {
        f.paragraph("本次检查无照片。", BODY, 0.0, BODY_W, 0);
    }
    let cell = (BODY_W - PHOTO_GAP) / 2.0;
    for (pair_at, pair) in r.photos.chunks(2).enumerate() {
        let boxes: Vec<(f32, f32)> = (0..pair.len())
            .map(
                |k| match sizes.photos.get(pair_at * 2 + k).copied().flatten() {
                    Some(px) => fit(px, cell, PHOTO_MAX_H),
                    None => (cell, 60.0),
                },
            )
            .collect();
        let captions: Vec<Vec<String>> = pair
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let mut lines = vec![format!("照片 {}", pair_at * 2 + k + 1)];
                for c in &p.caption {
                    lines.extend(wrap(m, c, SMALL, cell));
                }
                lines
            })
            .collect();
        let img_h = boxes.iter().map(|b| b.1).fold(0.0, f32::max);
        let cap_h = captions.iter().map(Vec::len).max().unwrap_or(0) as f32 * SMALL * LEADING;
        f.ensure(img_h + cap_h + 12.0);
        let top = f.y + 4.0;
        for (k, ((w, h), lines)) in boxes.iter().zip(&captions).enumerate() {
            let x = MARGIN + k as f32 * (cell + PHOTO_GAP);
            let index = pair_at * 2 + k;
            if sizes.photos.get(index).copied().flatten().is_some() {
                f.op(Op::Image {
                    image: ImageRef::Photo(index),
                    x,
                    y: top,
                    w: *w,
                    h: *h,
                });
            } else {
                f.op(Op::Fill {
                    x,
                    y: top,
                    w: *w,
                    h: *h,
                    gray: 235,
                });
                f.text(
                    x + 8.0,
                    top + 34.0,
                    BODY,
                    90,
                    "（服务器未存有可用的照片文件）",
                );
            }
            let mut y = top + img_h;
            for l in lines {
                y += SMALL * LEADING;
                f.text(x, y - 2.0, SMALL, 40, l);
            }
        }
        f.y = top + img_h + cap_h + 10.0;
    }

    f.heading("六、企业签字");
    if r.signatures.is_empty() {
        f.paragraph("无签字。", BODY, 0.0, BODY_W, 0);
    }
    for (i, s) in r.signatures.iter().enumerate() {
        let (w, h) = match sizes.signatures.get(i).copied().flatten() {
            Some(px) => fit(px, 220.0, 80.0),
            None => (220.0, 30.0),
        };
        f.ensure(h + BODY * LEADING * 2.0 + 8.0);
        let top = f.y + 4.0;
        if sizes.signatures.get(i).copied().flatten().is_some() {
            f.op(Op::Image {
                image: ImageRef::Signature(i),
                x: MARGIN,
                y: top,
                w,
                h,
            });
        } else {
            f.text(MARGIN, top + 18.0, BODY, 90, "（服务器未存有签字图像）");
        }
        f.y = top + h;
        f.paragraph(
            &format!("签字人：{}    签字时间：{}", s.signer, s.signed_at),
            BODY,
            0.0,
            BODY_W,
            0,
        );
        f.y += 4.0;
    }
    if !r.printed.is_empty() {
        f.y += 8.0;
        f.paragraph(&r.printed, SMALL + 0.5, 0.0, BODY_W, 90);
    }

    // Footers, now that the number of pages is known.
    let total = f.pages.len();
    let short: String = r.record_sha256.chars().take(16).collect();
    for (i, page) in f.pages.iter_mut().enumerate() {
        let y = PAGE_H - 30.0;
        page.push(Op::Rule {
            x: MARGIN,
            y: y - 12.0,
            w: BODY_W,
        });
        page.push(Op::Text {
            x: MARGIN,
            y,
            size: SMALL,
            gray: 90,
            text: format!("{}  记录哈希 {short}…", r.title),
        });
        let number = format!("第 {} 页 / 共 {total} 页", i + 1);
        page.push(Op::Text {
            x: PAGE_W - MARGIN - m.width(&number, SMALL),
            y,
            size: SMALL,
            gray: 90,
            text: number,
        });
    }
    f.pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::test_font;
    use crate::record::{Answer, Photo};

    #[test]
    fn lines_break_between_ideographs_at_spaces_and_inside_only_overlong_words() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        let m = font.measure().expect("measure");
        // Ten ideographs of 10 pt in 45 pt: four a line.
        let lines = wrap(&m, "粉尘涉爆企业检查记录表", 10.0, 45.0);
        assert_eq!(lines, ["粉尘涉爆", "企业检查", "记录表"]);
        // Latin words move whole to the next line.
        let lines = wrap(&m, "dust explosion hazard", 10.0, 80.0);
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with(' ') && !l.ends_with(' ')),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), "dust explosion hazard");
        // A hash wider than a line is cut where it must be, nothing lost.
        let hash = "0123456789abcdef".repeat(4);
        let lines = wrap(&m, &hash, 10.0, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), hash);
        for l in &lines {
            assert!(m.width(l, 10.0) <= 100.0 + 0.01, "{l}");
        }
        // A comma hangs rather than starting a line; explicit newlines are kept.
        assert_eq!(wrap(&m, "粉尘涉爆，", 10.0, 40.0), ["粉尘涉爆，"]);
        assert_eq!(wrap(&m, "甲\n乙", 10.0, 100.0), ["甲", "乙"]);
    }

    fn texts(pages: &[Vec<Op>]) -> Vec<String> {
        pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_long_record_flows_onto_numbered_pages_inside_the_margins() {
        let Some(font) = test_font() else {
            eprintln!("SKIPPED: no CJK font installed (fonts-noto-cjk)");
            return;
        };
        let m = font.measure().expect("measure");
        let r = Record {
            title: "粉尘涉爆企业检查记录".into(),
            record_sha256: "ab".repeat(32),
            verify_url: "http://127.0.0.1:8737/v1/verify/abab".into(),
            answers: (0..80)
                .map(|i| Answer {
                    section: format!("第{}部分", i / 20 + 1),
                    label: format!("第{i}项：除尘系统是否按规定设置泄爆、隔爆装置并定期检查维护"),
                    value: "是".into(),
                    note: None,
                })
                .collect(),
            photos: vec![Photo::default(); 5],
            ..Record::default()
        };
        let sizes = ImageSizes {
            photos: vec![Some((1600, 1200)), None, Some((1200, 1600)), None, None],
            signatures: vec![],
        };
        let qr = crate::qr::qr_runs(&r.verify_url).expect("qr");
        let pages = layout(&r, &m, &sizes, &qr);
        assert!(pages.len() >= 3, "{}", pages.len());
        let all = texts(&pages);
        let n = pages.len();
        for i in 1..=n {
            let want = format!("第 {i} 页 / 共 {n} 页");
            assert!(all.contains(&want), "{want}");
        }
        for section in ["第1部分", "第4部分", "六、企业签字", "照片 5"] {
            assert!(all.iter().any(|t| t == section), "{section}");
        }
        for op in pages.iter().flatten() {
            match op {
                Op::Text {
                    x, y, text, size, ..
                } => {
                    assert!(*x >= MARGIN - 0.01, "{text}");
                    assert!(
                        x + m.width(text, *size) <= PAGE_W - MARGIN + *size,
                        "{text}"
                    );
                    assert!(*y <= PAGE_H - 20.0, "{text}");
                }
                Op::Image { x, y, w, h, .. } => {
                    assert!(*x >= MARGIN && x + w <= PAGE_W - MARGIN + 0.01);
                    assert!(*y >= MARGIN && y + h <= BODY_BOTTOM + 0.01);
                    assert!(*h <= PHOTO_MAX_H + 0.01);
                }
                _ => {}
            }
        }
    }
}

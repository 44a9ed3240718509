//! The QR code of the verification URL, as dark runs of modules (drawn as vector
//! rectangles: sharp at any print resolution, a few hundred bytes).

use crate::PrintError;
use qrcode::{Color, EcLevel, QrCode};

/// A QR code: `width`×`width` modules; each run is `(row, first column, length)` of dark
/// modules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QrRuns {
    pub width: usize,
    pub runs: Vec<(usize, usize, usize)>,
}

/// Encodes `text` at error-correction level M (a creased or smudged print still scans).
pub(crate) fn qr_runs(text: &str) -> Result<QrRuns, PrintError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| PrintError::Qr(e.to_string()))?;
    let width = code.width();
    let colors = code.to_colors();
    let mut runs = Vec::new();
    for row in 0..width {
        let mut col = 0;
        while col < width {
            if colors[row * width + col] == Color::Dark {
                let start = col;
                while col < width && colors[row * width + col] == Color::Dark {
                    col += 1;
                }
                runs.push((row, start, col - start));
            } else {
                col += 1;
            }
        }
    }
    Ok(QrRuns { width, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_url_becomes_runs_with_the_finder_patterns() {
        let url = format!("https://gw.example.cn/v1/verify/{}", "ab".repeat(32));
        let qr = qr_runs(&url).expect("qr");
        assert!(qr.width >= 21 && qr.width <= 57, "{}", qr.width);
        // The top-left finder pattern: a full row of 7 dark modules.
        assert_eq!(qr.runs[0], (0, 0, 7));
        assert!(qr
            .runs
            .iter()
            .all(|&(r, c, n)| r < qr.width && c + n <= qr.width));
    }
}

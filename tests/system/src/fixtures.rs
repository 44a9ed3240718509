//! Test data: the register both sides import, photos (the shared corpus and generated
//! ones), valid USCCs.

use crate::bins::workspace;
use crate::rng::Rng;
use std::path::{Path, PathBuf};

/// 西城街道 (a town of 金坛区): the expert's jurisdiction.
pub const TOWN: &str = "320413001000";
/// 河滨居委会, a village of [`TOWN`]: where the register's enterprises are.
pub const VILLAGE: &str = "320413001001";
/// The expert every test enrolls as.
pub const EXPERT: &str = "李专家";

/// The shared test data (`$GRIDWALK_TESTDATA`, else `shared/testdata` beside the
/// workspace).
pub fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/testdata"))
}

/// A photo of the shared corpus.
pub fn corpus_photo(name: &str) -> PathBuf {
    let p = testdata().join("photos").join(name);
    assert!(
        p.is_file(),
        "{} missing (set GRIDWALK_TESTDATA)",
        p.display()
    );
    p
}

/// 金坛区's divisions, the file the server and the device both import.
pub fn divisions_csv() -> PathBuf {
    workspace().join("data/divisions/jintan.csv")
}

/// A valid USCC (GB 32100-2015 check character) for a serial number.
pub fn uscc(serial: u32) -> String {
    let body = format!("91320413MA{serial:07}");
    let check = check_char(&body).expect("valid body");
    format!("{body}{check}")
}

/// The GB 32100-2015 check character of a USCC's first 17 characters.
pub fn check_char(body: &str) -> Option<char> {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (b, w) in body.bytes().zip(WEIGHTS) {
        sum += CHARS.iter().position(|&c| c == b)? * w;
    }
    Some(CHARS[(31 - sum % 31) % 31] as char)
}

/// The register of enterprises 1..=n, all aluminium-dust polishers in [`VILLAGE`].
pub fn write_enterprises_csv(path: &Path, n: u32) {
    let mut csv = String::from("name,uscc,village_code,dust_types,workers_per_shift\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "金坛铝业抛光{i}厂,{},{VILLAGE},铝粉,20\n",
            uscc(i)
        ));
    }
    std::fs::write(path, csv).expect("write enterprises csv");
}

/// Writes a `width`×`height` RGB PNG of gradients and seeded noise: after the device's
/// pipeline (JPEG q80, no resize up to 2048 px) it stays large, about 0.55 byte per
/// pixel, so one photo makes many tus chunks.
pub fn write_noise_png(path: &Path, width: u32, height: u32, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let bits = rng.next_u64();
            for c in 0..3u32 {
                let base = (x * (c + 1) * 255 / width + y * 255 / height) % 256;
                let noise = ((bits >> (c * 8)) & 0x7f) as u32;
                pixels.push(((base + noise) % 256) as u8);
            }
        }
    }
    let file = std::fs::File::create(path).expect("create png");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fastest);
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(&pixels).expect("png data");
    w.finish().expect("png finish");
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_characters_agree_with_the_shared_uscc_examples() {
        let csv = std::fs::read_to_string(super::testdata().join("uscc/codes.csv")).expect("csv");
        let mut checked = 0;
        for line in csv.lines().skip(1) {
            // First column the code, last the independent check's verdict.
            let (Some(code), Some(verdict)) = (line.split(',').next(), line.rsplit(',').next())
            else {
                continue;
            };
            let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            if code.len() != 18 || !code.is_ascii() {
                continue;
            }
            let ours = super::check_char(&code[..17]) == code.chars().nth(17);
            assert_eq!(ours, verdict == "ok", "{code}");
            checked += 1;
        }
        assert!(checked > 200, "{checked} codes checked");
        assert_eq!(super::uscc(1).len(), 18);
    }
}

//! Pinyin search keys: `金坛新城` → full `jintanxincheng`, initials `jtxc`.
//!
//! Characters with several readings (多音字, e.g. 长 chang/zhang, 行 xing/hang) add
//! variants in which one such character takes another reading, so `zd` and `cd` both
//! find a name with 长荡. Latin letters and digits are kept, lower-cased; everything
//! else (punctuation, brackets) is dropped.

use pinyin::{ToPinyin, ToPinyinMulti};

/// At most this many variants per key, the default reading first.
pub const MAX_VARIANTS: usize = 6;

/// Pinyin keys of a text, each with up to [`MAX_VARIANTS`] variants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PinyinKeys {
    /// Full syllables without tones, concatenated.
    pub full: Vec<String>,
    /// First letter of each syllable (and each Latin letter/digit).
    pub initials: Vec<String>,
}

enum Piece {
    /// A Latin letter or digit, kept as is.
    Literal(char),
    /// A hanzi's readings, the default first.
    Readings(Vec<&'static str>),
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(Piece::Literal(ch.to_ascii_lowercase()));
            continue;
        }
        let Some(default) = ch.to_pinyin() else {
            continue;
        };
        let mut readings = vec![default.plain()];
        if let Some(multi) = ch.to_pinyin_multi() {
            for p in multi {
                let r = p.plain();
                if !readings.contains(&r) {
                    readings.push(r);
                }
            }
        }
        out.push(Piece::Readings(readings));
    }
    out
}

fn render(pieces: &[Piece], choice: &[usize], initials: bool) -> String {
    let mut s = String::new();
    for (piece, &c) in pieces.iter().zip(choice) {
        match piece {
            Piece::Literal(ch) => s.push(*ch),
            Piece::Readings(r) => {
                let reading = r.get(c).or_else(|| r.first()).copied().unwrap_or("");
                if initials {
                    s.extend(reading.chars().next());
                } else {
                    s.push_str(reading);
                }
            }
        }
    }
    s
}

/// Computes the pinyin keys of `text`.
pub fn pinyin_keys(text: &str) -> PinyinKeys {
    let pieces = pieces(text);
    let base = vec![0usize; pieces.len()];
    let mut choices = vec![base.clone()];
    'outer: for (i, piece) in pieces.iter().enumerate() {
        if let Piece::Readings(r) = piece {
            for alt in 1..r.len() {
                if choices.len() >= MAX_VARIANTS {
                    break 'outer;
                }
                let mut c = base.clone();
                c[i] = alt;
                choices.push(c);
            }
        }
    }
    let mut keys = PinyinKeys::default();
    for c in &choices {
        let full = render(&pieces, c, false);
        if !keys.full.contains(&full) {
            keys.full.push(full);
        }
        let ini = render(&pieces, c, true);
        if !keys.initials.contains(&ini) {
            keys.initials.push(ini);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jintan_xincheng_gives_full_and_initials() {
        let k = pinyin_keys("金坛新城");
        assert_eq!(k.full[0], "jintanxincheng");
        assert_eq!(k.initials[0], "jtxc");
    }

    #[test]
    fn latin_and_digits_are_kept_and_punctuation_dropped() {
        let k = pinyin_keys("常州ABC（3号）");
        assert_eq!(k.initials[0], "czabc3h");
    }

    #[test]
    fn a_heteronym_adds_a_variant() {
        let k = pinyin_keys("长荡湖");
        let all: Vec<&str> = k.initials.iter().map(String::as_str).collect();
        assert!(all.contains(&"cdh"), "{all:?}");
        assert!(all.contains(&"zdh"), "{all:?}");
        assert!(k.full.len() <= MAX_VARIANTS);
    }

    #[test]
    fn text_without_hanzi_or_latin_gives_empty_keys() {
        let k = pinyin_keys("（）—");
        assert_eq!(k.full, vec![String::new()]);
    }
}

//! 统一社会信用代码 (unified social credit code, USCC) per GB 32100-2015.
//!
//! Layout: authority (1) + category (1) + region (6 digits, GB/T 2260) + organisation
//! code (9) + check character (1), over the 31-character alphabet
//! `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, S, V, Z; Q *is* allowed).
//! The check character is `ALPHABET[(31 - Σ value·3^(i-1) mod 31) mod 31]`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The 31 characters a USCC may contain, in value order (0..=30).
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a valid USCC. `Display` is precise English for logs and the API;
/// [`UsccError::message_zh`] is the text shown to a grid worker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Wrong number of characters after removing spaces and dashes.
    #[error("length is {0}, expected 18 characters")]
    Length(usize),
    /// A character outside the 31-character alphabet (e.g. I, O, S, V, Z).
    #[error("character '{ch}' at position {position} is not allowed (alphabet 0-9 A-Z without I O S V Z)")]
    BadCharacter { position: usize, ch: char },
    /// Positions 3-8 must be the six-digit region code.
    #[error("positions 3-8 must be a six-digit region code, found '{0}'")]
    BadRegion(String),
    /// The check character does not match the other 17.
    #[error("check character is '{found}', expected '{expected}'")]
    CheckDigit { found: char, expected: char },
}

impl UsccError {
    /// Simplified-Chinese explanation for the UI.
    pub fn message_zh(&self) -> String {
        match self {
            UsccError::Length(n) => format!("统一社会信用代码应为18位，实际为{n}位"),
            UsccError::BadCharacter { position, ch } => {
                format!("第{position}位字符“{ch}”不允许（不含 I、O、S、V、Z）")
            }
            UsccError::BadRegion(r) => format!("第3-8位应为6位行政区划码，实际为“{r}”"),
            UsccError::CheckDigit { found, expected } => {
                format!("校验位错误：应为“{expected}”，实际为“{found}”")
            }
        }
    }
}

/// A validated, normalised (upper-case, no spaces) USCC.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

fn char_value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// Removes spaces, dashes and full-width spaces and upper-cases; what people type or paste.
pub fn compact(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}' | '\t'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The check character for the first 17 characters of a code.
/// Returns `None` if any character is outside the alphabet or the length is not 17.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += char_value(c)? * w;
    }
    ALPHABET.chars().nth(((31 - sum % 31) % 31) as usize)
}

impl Uscc {
    /// Validates `input` (spaces and dashes ignored, case-insensitive).
    pub fn parse(input: &str) -> Result<Self, UsccError> {
        let code = compact(input);
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        for (i, &ch) in chars.iter().enumerate() {
            if char_value(ch).is_none() {
                return Err(UsccError::BadCharacter {
                    position: i + 1,
                    ch,
                });
            }
        }
        let region: String = chars[2..8].iter().collect();
        if !region.chars().all(|c| c.is_ascii_digit()) {
            return Err(UsccError::BadRegion(region));
        }
        let first17: String = chars[..17].iter().collect();
        let expected = check_char(&first17).ok_or(UsccError::Length(chars.len()))?;
        if chars[17] != expected {
            return Err(UsccError::CheckDigit {
                found: chars[17],
                expected,
            });
        }
        Ok(Uscc(code))
    }

    /// The normalised 18-character code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Six-digit region code of the registration authority (positions 3-8).
    pub fn region(&self) -> &str {
        &self.0[2..8]
    }

    /// Builds a valid code from 17 leading characters by appending the check character.
    /// Used by the demo-data generator and tests.
    pub fn with_check_char(first17: &str) -> Result<Self, UsccError> {
        let first17 = compact(first17);
        let ch = check_char(&first17).ok_or(UsccError::Length(first17.chars().count() + 1))?;
        Uscc::parse(&format!("{first17}{ch}"))
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Uscc {
    type Error = UsccError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Uscc::parse(&value)
    }
}

impl From<Uscc> for String {
    fn from(value: Uscc) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_examples_validate() {
        for code in [
            "91110000600037341L",
            "91320214745555318W",
            "913205056082348768",
            "91310115MA1K3BTP2B",
            "121200004013590816",
            "92340602MA2PBMEM24",
        ] {
            assert!(Uscc::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn each_kind_of_bad_code_gets_its_own_reason() {
        assert_eq!(
            Uscc::parse("91110000600037341N"),
            Err(UsccError::CheckDigit {
                found: 'N',
                expected: 'L'
            })
        );
        assert_eq!(Uscc::parse("12345"), Err(UsccError::Length(5)));
        assert!(matches!(
            Uscc::parse("9111000060003IOZSV"),
            Err(UsccError::BadCharacter {
                position: 14,
                ch: 'I'
            })
        ));
        assert!(matches!(
            Uscc::parse("91AB0000600037341L"),
            Err(UsccError::BadRegion(_))
        ));
    }

    #[test]
    fn spaces_dashes_and_lower_case_are_forgiven() {
        let c = Uscc::parse("91 110000 600037341l").expect("valid after compaction");
        assert_eq!(c.as_str(), "91110000600037341L");
        assert_eq!(c.region(), "110000");
    }

    #[test]
    fn with_check_char_completes_a_code() {
        let c = Uscc::with_check_char("91320413MA1XXXXX0").expect("valid");
        assert!(Uscc::parse(c.as_str()).is_ok());
    }

    #[test]
    fn chinese_reasons_exist_for_every_error() {
        let e = Uscc::parse("91110000600037341N").unwrap_err();
        assert!(e.message_zh().contains("校验位"));
    }
}

//! Answers: parsing what the field worker typed into a typed value.

use crate::template::{AnswerType, FailWhen, Item};
use serde::{Deserialize, Serialize};

/// 是 / 否 / 不适用.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNoNa {
    Yes,
    No,
    Na,
}

/// A typed answer value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    YesNoNa(YesNoNa),
    /// Always finite.
    Number(f64),
    /// Selected choice values, in the template's order.
    Choice(Vec<String>),
    Text(String),
    /// SHA-256 hashes (lower-case hex) of the photos that answer a photo item.
    Photos(Vec<String>),
}

/// One answered item: the value, an optional note and evidence photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub value: AnswerValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Lower-case hex SHA-256 of each photo attached to this answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_sha256s: Vec<String>,
}

impl Answer {
    /// An answer with no note and no photos.
    pub fn new(value: AnswerValue) -> Self {
        Answer {
            value,
            note: None,
            photo_sha256s: Vec::new(),
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Adds a photo hash.
    pub fn with_photo(mut self, sha256: impl Into<String>) -> Self {
        self.photo_sha256s.push(sha256.into());
        self
    }
}

/// Why a raw answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("empty answer")]
    Empty,
    #[error("`{0}` is not 是/否/不适用 (yes/no/na)")]
    NotYesNoNa(String),
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` is not a whole number")]
    NotAWholeNumber(String),
    #[error("`{0}` is not one of the choices")]
    UnknownChoice(String),
    #[error("only one choice may be selected")]
    SeveralChoices,
    #[error("`{0}` is not a SHA-256 hex hash")]
    BadPhotoHash(String),
    #[error("a {got} answer does not fit a {expected} item")]
    WrongType {
        got: &'static str,
        expected: &'static str,
    },
}

impl AnswerValue {
    /// The answer type name this value fits.
    pub fn type_name(&self) -> &'static str {
        match self {
            AnswerValue::YesNoNa(_) => "yes_no_na",
            AnswerValue::Number(_) => "number",
            AnswerValue::Choice(_) => "choice",
            AnswerValue::Text(_) => "text",
            AnswerValue::Photos(_) => "photo",
        }
    }

    /// Whether this value is a well-formed answer to the item (type, choices, range).
    pub fn check(&self, item: &Item) -> Result<(), AnswerError> {
        let wrong = || AnswerError::WrongType {
            got: self.type_name(),
            expected: item.answer_type.name(),
        };
        match (&item.answer_type, self) {
            (AnswerType::YesNoNa, AnswerValue::YesNoNa(_)) => Ok(()),
            (AnswerType::Number { integer, .. }, AnswerValue::Number(n)) => {
                if !n.is_finite() {
                    Err(AnswerError::NotANumber(n.to_string()))
                } else if *integer && (n.fract() != 0.0 || *n < 0.0 || *n > f64::from(u32::MAX)) {
                    Err(AnswerError::NotAWholeNumber(n.to_string()))
                } else {
                    Ok(())
                }
            }
            (AnswerType::Choice { choices, multiple }, AnswerValue::Choice(values)) => {
                if values.is_empty() {
                    return Err(AnswerError::Empty);
                }
                if !multiple && values.len() > 1 {
                    return Err(AnswerError::SeveralChoices);
                }
                match values
                    .iter()
                    .find(|v| !choices.iter().any(|c| &c.value == *v))
                {
                    Some(v) => Err(AnswerError::UnknownChoice(v.clone())),
                    None => Ok(()),
                }
            }
            (AnswerType::Text, AnswerValue::Text(t)) => {
                if t.trim().is_empty() {
                    Err(AnswerError::Empty)
                } else {
                    Ok(())
                }
            }
            (AnswerType::Photo, AnswerValue::Photos(hs)) => {
                match hs.iter().find(|h| !is_sha256_hex(h)) {
                    Some(h) => Err(AnswerError::BadPhotoHash(h.clone())),
                    None => Ok(()),
                }
            }
            _ => Err(wrong()),
        }
    }

    /// Whether this answer must carry a photo (the item's `photo_required_when`).
    pub fn needs_evidence_photo(&self, item: &Item) -> bool {
        let wanted = |v: &str| item.photo_required_when.iter().any(|w| w == v);
        match self {
            AnswerValue::YesNoNa(v) => wanted(match v {
                YesNoNa::Yes => "yes",
                YesNoNa::No => "no",
                YesNoNa::Na => "na",
            }),
            AnswerValue::Choice(values) => values.iter().any(|v| wanted(v)),
            _ => false,
        }
    }

    /// Whether this answer is the item's failure (`fail_when`); `na` never fails.
    pub fn fails(&self, item: &Item) -> bool {
        matches!(
            (self, item.fail_when),
            (AnswerValue::YesNoNa(YesNoNa::Yes), Some(FailWhen::Yes))
                | (AnswerValue::YesNoNa(YesNoNa::No), Some(FailWhen::No))
        )
    }
}

/// Whether `s` is 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a yes/no/na answer: `yes`/`y`/`是`/`有`, `no`/`n`/`否`/`无`, `na`/`不适用`.
pub fn parse_yes_no_na(raw: &str) -> Result<YesNoNa, AnswerError> {
    let s = raw.trim();
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "" => Err(AnswerError::Empty),
        "yes" | "y" | "true" | "是" | "有" => Ok(YesNoNa::Yes),
        "no" | "n" | "false" | "否" | "无" => Ok(YesNoNa::No),
        "na" | "n/a" | "不适用" | "不涉及" => Ok(YesNoNa::Na),
        _ => Err(AnswerError::NotYesNoNa(s.to_string())),
    }
}

fn parse_number(raw: &str, unit: &str, integer: bool) -> Result<f64, AnswerError> {
    let mut s = raw.trim();
    if !unit.is_empty() {
        s = s.strip_suffix(unit).unwrap_or(s).trim_end();
    }
    if s.is_empty() {
        return Err(AnswerError::Empty);
    }
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(AnswerError::NotANumber(raw.trim().to_string()));
    }
    let n: f64 = s
        .parse()
        .map_err(|_| AnswerError::NotANumber(raw.trim().to_string()))?;
    if !n.is_finite() {
        return Err(AnswerError::NotANumber(raw.trim().to_string()));
    }
    if integer && (n.fract() != 0.0 || n < 0.0 || n > f64::from(u32::MAX)) {
        return Err(AnswerError::NotAWholeNumber(raw.trim().to_string()));
    }
    Ok(if n == 0.0 { 0.0 } else { n })
}

/// Parses a raw answer for an item.
///
/// * yes/no/na: see [`parse_yes_no_na`];
/// * number: digits with an optional `-` and decimal point, optionally followed by the
///   item's unit (`12人`);
/// * choice: a value or a Chinese label; several separated by `,`, `，`, `、` or `;`
///   when the item allows multiple (kept in the template's order, deduplicated);
/// * text: any non-empty text (trimmed);
/// * photo: SHA-256 hex hashes separated by commas or whitespace.
pub fn parse_answer(item: &Item, raw: &str) -> Result<AnswerValue, AnswerError> {
    match &item.answer_type {
        AnswerType::YesNoNa => parse_yes_no_na(raw).map(AnswerValue::YesNoNa),
        AnswerType::Number { unit, integer } => {
            parse_number(raw, unit, *integer).map(AnswerValue::Number)
        }
        AnswerType::Choice { choices, multiple } => {
            // A whole label may itself hold a separator (其他，需专家确认).
            let whole = raw.trim();
            if let Some(c) = choices
                .iter()
                .find(|c| c.value == whole || c.label_zh == whole)
            {
                return Ok(AnswerValue::Choice(vec![c.value.clone()]));
            }
            let parts: Vec<&str> = raw
                .split([',', '，', '、', ';', '；'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                return Err(AnswerError::Empty);
            }
            if !multiple && parts.len() > 1 {
                return Err(AnswerError::SeveralChoices);
            }
            let mut picked = Vec::new();
            for p in &parts {
                let c = choices
                    .iter()
                    .find(|c| c.value == *p || c.label_zh == *p)
                    .ok_or_else(|| AnswerError::UnknownChoice((*p).to_string()))?;
                picked.push(c.value.as_str());
            }
            let ordered = choices
                .iter()
                .filter(|c| picked.contains(&c.value.as_str()))
                .map(|c| c.value.clone())
                .collect();
            Ok(AnswerValue::Choice(ordered))
        }
        AnswerType::Text => {
            let t = raw.trim();
            if t.is_empty() {
                Err(AnswerError::Empty)
            } else {
                Ok(AnswerValue::Text(t.to_string()))
            }
        }
        AnswerType::Photo => {
            let hashes: Vec<String> = raw
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            if hashes.is_empty() {
                return Err(AnswerError::Empty);
            }
            match hashes.iter().find(|h| !is_sha256_hex(h)) {
                Some(h) => Err(AnswerError::BadPhotoHash(h.clone())),
                None => Ok(AnswerValue::Photos(hashes)),
            }
        }
    }
}

//! The jurisdiction tree: district (区) → town (乡镇/街道) → village (村/社区) → grid (网格).
//!
//! Districts, towns and villages use the 12-digit codes of the National Bureau of
//! Statistics (统计用区划代码): `DDDDDD000000` is a district, `DDDDDDTTT000` a town and
//! `DDDDDDTTTVVV` a village. Grids have no national code; GridWalk gives a grid the
//! 12 digits of its village followed by a 3-digit grid number (15 digits in all).
//!
//! Legacy data may still carry 320482 (金坛市, abolished in 2015); it is read as
//! 320413 (金坛区).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Legacy county-level codes that have been replaced, old → new (first six digits).
pub const LEGACY_COUNTY_CODES: &[(&str, &str)] = &[("320482", "320413")];

/// Level of a node in the jurisdiction tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 区/县 — a district officer's jurisdiction.
    District,
    /// 乡镇/街道 — an expert team's jurisdiction.
    Town,
    /// 村/社区.
    Village,
    /// 网格 — one grid worker's patch inside a village.
    Grid,
}

impl DivisionLevel {
    /// The level's name as used in CSV files (`district`, `town`, `village`, `grid`).
    pub fn as_str(self) -> &'static str {
        match self {
            DivisionLevel::District => "district",
            DivisionLevel::Town => "town",
            DivisionLevel::Village => "village",
            DivisionLevel::Grid => "grid",
        }
    }

    /// Chinese name of the level.
    pub fn name_zh(self) -> &'static str {
        match self {
            DivisionLevel::District => "区县",
            DivisionLevel::Town => "乡镇/街道",
            DivisionLevel::Village => "村/社区",
            DivisionLevel::Grid => "网格",
        }
    }

    /// Parses `district|town|village|grid` (also accepts `county`, `street`, `community`).
    pub fn parse(s: &str) -> Result<Self, DivisionError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "district" | "county" => Ok(DivisionLevel::District),
            "town" | "street" | "township" => Ok(DivisionLevel::Town),
            "village" | "community" => Ok(DivisionLevel::Village),
            "grid" => Ok(DivisionLevel::Grid),
            other => Err(DivisionError::UnknownLevel(other.to_string())),
        }
    }
}

/// Errors in division codes and levels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not 12 digits (or 15 for a grid).
    #[error("division code '{0}' must be 12 digits (15 for a grid)")]
    BadCode(String),
    /// Level name not recognised.
    #[error("unknown division level '{0}' (expected district, town, village or grid)")]
    UnknownLevel(String),
    /// The declared level does not match the shape of the code.
    #[error("code {code} has the shape of a {shape}, not a {declared}")]
    LevelMismatch {
        code: String,
        shape: &'static str,
        declared: &'static str,
    },
}

/// A validated division code (12 digits, or 15 for a grid), legacy prefixes mapped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Validates a code and maps legacy county codes (320482 → 320413).
    pub fn parse(input: &str) -> Result<Self, DivisionError> {
        let s = input.trim();
        let ok_len = s.len() == 12 || s.len() == 15;
        if !ok_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionError::BadCode(input.to_string()));
        }
        let mut code = s.to_string();
        for (old, new) in LEGACY_COUNTY_CODES {
            if code.starts_with(old) {
                code.replace_range(0..6, new);
            }
        }
        Ok(DivisionCode(code))
    }

    /// The code's digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level implied by the code's shape.
    pub fn level(&self) -> DivisionLevel {
        let s = &self.0;
        if s.len() == 15 {
            DivisionLevel::Grid
        } else if &s[6..] == "000000" {
            DivisionLevel::District
        } else if &s[9..] == "000" {
            DivisionLevel::Town
        } else {
            DivisionLevel::Village
        }
    }

    /// The code of the enclosing division implied by the shape (a district's parent is
    /// its city, `DDDD00000000`).
    pub fn implied_parent(&self) -> DivisionCode {
        let s = &self.0;
        let parent = match self.level() {
            DivisionLevel::Grid => s[..12].to_string(),
            DivisionLevel::Village => format!("{}000", &s[..9]),
            DivisionLevel::Town => format!("{}000000", &s[..6]),
            DivisionLevel::District => format!("{}00000000", &s[..4]),
        };
        DivisionCode(parent)
    }

    /// True if a user whose jurisdiction is `self` may see and act on data of division
    /// `target`: `target` lies inside `self`, or `self` is a grid and `target` is the
    /// grid's village (a grid worker works the village's register). The one rule the
    /// device and the server both apply.
    pub fn covers(&self, target: &DivisionCode) -> bool {
        target.is_within(self)
            || (self.level() == DivisionLevel::Grid && *target == self.implied_parent())
    }

    /// The significant prefix of the code: a division lies inside this one exactly when
    /// its code starts with it (what [`DivisionCode::is_within`] compares, and what a
    /// SQL `LIKE 'prefix%'` or prefix range over codes selects).
    pub fn significant_prefix(&self) -> &str {
        let s = &self.0;
        match self.level() {
            // City (DDDD00000000) and province (DD0000000000) codes have the shape of a
            // district; their significant prefix is shorter.
            DivisionLevel::District if &s[2..6] == "0000" => &s[..2],
            DivisionLevel::District if &s[4..6] == "00" => &s[..4],
            DivisionLevel::District => &s[..6],
            DivisionLevel::Town => &s[..9],
            DivisionLevel::Village => &s[..12],
            DivisionLevel::Grid => s,
        }
    }

    /// True if `self` is `other` or lies inside it.
    pub fn is_within(&self, other: &DivisionCode) -> bool {
        self.0.starts_with(other.significant_prefix())
    }

    /// Checks that a declared level agrees with the code's shape.
    pub fn check_level(&self, declared: DivisionLevel) -> Result<(), DivisionError> {
        let shape = self.level();
        if shape == declared {
            Ok(())
        } else {
            Err(DivisionError::LevelMismatch {
                code: self.0.clone(),
                shape: shape.as_str(),
                declared: declared.as_str(),
            })
        }
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = DivisionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DivisionCode::parse(&value)
    }
}

impl From<DivisionCode> for String {
    fn from(value: DivisionCode) -> Self {
        value.0
    }
}

/// One node of the jurisdiction tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    pub code: DivisionCode,
    pub name: String,
    pub level: DivisionLevel,
    /// `None` only for the root of what is loaded (its parent lies outside the register).
    pub parent_code: Option<DivisionCode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid code")
    }

    #[test]
    fn levels_follow_the_shape_of_the_code() {
        assert_eq!(code("320413000000").level(), DivisionLevel::District);
        assert_eq!(code("320413100000").level(), DivisionLevel::Town);
        assert_eq!(code("320413100201").level(), DivisionLevel::Village);
        assert_eq!(code("320413100201001").level(), DivisionLevel::Grid);
    }

    #[test]
    fn parents_are_implied_by_the_code() {
        assert_eq!(
            code("320413100201001").implied_parent(),
            code("320413100201")
        );
        assert_eq!(code("320413100201").implied_parent(), code("320413100000"));
        assert_eq!(code("320413100000").implied_parent(), code("320413000000"));
        assert_eq!(code("320413000000").implied_parent(), code("320400000000"));
    }

    #[test]
    fn the_old_jintan_city_code_maps_to_the_district() {
        assert_eq!(code("320482100201").as_str(), "320413100201");
    }

    #[test]
    fn containment_uses_the_prefix_of_the_outer_level() {
        let village = code("320413100201");
        assert!(village.is_within(&code("320413100000")));
        assert!(village.is_within(&code("320413000000")));
        assert!(!village.is_within(&code("320413104000")));
        assert!(code("320413100201007").is_within(&village));
        assert!(code("320413000000").is_within(&code("320400000000")));
        assert!(!code("320413000000").is_within(&code("320500000000")));
    }

    #[test]
    fn malformed_codes_and_levels_are_refused() {
        assert!(DivisionCode::parse("32041310020").is_err());
        assert!(DivisionCode::parse("32041310020X").is_err());
        assert!(DivisionLevel::parse("province").is_err());
        assert!(code("320413100000")
            .check_level(DivisionLevel::Village)
            .is_err());
    }
}

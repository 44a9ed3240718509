//! Device queries keep to the enrolled jurisdiction.
//!
//! A compromised web view calls the app's IPC commands directly, so the store functions
//! those commands use take the acting user's jurisdiction: lists and searches leave out
//! the enterprises it does not cover, and a get-by-id of such an enterprise, or of an
//! inspection, hazard or photo of one, is refused with
//! [`StoreError::OutsideJurisdiction`] (`store.outside_jurisdiction`).
//!
//! The rule is the server's (`covers` in `gridwalk-server`): a jurisdiction covers a
//! division that lies inside it by code ([`DivisionCode::is_within`]), and a grid covers
//! its village too (enterprises are registered by village). A short code such as
//! `320413104` is read padded with zeros to 12 digits (`320413104000`); a code that does
//! not parse, or a blank one, covers nothing. `None` is the whole register: a device not
//! enrolled and without `GRIDWALK_JURISDICTION`.

use crate::error::StoreError;
use crate::evidence::EvidenceError;
use crate::inspection::{
    EnterpriseStatus, HazardDetail, InspectionDetail, InspectionError, ItemView,
};
use crate::photo_upload::Thumbnail;
use crate::register::EnterpriseDetail;
use crate::store::Store;
use gridwalk_core::{DivisionCode, DivisionLevel};
use rusqlite::OptionalExtension;
use uuid::Uuid;

/// What a jurisdiction lets the device show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No jurisdiction: the whole register.
    Whole,
    /// The divisions a jurisdiction covers.
    Within(DivisionCode),
    /// A jurisdiction that does not parse: nothing.
    Nothing,
}

impl Scope {
    /// The scope of a jurisdiction code (`None`: the whole register).
    pub fn of(jurisdiction: Option<&str>) -> Scope {
        let Some(code) = jurisdiction else {
            return Scope::Whole;
        };
        let code = code.trim();
        let padded =
            if !code.is_empty() && code.len() < 12 && code.bytes().all(|b| b.is_ascii_digit()) {
                format!("{code:0<12}")
            } else {
                code.to_string()
            };
        match DivisionCode::parse(&padded) {
            Ok(c) => Scope::Within(c),
            Err(_) => Scope::Nothing,
        }
    }

    /// True if the scope covers the division `code` (an enterprise's village). A code
    /// that does not parse is covered only by the whole register.
    pub fn covers(&self, code: &str) -> bool {
        match self {
            Scope::Whole => true,
            Scope::Nothing => false,
            Scope::Within(j) => DivisionCode::parse(code).is_ok_and(|t| j.covers(&t)),
        }
    }

    /// The parameters of [`SCOPE_SQL`]: `(prefix, village of a grid)`, both `None` for
    /// the whole register. `None` for [`Scope::Nothing`] (the caller answers nothing).
    pub(crate) fn sql_params(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            Scope::Whole => Some((None, None)),
            Scope::Nothing => None,
            Scope::Within(j) => Some((
                Some(j.significant_prefix().to_string()),
                (j.level() == DivisionLevel::Grid).then(|| j.implied_parent().as_str().to_string()),
            )),
        }
    }

    /// The jurisdiction as named in errors.
    fn name(&self) -> String {
        match self {
            Scope::Whole => "(whole register)".to_string(),
            Scope::Within(j) => j.as_str().to_string(),
            Scope::Nothing => "(invalid)".to_string(),
        }
    }

    fn refuse(&self, what: &'static str, key: &str) -> StoreError {
        StoreError::OutsideJurisdiction {
            what,
            key: key.to_string(),
            jurisdiction: self.name(),
        }
    }
}

/// A condition on `e.village_code` (an `enterprise e` in the query) with the parameters
/// `{p}` (prefix) and `{v}` (a grid's village) of [`Scope::sql_params`]. Codes are
/// digits, so `':'` (after `'9'`) bounds the prefix range and the index on
/// `village_code` serves it.
pub(crate) fn scope_sql(p: &str, v: &str) -> String {
    format!(
        "({p} IS NULL OR (e.village_code >= {p} AND e.village_code < {p} || ':') \
         OR e.village_code = {v})"
    )
}

impl Store {
    /// Refuses (`store.outside_jurisdiction`) unless `jurisdiction` covers `village`;
    /// `what` and `key` name the record in the error.
    fn check_village(
        &self,
        jurisdiction: Option<&str>,
        village: Option<&str>,
        what: &'static str,
        key: &str,
    ) -> Result<(), StoreError> {
        let scope = Scope::of(jurisdiction);
        let ok = match village {
            Some(v) => scope.covers(v),
            None => scope == Scope::Whole,
        };
        if ok {
            Ok(())
        } else {
            Err(scope.refuse(what, key))
        }
    }

    /// [`Store::enterprise`] (id or USCC), refused when outside `jurisdiction`.
    pub fn enterprise_in(
        &self,
        jurisdiction: Option<&str>,
        key: &str,
    ) -> Result<EnterpriseDetail, StoreError> {
        let detail = self.enterprise(key)?;
        self.check_village(
            jurisdiction,
            Some(detail.enterprise.village_code.as_str()),
            "enterprise",
            key,
        )?;
        Ok(detail)
    }

    /// [`Store::enterprise_status`], refused when outside `jurisdiction`.
    pub fn enterprise_status_in(
        &self,
        jurisdiction: Option<&str>,
        key: &str,
    ) -> Result<EnterpriseStatus, InspectionError> {
        self.enterprise_in(jurisdiction, key)?;
        self.enterprise_status(key)
    }

    /// Refuses an inspection whose enterprise lies outside `jurisdiction`. An unknown
    /// id passes: the function it guards answers `inspect.not_found`.
    pub fn check_inspection_in(
        &self,
        jurisdiction: Option<&str>,
        inspection_id: &str,
    ) -> Result<(), StoreError> {
        if jurisdiction.is_none() {
            return Ok(());
        }
        let Ok(id) = Uuid::parse_str(inspection_id.trim()) else {
            return Ok(());
        };
        let village: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT e.village_code FROM inspection i \
                 LEFT JOIN enterprise e ON e.id = i.enterprise_id WHERE i.id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match village {
            None => Ok(()),
            Some(v) => self.check_village(jurisdiction, v.as_deref(), "inspection", inspection_id),
        }
    }

    /// Refuses a hazard whose enterprise lies outside `jurisdiction`. An unknown id
    /// passes: the function it guards answers `hazard.not_found`.
    pub fn check_hazard_in(
        &self,
        jurisdiction: Option<&str>,
        hazard_id: &str,
    ) -> Result<(), StoreError> {
        if jurisdiction.is_none() {
            return Ok(());
        }
        let Ok(id) = Uuid::parse_str(hazard_id.trim()) else {
            return Ok(());
        };
        let village: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT e.village_code FROM hazard h \
                 LEFT JOIN enterprise e ON e.id = h.enterprise_id WHERE h.id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match village {
            None => Ok(()),
            Some(v) => self.check_village(jurisdiction, v.as_deref(), "hazard", hazard_id),
        }
    }

    /// [`Store::inspection`], refused when its enterprise is outside `jurisdiction`.
    pub fn inspection_in(
        &self,
        jurisdiction: Option<&str>,
        inspection_id: &str,
    ) -> Result<InspectionDetail, InspectionError> {
        self.check_inspection_in(jurisdiction, inspection_id)?;
        self.inspection(inspection_id)
    }

    /// [`Store::inspection_items`], refused when the enterprise is outside
    /// `jurisdiction`.
    pub fn inspection_items_in(
        &self,
        jurisdiction: Option<&str>,
        inspection_id: &str,
    ) -> Result<Vec<ItemView>, InspectionError> {
        self.check_inspection_in(jurisdiction, inspection_id)?;
        self.inspection_items(inspection_id)
    }

    /// [`Store::hazard`], refused when its enterprise is outside `jurisdiction`.
    pub fn hazard_in(
        &self,
        jurisdiction: Option<&str>,
        hazard_id: &str,
    ) -> Result<HazardDetail, InspectionError> {
        self.check_hazard_in(jurisdiction, hazard_id)?;
        self.hazard(hazard_id)
    }

    /// [`Store::photo_thumbnail`], refused when every stored photo with this hash
    /// belongs to an enterprise outside `jurisdiction` (its own, or its inspection's).
    /// A photo tied to no enterprise (an `add_photo` without one) is shown.
    pub fn photo_thumbnail_in(
        &self,
        jurisdiction: Option<&str>,
        sha256: &str,
    ) -> Result<Thumbnail, EvidenceError> {
        if jurisdiction.is_some() {
            let sha = sha256.trim().to_ascii_lowercase();
            let mut stmt = self.conn.prepare_cached(
                "SELECT p.enterprise_id IS NULL AND ip.inspection_id IS NULL, \
                     COALESCE(e.village_code, ie.village_code) \
                 FROM photo p \
                 LEFT JOIN enterprise e ON e.id = p.enterprise_id \
                 LEFT JOIN inspection_photo ip ON ip.photo_id = p.id \
                 LEFT JOIN inspection i ON i.id = ip.inspection_id \
                 LEFT JOIN enterprise ie ON ie.id = i.enterprise_id \
                 WHERE p.derived_sha256 = ?1 OR p.original_sha256 = ?1",
            )?;
            let rows = stmt
                .query_map([&sha], |r| {
                    Ok((r.get::<_, bool>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let scope = Scope::of(jurisdiction);
            let shown = rows.iter().any(|(loose, village)| {
                *loose || village.as_deref().is_some_and(|v| scope.covers(v))
            });
            if !rows.is_empty() && !shown {
                return Err(scope.refuse("photo", sha256).into());
            }
        }
        self.photo_thumbnail(sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("code")
    }

    /// The SQL prefix range agrees with [`covers`] for every level.
    #[test]
    fn the_sql_prefix_agrees_with_covers() {
        let jurisdictions = [
            "320000000000",
            "320400000000",
            "320413000000",
            "320413104000",
            "320413104206",
            "320413104206001",
        ];
        let targets = [
            "320413104206",
            "320413104206001",
            "320413104206002",
            "320413104207",
            "320413001001",
            "320412104206",
            "320500000000",
        ];
        for j in jurisdictions {
            let scope = Scope::of(Some(j));
            let Some((Some(p), v)) = scope.sql_params() else {
                panic!("{j}: no prefix");
            };
            for t in targets {
                let by_sql = t.starts_with(&p) || v.as_deref() == Some(t);
                assert_eq!(by_sql, code(j).covers(&code(t)), "{j} over {t}");
                assert_eq!(scope.covers(t), by_sql, "{j} over {t}");
            }
        }
    }

    #[test]
    fn a_town_covers_its_villages_and_a_grid_its_village() {
        let town = Scope::of(Some("320413104"));
        assert_eq!(town, Scope::Within(code("320413104000")));
        assert!(town.covers("320413104206"));
        assert!(!town.covers("320413001001"));
        let grid = Scope::of(Some("320413104206001"));
        assert!(grid.covers("320413104206"), "its village");
        assert!(grid.covers("320413104206001"));
        assert!(!grid.covers("320413104206002"), "another grid");
        assert!(!grid.covers("320413104207"));
    }

    #[test]
    fn no_jurisdiction_is_everything_and_a_bad_one_nothing() {
        assert!(Scope::of(None).covers("320413001001"));
        for bad in ["", "  ", "abc", "3204131042060011"] {
            let s = Scope::of(Some(bad));
            assert_eq!(s, Scope::Nothing, "{bad:?}");
            assert!(!s.covers("320413001001"));
            assert_eq!(s.sql_params(), None);
        }
    }
}

//! What a search box query means. The store runs it; this module only decides.
//!
//! - Letters and digits that could start a USCC (at least one digit, only characters
//!   of the USCC alphabet): a **USCC prefix** (`9132041`, `MA1K`).
//! - Latin letters only: **pinyin**, full or initials (`jtxc`, `jintan`), also matched
//!   against names written in Latin letters.
//! - Anything with hanzi: a **substring** of name or address (`新城`).

use crate::uscc::{compact, ALPHABET};

/// How a query will be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    UsccPrefix,
    Pinyin,
    Substring,
}

/// A normalised query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Trimmed, whitespace removed; lower-case for pinyin, upper-case for USCC.
    pub text: String,
    pub kind: QueryKind,
}

/// Why a query cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing left after trimming.
    #[error("empty search query")]
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    #[error("search query longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
}

/// Longest query accepted.
pub const MAX_QUERY_CHARS: usize = 64;

impl SearchQuery {
    /// Normalises and classifies `input`.
    pub fn parse(input: &str) -> Result<SearchQuery, QueryError> {
        let text: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let upper = compact(&text);
        let uscc_like = upper.chars().all(|c| ALPHABET.contains(c))
            && upper.chars().any(|c| c.is_ascii_digit())
            && upper.chars().count() <= 18;
        if uscc_like {
            return Ok(SearchQuery {
                text: upper,
                kind: QueryKind::UsccPrefix,
            });
        }
        if text.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(SearchQuery {
                text: text.to_ascii_lowercase(),
                kind: QueryKind::Pinyin,
            });
        }
        Ok(SearchQuery {
            text: text.to_lowercase(),
            kind: QueryKind::Substring,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(q: &str) -> QueryKind {
        SearchQuery::parse(q).expect("valid").kind
    }

    #[test]
    fn queries_are_classified_by_what_they_can_be() {
        assert_eq!(kind("jtxc"), QueryKind::Pinyin);
        assert_eq!(kind("JinTan"), QueryKind::Pinyin);
        assert_eq!(kind("913204"), QueryKind::UsccPrefix);
        assert_eq!(kind("91320413ma1"), QueryKind::UsccPrefix);
        assert_eq!(kind("金坛 新城"), QueryKind::Substring);
        assert_eq!(
            SearchQuery::parse("金坛 新城").expect("ok").text,
            "金坛新城"
        );
    }

    #[test]
    fn empty_and_overlong_queries_are_refused() {
        assert_eq!(SearchQuery::parse("  "), Err(QueryError::Empty));
        assert_eq!(
            SearchQuery::parse(&"金".repeat(65)),
            Err(QueryError::TooLong)
        );
    }
}

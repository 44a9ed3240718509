//! The applicability condition language.
//!
//! A condition is a boolean expression over enterprise facts:
//!
//! ```text
//! expr    := or
//! or      := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | primary
//! primary := "(" expr ")" | BOOL_FACT | NUM_FACT CMP INTEGER
//! CMP     := ">=" | ">" | "<=" | "<" | "==" | "!="
//! ```
//!
//! Fact names are upper case (`AL_MG`, `DRY_COLLECTOR`, `WORKERS_PER_SHIFT`…, see
//! [`FactName`]); an unknown name is a parse error that names it. A numeric fact that
//! is unknown makes its comparison false; an unknown yes/no fact reads as false.
//! Conditions serialize as their canonical text.

use crate::facts::{BoolFact, EnterpriseFacts, FactName, NumFact};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A parsed applicability condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    expr: Expr,
}

/// Comparison operator of a numeric test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

/// Expression tree of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Fact(BoolFact),
    Compare(NumFact, Cmp, u32),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Why a condition string was refused; `at` is a character offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("empty condition")]
    Empty,
    #[error("unknown fact `{name}` at {at}")]
    UnknownFact { name: String, at: usize },
    #[error("unexpected `{found}` at {at}, expected {expected}")]
    Unexpected {
        found: String,
        at: usize,
        expected: &'static str,
    },
    #[error("unexpected end of condition, expected {expected}")]
    UnexpectedEnd { expected: &'static str },
    #[error("`{name}` is a number and must be compared, e.g. `{name} >= 10`")]
    NumberNotCompared { name: String },
    #[error("`{name}` is yes/no and cannot be compared with a number")]
    FlagCompared { name: String },
    #[error("`{name}` cannot be used in a condition")]
    NotAConditionFact { name: String },
    #[error("number `{text}` at {at} is not a whole number 0..=4294967295")]
    BadNumber { text: String, at: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Num(String),
    And,
    Or,
    Not,
    LParen,
    RParen,
    Cmp(Cmp),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Num(s) => s.clone(),
            Tok::And => "&&".into(),
            Tok::Or => "||".into(),
            Tok::Not => "!".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Cmp(c) => c.as_str().into(),
        }
    }
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Lt => "<",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }

    fn test(self, a: u32, b: u32) -> bool {
        match self {
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ConditionError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let two = |t: Tok, out: &mut Vec<(Tok, usize)>| out.push((t, start));
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                two(Tok::LParen, &mut out);
                i += 1;
            }
            ')' => {
                two(Tok::RParen, &mut out);
                i += 1;
            }
            '&' if next == Some('&') => {
                two(Tok::And, &mut out);
                i += 2;
            }
            '|' if next == Some('|') => {
                two(Tok::Or, &mut out);
                i += 2;
            }
            '!' if next == Some('=') => {
                two(Tok::Cmp(Cmp::Ne), &mut out);
                i += 2;
            }
            '!' => {
                two(Tok::Not, &mut out);
                i += 1;
            }
            '>' | '<' | '=' => {
                let (cmp, len) = match (c, next) {
                    ('>', Some('=')) => (Cmp::Ge, 2),
                    ('<', Some('=')) => (Cmp::Le, 2),
                    ('=', Some('=')) => (Cmp::Eq, 2),
                    ('>', _) => (Cmp::Gt, 1),
                    ('<', _) => (Cmp::Lt, 1),
                    _ => {
                        return Err(ConditionError::Unexpected {
                            found: "=".into(),
                            at: start,
                            expected: "`==`",
                        })
                    }
                };
                two(Tok::Cmp(cmp), &mut out);
                i += len;
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                out.push((Tok::Num(chars[start..i].iter().collect()), start));
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(chars[start..i].iter().collect()), start));
            }
            other => {
                return Err(ConditionError::Unexpected {
                    found: other.to_string(),
                    at: start,
                    expected: "a fact name, `!`, `(`, `&&`, `||` or a comparison",
                })
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self, expected: &'static str) -> Result<(Tok, usize), ConditionError> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or(ConditionError::UnexpectedEnd { expected })?;
        self.pos += 1;
        Ok(t)
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        const WHAT: &str = "a fact name, `!` or `(`";
        match self.next(WHAT)? {
            (Tok::LParen, _) => {
                let e = self.or()?;
                match self.next("`)`")? {
                    (Tok::RParen, _) => Ok(e),
                    (t, at) => Err(ConditionError::Unexpected {
                        found: t.text(),
                        at,
                        expected: "`)`",
                    }),
                }
            }
            (Tok::Ident(name), at) => match FactName::parse(&name) {
                None => Err(ConditionError::UnknownFact { name, at }),
                Some(FactName::DustType) => Err(ConditionError::NotAConditionFact { name }),
                Some(FactName::Bool(b)) => {
                    if let Some(Tok::Cmp(_)) = self.peek() {
                        return Err(ConditionError::FlagCompared { name });
                    }
                    Ok(Expr::Fact(b))
                }
                Some(FactName::Num(n)) => {
                    let cmp = match self.peek() {
                        Some(Tok::Cmp(c)) => *c,
                        _ => return Err(ConditionError::NumberNotCompared { name }),
                    };
                    self.pos += 1;
                    match self.next("a whole number")? {
                        (Tok::Num(text), at) => {
                            let v = text
                                .parse::<u32>()
                                .map_err(|_| ConditionError::BadNumber { text, at })?;
                            Ok(Expr::Compare(n, cmp, v))
                        }
                        (t, at) => Err(ConditionError::Unexpected {
                            found: t.text(),
                            at,
                            expected: "a whole number",
                        }),
                    }
                }
            },
            (t, at) => Err(ConditionError::Unexpected {
                found: t.text(),
                at,
                expected: WHAT,
            }),
        }
    }
}

impl Condition {
    /// Parses a condition such as `DRY_COLLECTOR && !AL_MG` or `WORKERS_PER_SHIFT >= 10`.
    pub fn parse(src: &str) -> Result<Condition, ConditionError> {
        let toks = lex(src)?;
        if toks.is_empty() {
            return Err(ConditionError::Empty);
        }
        let mut p = Parser { toks, pos: 0 };
        let expr = p.or()?;
        if let Some((t, at)) = p.toks.get(p.pos) {
            return Err(ConditionError::Unexpected {
                found: t.text(),
                at: *at,
                expected: "`&&`, `||` or the end",
            });
        }
        Ok(Condition { expr })
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the condition holds for these facts.
    pub fn evaluate(&self, facts: &EnterpriseFacts) -> bool {
        eval(&self.expr, facts)
    }
}

fn eval(e: &Expr, f: &EnterpriseFacts) -> bool {
    match e {
        Expr::Fact(b) => f.bool_fact(*b),
        Expr::Compare(n, c, v) => f.num_fact(*n).is_some_and(|x| c.test(x, *v)),
        Expr::Not(x) => !eval(x, f),
        Expr::And(a, b) => eval(a, f) && eval(b, f),
        Expr::Or(a, b) => eval(a, f) || eval(b, f),
    }
}

/// Precedence for printing: or < and < unary/primary.
fn write_expr(e: &Expr, parent: u8, out: &mut String) {
    let (prec, open) = match e {
        Expr::Or(..) => (1, parent > 1),
        Expr::And(..) => (2, parent > 2),
        _ => (3, false),
    };
    if open {
        out.push('(');
    }
    match e {
        Expr::Fact(b) => out.push_str(b.as_str()),
        Expr::Compare(n, c, v) => out.push_str(&format!("{} {} {v}", n.as_str(), c.as_str())),
        Expr::Not(x) => {
            out.push('!');
            write_expr(x, 3, out);
        }
        Expr::And(a, b) => {
            write_expr(a, prec, out);
            out.push_str(" && ");
            write_expr(b, prec + 1, out);
        }
        Expr::Or(a, b) => {
            write_expr(a, prec, out);
            out.push_str(" || ");
            write_expr(b, prec + 1, out);
        }
    }
    if open {
        out.push(')');
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_expr(&self.expr, 0, &mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for Condition {
    type Err = ConditionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Condition::parse(s)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Condition::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::DustFlag;

    fn facts(flags: &[DustFlag], workers: Option<u32>) -> EnterpriseFacts {
        EnterpriseFacts {
            workers_per_shift: workers,
            ..EnterpriseFacts::with_flags(flags.iter().copied())
        }
    }

    #[test]
    fn a_single_flag_holds_only_when_the_enterprise_has_it() {
        let c = Condition::parse("AL_MG").expect("valid");
        assert!(c.evaluate(&facts(&[DustFlag::AlMg], None)));
        assert!(!c.evaluate(&facts(&[DustFlag::Wood], None)));
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_binds_tightest() {
        let c = Condition::parse("WOOD || DRY_COLLECTOR && !AL_MG").expect("valid");
        assert_eq!(c.to_string(), "WOOD || DRY_COLLECTOR && !AL_MG");
        assert!(c.evaluate(&facts(&[DustFlag::Wood, DustFlag::AlMg], None)));
        assert!(!c.evaluate(&facts(&[DustFlag::DryCollector, DustFlag::AlMg], None)));
        assert!(c.evaluate(&facts(&[DustFlag::DryCollector], None)));
    }

    #[test]
    fn parentheses_group_and_survive_printing() {
        let c = Condition::parse("(AL_MG||WOOD)&&DRY_COLLECTOR").expect("valid");
        assert_eq!(c.to_string(), "(AL_MG || WOOD) && DRY_COLLECTOR");
        assert_eq!(Condition::parse(&c.to_string()), Ok(c.clone()));
        assert!(!c.evaluate(&facts(&[DustFlag::Wood], None)));
        assert!(c.evaluate(&facts(&[DustFlag::Wood, DustFlag::DryCollector], None)));
    }

    #[test]
    fn numeric_comparisons_are_false_when_the_number_is_unknown() {
        let c = Condition::parse("AL_MG || WORKERS_PER_SHIFT >= 10").expect("valid");
        assert!(c.evaluate(&facts(&[], Some(10))));
        assert!(!c.evaluate(&facts(&[], Some(9))));
        assert!(!c.evaluate(&facts(&[], None)));
        let ne = Condition::parse("STOREYS != 1").expect("valid");
        assert!(!ne.evaluate(&facts(&[], None)));
    }

    #[test]
    fn an_unknown_fact_is_named_in_the_error() {
        assert_eq!(
            Condition::parse("DRY_COLLECTOR && ALUMINIUM"),
            Err(ConditionError::UnknownFact {
                name: "ALUMINIUM".into(),
                at: 17
            })
        );
    }

    #[test]
    fn malformed_conditions_are_refused() {
        for bad in [
            "",
            "AL_MG &&",
            "(AL_MG",
            "AL_MG)",
            "AL_MG WOOD",
            "WORKERS_PER_SHIFT",
            "AL_MG >= 3",
            "STOREYS >= x",
            "STOREYS >= 99999999999",
            "AL_MG & WOOD",
            "DUST_TYPE",
            "STOREYS = 3",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn conditions_serialize_as_their_text() {
        let c = Condition::parse("ALL_DUST || LEASED").expect("valid");
        let json = serde_json::to_string(&c).expect("serialize");
        assert_eq!(json, "\"ALL_DUST || LEASED\"");
        let back: Condition = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, c);
        assert!(serde_json::from_str::<Condition>("\"NOPE\"").is_err());
    }
}

//! Supervision sampling (督导抽查, duty 7 of the notice; docs/campaign.md "Supervision
//! sampling"): a reproducible random sample of a town's enterprises.
//!
//! Each enterprise is ranked by `SHA-256("gridwalk-sample-v1:{seed}:{uscc}")` and each
//! group takes the lowest-ranked enterprises not yet drawn: first 2 厂中厂 tenants, then
//! 10 dust-involved enterprises, then 3 enterprises that are not dust-involved. Anyone
//! with the seed and the register can redo the draw with `sha256sum`; the register
//! version (a digest of the candidates and their groups) shows the register was the same.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many of each group the notice asks for.
pub const WANT_TENANTS: usize = 2;
/// Dust-involved enterprises (涉粉企业).
pub const WANT_DUST_INVOLVED: usize = 10;
/// Other enterprises (其他企业).
pub const WANT_OTHER: usize = 3;

/// One enterprise of the town as the draw sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Normalised USCC (the draw's key).
    pub uscc: String,
    pub name: String,
    pub village_code: String,
    pub dust_involved: bool,
    /// A 厂中厂 tenant.
    pub tenant: bool,
}

/// A sample group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleGroup {
    /// 厂中厂 tenants.
    Tenant,
    /// 涉粉企业.
    DustInvolved,
    /// 其他企业 (not dust-involved).
    Other,
}

impl SampleGroup {
    /// Chinese label.
    pub fn name_zh(self) -> &'static str {
        match self {
            SampleGroup::Tenant => "厂中厂",
            SampleGroup::DustInvolved => "涉粉企业",
            SampleGroup::Other => "其他企业",
        }
    }
}

/// One drawn enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawn {
    pub group: SampleGroup,
    /// The rank that drew it (lower-case hex SHA-256).
    pub rank: String,
    #[serde(flatten)]
    pub enterprise: Candidate,
}

/// How a group fared: `drawn < wanted` only when the town has fewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    pub group: SampleGroup,
    pub wanted: usize,
    /// Enterprises of the group left to draw from.
    pub available: usize,
    pub drawn: usize,
}

/// The outcome of a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    pub seed: u64,
    /// SHA-256 over the sorted candidates and their groups.
    pub register_version: String,
    pub groups: Vec<GroupCount>,
    pub enterprises: Vec<Drawn>,
    /// Chinese sentences for each group the town could not fill (empty when full).
    pub shortfalls_zh: Vec<String>,
}

/// The rank of an enterprise under a seed.
pub fn rank(seed: u64, uscc: &str) -> String {
    hex(&Sha256::digest(
        format!("gridwalk-sample-v1:{seed}:{uscc}").as_bytes(),
    ))
}

/// The register version of a candidate set: SHA-256 of `uscc|dust_involved|tenant\n`
/// lines sorted by USCC.
pub fn register_version(candidates: &[Candidate]) -> String {
    let mut lines: Vec<String> = candidates
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}\n",
                c.uscc,
                u8::from(c.dust_involved),
                u8::from(c.tenant)
            )
        })
        .collect();
    lines.sort();
    lines.dedup();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Draws the sample of the notice (2 tenants, 10 dust-involved, 3 others) from
/// `candidates` under `seed`. The order of `candidates` does not matter.
pub fn draw(seed: u64, candidates: &[Candidate]) -> Draw {
    draw_counts(
        seed,
        candidates,
        &[
            (SampleGroup::Tenant, WANT_TENANTS),
            (SampleGroup::DustInvolved, WANT_DUST_INVOLVED),
            (SampleGroup::Other, WANT_OTHER),
        ],
    )
}

/// [`draw`] with other group sizes, drawn in the order given.
pub fn draw_counts(seed: u64, candidates: &[Candidate], wants: &[(SampleGroup, usize)]) -> Draw {
    let mut ranked: Vec<(String, &Candidate)> = candidates
        .iter()
        .map(|c| (rank(seed, &c.uscc), c))
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.uscc.cmp(&b.1.uscc)));
    ranked.dedup_by(|a, b| a.1.uscc == b.1.uscc);
    let mut taken = std::collections::BTreeSet::new();
    let mut enterprises = Vec::new();
    let mut groups = Vec::new();
    let mut shortfalls_zh = Vec::new();
    for &(group, wanted) in wants {
        let fits = |c: &Candidate| match group {
            SampleGroup::Tenant => c.tenant,
            SampleGroup::DustInvolved => c.dust_involved,
            SampleGroup::Other => !c.dust_involved,
        };
        let pool: Vec<&(String, &Candidate)> = ranked
            .iter()
            .filter(|(_, c)| fits(c) && !taken.contains(&c.uscc))
            .collect();
        let available = pool.len();
        for (r, c) in pool.into_iter().take(wanted) {
            taken.insert(c.uscc.clone());
            enterprises.push(Drawn {
                group,
                rank: r.clone(),
                enterprise: (*c).clone(),
            });
        }
        let drawn = available.min(wanted);
        if drawn < wanted {
            shortfalls_zh.push(format!(
                "{}应抽{}家，本辖区仅有{}家，已全部抽取",
                group.name_zh(),
                wanted,
                available
            ));
        }
        groups.push(GroupCount {
            group,
            wanted,
            available,
            drawn,
        });
    }
    Draw {
        seed,
        register_version: register_version(candidates),
        groups,
        enterprises,
        shortfalls_zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town(dust: usize, tenants: usize, other: usize) -> Vec<Candidate> {
        let mut v = Vec::new();
        let mut n = 0;
        let mut push = |dust_involved: bool, tenant: bool, v: &mut Vec<Candidate>| {
            n += 1;
            v.push(Candidate {
                uscc: format!("91320413MA{n:08}"),
                name: format!("企业{n}"),
                village_code: "320413100201".into(),
                dust_involved,
                tenant,
            });
        };
        for _ in 0..dust {
            push(true, false, &mut v);
        }
        for _ in 0..tenants {
            push(true, true, &mut v);
        }
        for _ in 0..other {
            push(false, false, &mut v);
        }
        v
    }

    #[test]
    fn the_same_seed_and_register_draw_the_same_sample_in_any_order() {
        let c = town(40, 6, 30);
        let a = draw(20241, &c);
        let mut reversed = c.clone();
        reversed.reverse();
        assert_eq!(draw(20241, &reversed), a);
        assert_eq!(a.enterprises.len(), 15);
        assert!(a.shortfalls_zh.is_empty());
        let b = draw(20242, &c);
        assert_ne!(
            a.enterprises
                .iter()
                .map(|d| &d.enterprise.uscc)
                .collect::<Vec<_>>(),
            b.enterprises
                .iter()
                .map(|d| &d.enterprise.uscc)
                .collect::<Vec<_>>()
        );
        assert_eq!(a.register_version, b.register_version);
    }

    #[test]
    fn groups_hold_what_they_say_and_nothing_is_drawn_twice() {
        let d = draw(7, &town(40, 6, 30));
        let count = |g| d.enterprises.iter().filter(|e| e.group == g).count();
        assert_eq!(count(SampleGroup::Tenant), 2);
        assert_eq!(count(SampleGroup::DustInvolved), 10);
        assert_eq!(count(SampleGroup::Other), 3);
        for e in &d.enterprises {
            match e.group {
                SampleGroup::Tenant => assert!(e.enterprise.tenant),
                SampleGroup::DustInvolved => assert!(e.enterprise.dust_involved),
                SampleGroup::Other => assert!(!e.enterprise.dust_involved),
            }
            assert_eq!(e.rank, rank(7, &e.enterprise.uscc));
        }
        let mut ids: Vec<_> = d.enterprises.iter().map(|e| &e.enterprise.uscc).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 15);
    }

    #[test]
    fn each_group_takes_the_lowest_ranks_of_what_is_left() {
        let c = town(40, 0, 0);
        let d = draw(99, &c);
        let mut ranks: Vec<String> = c.iter().map(|e| rank(99, &e.uscc)).collect();
        ranks.sort();
        let drawn: Vec<String> = d.enterprises.iter().map(|e| e.rank.clone()).collect();
        assert_eq!(drawn, ranks[..10].to_vec());
    }

    #[test]
    fn a_small_town_gives_what_it_has_and_says_so() {
        let d = draw(1, &town(4, 1, 0));
        assert_eq!(d.enterprises.len(), 5);
        let g = |g| d.groups.iter().find(|x| x.group == g).cloned();
        assert_eq!(g(SampleGroup::Tenant).map(|x| x.drawn), Some(1));
        assert_eq!(
            g(SampleGroup::DustInvolved).map(|x| (x.available, x.drawn)),
            Some((4, 4))
        );
        assert_eq!(g(SampleGroup::Other).map(|x| x.drawn), Some(0));
        assert_eq!(d.shortfalls_zh.len(), 3);
        assert!(d.shortfalls_zh[0].contains("厂中厂应抽2家，本辖区仅有1家"));
    }

    #[test]
    fn a_changed_register_has_another_version() {
        let c = town(10, 2, 3);
        let mut changed = c.clone();
        changed[0].dust_involved = false;
        assert_ne!(register_version(&c), register_version(&changed));
        // The rank is the published formula.
        assert_eq!(
            rank(1, "X"),
            hex(&Sha256::digest(b"gridwalk-sample-v1:1:X"))
        );
    }
}

//! A deterministic demo register for Jintan (金坛区): plausible enterprise names and
//! addresses in the real villages of the shared divisions file, valid USCCs, dust types
//! by industry, workers per shift, positions around Jintan, and some 厂中厂 tenants
//! renting floors (sometimes with equipment) from a landlord in the same village.
//!
//! The same seed always gives the same file, so benchmarks and demos are repeatable.
//! Nothing here is real: names are composed from word lists.

use gridwalk_core::division::Division;
use gridwalk_core::{DivisionLevel, Uscc};
use std::collections::HashSet;
use std::io::Write;

/// A small, fast, deterministic PRNG (SplitMix64); good enough for demo data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One demo enterprise, as a row of the register import format.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoEnterprise {
    pub name: String,
    pub uscc: String,
    pub village_code: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub industry: String,
    pub dust_types: Vec<String>,
    pub workers_per_shift: u32,
    pub landlord_uscc: Option<String>,
    pub lease_floors: Option<String>,
    pub lease_equipment: Option<bool>,
    pub lease_safety_agreement: Option<bool>,
}

/// Industries with the dust types they produce (empty: not dust-involved).
const INDUSTRIES: &[(&str, &[&str], &[&str])] = &[
    ("铝制品抛光", &["铝粉"], &["铝业", "金属制品", "精密五金"]),
    ("镁合金压铸打磨", &["镁合金粉"], &["镁业", "压铸"]),
    ("锌制品加工", &["锌粉"], &["五金", "锌业"]),
    ("木制品加工", &["木粉"], &["木业", "家具", "木制品"]),
    ("面粉加工", &["小麦粉"], &["面粉", "粮油"]),
    ("饲料生产", &["饲料"], &["饲料", "农牧"]),
    ("塑料制品", &["树脂粉"], &["塑业", "塑胶"]),
    ("橡胶制品", &["橡胶粉"], &["橡胶", "橡塑"]),
    ("纺织", &["棉花"], &["纺织", "纺织品"]),
    ("静电喷涂", &["静电粉末涂料"], &["喷涂", "涂装"]),
    ("淀粉加工", &["玉米淀粉"], &["淀粉", "食品"]),
    ("糖制品", &["糖粉"], &["食品"]),
    ("机械制造", &[], &["机械", "机电", "装备"]),
    ("电子元件", &[], &["电子", "电气"]),
    ("服装加工", &[], &["服饰", "制衣"]),
];

const TRADE_NAMES: &[&str] = &[
    "金坛新城",
    "华罗庚",
    "茅山",
    "长荡湖",
    "东方",
    "鑫达",
    "恒信",
    "宏远",
    "瑞丰",
    "永盛",
    "金鼎",
    "汇通",
    "天和",
    "盛鑫",
    "华宇",
    "润泽",
    "协和",
    "新城",
    "佳诚",
    "国泰",
    "信达",
    "正大",
    "金诚",
    "中恒",
    "嘉禾",
    "顺发",
    "利民",
    "兴旺",
    "博远",
    "天成",
    "明辉",
    "海德",
    "振华",
    "德胜",
    "宝丰",
];

const ROADS: &[&str] = &[
    "金坛大道",
    "华城路",
    "东门大街",
    "南环一路",
    "晨风路",
    "丹金路",
    "愚池路",
    "金湖路",
    "工业园路",
    "创业路",
];

const ORG_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn village_short(name: &str) -> &str {
    for suffix in ["村委会", "居委会", "社区居委会", "村民委员会", "居民委员会"]
    {
        if let Some(s) = name.strip_suffix(suffix) {
            return s;
        }
    }
    name
}

/// Generates `count` enterprises over the villages in `divisions`.
/// About one in eight is a tenant of an earlier enterprise in the same village.
pub fn generate(divisions: &[Division], count: usize, seed: u64) -> Vec<DemoEnterprise> {
    let villages: Vec<&Division> = divisions
        .iter()
        .filter(|d| d.level == DivisionLevel::Village)
        .collect();
    let town_name = |v: &Division| -> String {
        let parent = v.parent_code.as_ref();
        divisions
            .iter()
            .find(|d| Some(&d.code) == parent)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    };
    if villages.is_empty() {
        return Vec::new();
    }
    let mut rng = Rng::new(seed);
    let mut used_uscc = HashSet::new();
    let mut used_names = HashSet::new();
    let mut out: Vec<DemoEnterprise> = Vec::with_capacity(count);
    let mut by_village: std::collections::HashMap<String, Vec<usize>> = Default::default();
    while out.len() < count {
        let v = *rng.pick(&villages);
        let (industry, dusts, words) = *rng.pick(INDUSTRIES);
        let vshort = village_short(&v.name);
        let trade = if rng.below(3) == 0 {
            vshort.to_string()
        } else {
            rng.pick(TRADE_NAMES).to_string()
        };
        let word = rng.pick(words);
        let mut name = format!("常州市{trade}{word}有限公司");
        // Names repeat once the word lists run out: number them as real registers do.
        let mut serial = 1;
        while !used_names.insert(name.clone()) {
            serial += 1;
            name = format!("常州市{trade}{word}{serial}有限公司");
        }
        let mut first17 = String::from("91320413MA");
        for _ in 0..7 {
            first17.push(ORG_ALPHABET[rng.below(ORG_ALPHABET.len())] as char);
        }
        let Ok(uscc) = Uscc::with_check_char(&first17) else {
            continue;
        };
        if !used_uscc.insert(uscc.as_str().to_string()) {
            continue;
        }
        let town = town_name(v);
        let address = format!(
            "常州市金坛区{town}{vshort}{}{}号",
            rng.pick(ROADS),
            rng.below(300) + 1
        );
        let lat = 31.74 + (rng.unit() - 0.5) * 0.3;
        let lon = 119.56 + (rng.unit() - 0.5) * 0.3;
        let mut e = DemoEnterprise {
            name,
            uscc: uscc.as_str().to_string(),
            village_code: v.code.as_str().to_string(),
            address,
            lat: (lat * 1e6).round() / 1e6,
            lon: (lon * 1e6).round() / 1e6,
            industry: industry.to_string(),
            dust_types: dusts.iter().map(|s| s.to_string()).collect(),
            workers_per_shift: 3 + rng.below(58) as u32,
            landlord_uscc: None,
            lease_floors: None,
            lease_equipment: None,
            lease_safety_agreement: None,
        };
        let key = v.code.as_str().to_string();
        let peers = by_village.entry(key).or_default();
        if !peers.is_empty() && rng.below(8) == 0 {
            let landlord_ix = peers[rng.below(peers.len())];
            if out[landlord_ix].landlord_uscc.is_none() {
                let floor = 1 + rng.below(4);
                e.landlord_uscc = Some(out[landlord_ix].uscc.clone());
                e.address = out[landlord_ix].address.clone();
                e.lat = out[landlord_ix].lat;
                e.lon = out[landlord_ix].lon;
                e.lease_floors = Some(if rng.below(2) == 0 {
                    format!("{floor}")
                } else {
                    format!("{floor}-{}", floor + 1)
                });
                e.lease_equipment = Some(rng.below(4) == 0);
                e.lease_safety_agreement = Some(rng.below(3) != 0);
            }
        }
        peers.push(out.len());
        out.push(e);
    }
    out
}

/// Writes the register in the `enterprises import` CSV format.
pub fn write_csv<W: Write>(rows: &[DemoEnterprise], w: W) -> Result<(), csv::Error> {
    let mut wr = csv::Writer::from_writer(w);
    wr.write_record([
        "name",
        "uscc",
        "village_code",
        "address",
        "lat",
        "lon",
        "industry",
        "dust_types",
        "workers_per_shift",
        "landlord_uscc",
        "lease_floors",
        "lease_equipment",
        "lease_safety_agreement",
    ])?;
    let b = |v: Option<bool>| {
        v.map(|b| if b { "是" } else { "否" }.to_string())
            .unwrap_or_default()
    };
    for r in rows {
        wr.write_record([
            r.name.clone(),
            r.uscc.clone(),
            r.village_code.clone(),
            r.address.clone(),
            format!("{:.6}", r.lat),
            format!("{:.6}", r.lon),
            r.industry.clone(),
            r.dust_types.join(";"),
            r.workers_per_shift.to_string(),
            r.landlord_uscc.clone().unwrap_or_default(),
            r.lease_floors.clone().unwrap_or_default(),
            b(r.lease_equipment),
            b(r.lease_safety_agreement),
        ])?;
    }
    wr.flush()?;
    Ok(())
}

/// Parses a divisions CSV (`code,name,level,parent_code`) into divisions, skipping bad rows.
pub fn parse_divisions_csv(text: &str) -> Vec<Division> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let code = gridwalk_core::DivisionCode::parse(r.get(0)?).ok()?;
            let level = DivisionLevel::parse(r.get(2)?).ok()?;
            let parent_code = r
                .get(3)
                .and_then(|p| gridwalk_core::DivisionCode::parse(p).ok());
            Some(Division {
                code,
                name: r.get(1)?.to_string(),
                level,
                parent_code,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn divisions() -> Vec<Division> {
        parse_divisions_csv(
            "code,name,level,parent_code\n320413000000,金坛区,district,320400000000\n\
             320413100000,金城镇,town,320413000000\n320413100201,南瑶村委会,village,320413100000\n\
             320413100202,河滨居委会,village,320413100000\n",
        )
    }

    #[test]
    fn the_generator_is_splitmix64_and_stays_in_its_ranges() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(42);
        assert!(a.iter().all(|&x| x == r.next_u64()));
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&r.unit()));
            assert!((3..9).contains(&r.range(3, 9)));
        }
        assert_eq!(r.range(5, 5), 5);
    }

    #[test]
    fn the_same_seed_gives_the_same_register() {
        assert_eq!(
            generate(&divisions(), 200, 7),
            generate(&divisions(), 200, 7)
        );
        assert_ne!(
            generate(&divisions(), 200, 7),
            generate(&divisions(), 200, 8)
        );
    }

    #[test]
    fn every_demo_uscc_is_valid_and_unique_and_some_are_tenants() {
        let rows = generate(&divisions(), 2000, 1);
        let mut seen = HashSet::new();
        for r in &rows {
            assert!(Uscc::parse(&r.uscc).is_ok(), "{}", r.uscc);
            assert!(seen.insert(&r.uscc));
        }
        assert!(rows.iter().filter(|r| r.landlord_uscc.is_some()).count() > 50);
        assert!(rows.iter().any(|r| r.name.contains("金坛新城")));
    }
}

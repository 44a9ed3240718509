//! Combustible dust types from 《工贸行业重点可燃性粉尘目录（2015版）》 and the
//! applicability flags they (and the site's process) set.
//!
//! The flags are the ones `regulations.md` uses in its `applies_to` columns; checklist
//! items are shown only when their flags hold for the enterprise.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The seven headings of the 2015 directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DustCategory {
    /// 一、金属制品加工
    Metal,
    /// 二、农副产品加工
    AgriFood,
    /// 三、木制品/纸制品加工
    WoodPaper,
    /// 四、纺织品加工
    Textile,
    /// 五、橡胶和塑料制品加工
    RubberPlastic,
    /// 六、冶金/有色/建材（煤粉制备）
    Coal,
    /// 七、其他
    Other,
}

impl DustCategory {
    /// The directory heading in Chinese.
    pub fn name_zh(self) -> &'static str {
        match self {
            DustCategory::Metal => "金属制品加工",
            DustCategory::AgriFood => "农副产品加工",
            DustCategory::WoodPaper => "木制品/纸制品加工",
            DustCategory::Textile => "纺织品加工",
            DustCategory::RubberPlastic => "橡胶和塑料制品加工",
            DustCategory::Coal => "冶金/有色/建材（煤粉制备）",
            DustCategory::Other => "其他",
        }
    }
}

/// Applicability flags over enterprise facts (`regulations.md` §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DustFlag {
    /// Every 粉尘涉爆 enterprise.
    AllDust,
    /// 铝镁等金属粉尘.
    AlMg,
    /// 遇湿自燃金属粉尘 (Al, Mg, Zn, Ca-Al).
    WetReactiveMetal,
    /// 木质粉尘.
    Wood,
    /// Woodworking with sanding machines (木制品加工+砂光机).
    WoodworkSanding,
    /// 粉碎/研磨/造粒 on site.
    MechIgnitionProcess,
    /// A dry dust-collection system (干式除尘).
    DryCollector,
    /// Dust conveyed by positive-pressure blowing (正压吹送).
    PosPressure,
    /// One collection system serves several buildings or fire compartments.
    MultiBuilding,
    /// The site is rented (厂中厂).
    Leased,
}

impl DustFlag {
    /// Every flag, in declaration order.
    pub const ALL: [DustFlag; 10] = [
        DustFlag::AllDust,
        DustFlag::AlMg,
        DustFlag::WetReactiveMetal,
        DustFlag::Wood,
        DustFlag::WoodworkSanding,
        DustFlag::MechIgnitionProcess,
        DustFlag::DryCollector,
        DustFlag::PosPressure,
        DustFlag::MultiBuilding,
        DustFlag::Leased,
    ];

    /// The flag's name as written in templates (`AL_MG`, `DRY_COLLECTOR`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DustFlag::AllDust => "ALL_DUST",
            DustFlag::AlMg => "AL_MG",
            DustFlag::WetReactiveMetal => "WET_REACTIVE_METAL",
            DustFlag::Wood => "WOOD",
            DustFlag::WoodworkSanding => "WOODWORK_SANDING",
            DustFlag::MechIgnitionProcess => "MECH_IGNITION_PROCESS",
            DustFlag::DryCollector => "DRY_COLLECTOR",
            DustFlag::PosPressure => "POS_PRESSURE",
            DustFlag::MultiBuilding => "MULTI_BUILDING",
            DustFlag::Leased => "LEASED",
        }
    }

    /// Parses a flag name; `None` if unknown.
    pub fn parse(s: &str) -> Option<DustFlag> {
        DustFlag::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One entry of the 2015 directory.
#[derive(Debug, PartialEq, Eq)]
pub struct ListedDust {
    /// Stable ASCII code used in data files and the database.
    pub code: &'static str,
    /// Name as in the directory.
    pub name_zh: &'static str,
    pub category: DustCategory,
    /// Flags the dust type sets by itself (process flags come from the site).
    pub flags: &'static [DustFlag],
}

use DustCategory as C;
use DustFlag as F;

const METAL_REACTIVE: &[DustFlag] = &[F::AlMg, F::WetReactiveMetal];

/// The dust items of the 2015 directory (grouping per `regulations.md` §5.1).
pub const DIRECTORY_2015: &[ListedDust] = &[
    ListedDust {
        code: "mg",
        name_zh: "镁粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "al",
        name_zh: "铝粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "al_fe",
        name_zh: "铝铁合金粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "ca_al",
        name_zh: "钙铝合金粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "cu_si",
        name_zh: "铜硅合金粉",
        category: C::Metal,
        flags: &[],
    },
    ListedDust {
        code: "si",
        name_zh: "硅粉",
        category: C::Metal,
        flags: &[],
    },
    ListedDust {
        code: "zn",
        name_zh: "锌粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "ti",
        name_zh: "钛粉",
        category: C::Metal,
        flags: &[F::AlMg],
    },
    ListedDust {
        code: "mg_alloy",
        name_zh: "镁合金粉",
        category: C::Metal,
        flags: METAL_REACTIVE,
    },
    ListedDust {
        code: "fe_si",
        name_zh: "硅铁合金粉",
        category: C::Metal,
        flags: &[],
    },
    ListedDust {
        code: "corn_starch",
        name_zh: "玉米淀粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "rice_starch",
        name_zh: "大米淀粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "wheat_starch",
        name_zh: "小麦淀粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "fructose",
        name_zh: "果糖粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "pectinase",
        name_zh: "果胶酶粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "potato_starch",
        name_zh: "土豆淀粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "wheat_flour",
        name_zh: "小麦粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "soy_flour",
        name_zh: "大豆粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "rice_flour",
        name_zh: "大米粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "milk_powder",
        name_zh: "奶粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "lactose",
        name_zh: "乳糖粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "feed",
        name_zh: "饲料",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "fishbone",
        name_zh: "鱼骨粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "blood",
        name_zh: "血粉",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "tobacco",
        name_zh: "烟叶粉尘",
        category: C::AgriFood,
        flags: &[],
    },
    ListedDust {
        code: "wood",
        name_zh: "木粉",
        category: C::WoodPaper,
        flags: &[F::Wood],
    },
    ListedDust {
        code: "pulp",
        name_zh: "纸浆粉",
        category: C::WoodPaper,
        flags: &[],
    },
    ListedDust {
        code: "polyester",
        name_zh: "聚酯纤维",
        category: C::Textile,
        flags: &[],
    },
    ListedDust {
        code: "methyl_cellulose",
        name_zh: "甲基纤维",
        category: C::Textile,
        flags: &[],
    },
    ListedDust {
        code: "flax",
        name_zh: "亚麻",
        category: C::Textile,
        flags: &[],
    },
    ListedDust {
        code: "cotton",
        name_zh: "棉花",
        category: C::Textile,
        flags: &[],
    },
    ListedDust {
        code: "resin",
        name_zh: "树脂粉",
        category: C::RubberPlastic,
        flags: &[],
    },
    ListedDust {
        code: "rubber",
        name_zh: "橡胶粉",
        category: C::RubberPlastic,
        flags: &[],
    },
    ListedDust {
        code: "lignite",
        name_zh: "褐煤粉尘",
        category: C::Coal,
        flags: &[],
    },
    ListedDust {
        code: "lignite_anthracite",
        name_zh: "褐煤/无烟煤(80:20)粉尘",
        category: C::Coal,
        flags: &[],
    },
    ListedDust {
        code: "sulfur",
        name_zh: "硫磺",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "peroxide",
        name_zh: "过氧化物",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "dye",
        name_zh: "染料",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "powder_coating",
        name_zh: "静电粉末涂料",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "toner",
        name_zh: "调色剂",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "naphthalene",
        name_zh: "萘",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "lead_stearate",
        name_zh: "硬脂酸铅",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "calcium_stearate",
        name_zh: "硬脂酸钙",
        category: C::Other,
        flags: &[],
    },
    ListedDust {
        code: "emulsifier",
        name_zh: "乳化剂",
        category: C::Other,
        flags: &[],
    },
];

/// Prefix of a dust type outside the directory; an expert must confirm it.
pub const OTHER_PREFIX: &str = "其他:";

/// A dust type: an item of the 2015 directory, or free text an expert must confirm.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum DustType {
    /// An item of the directory, by its code.
    Listed(&'static str),
    /// 其他（需专家确认）: e.g. 糖粉, 煤粉.
    Other(String),
}

/// A dust type string that is empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("empty dust type")]
pub struct EmptyDustType;

impl DustType {
    /// Parses a Chinese directory name (`铝粉`), a directory code (`al`), or anything else
    /// as `Other` (`其他:糖粉` and a bare `糖粉` both give `Other("糖粉")`).
    pub fn parse(s: &str) -> Result<DustType, EmptyDustType> {
        let s = s.trim();
        if s.is_empty() {
            return Err(EmptyDustType);
        }
        if let Some(d) = DIRECTORY_2015
            .iter()
            .find(|d| d.name_zh == s || d.code == s)
        {
            return Ok(DustType::Listed(d.code));
        }
        let rest = s
            .strip_prefix(OTHER_PREFIX)
            .or_else(|| s.strip_prefix("其他："))
            .unwrap_or(s)
            .trim();
        if rest.is_empty() {
            return Err(EmptyDustType);
        }
        Ok(DustType::Other(rest.to_string()))
    }

    /// The directory entry, for listed types.
    pub fn listed(&self) -> Option<&'static ListedDust> {
        match self {
            DustType::Listed(code) => DIRECTORY_2015.iter().find(|d| d.code == *code),
            DustType::Other(_) => None,
        }
    }

    /// Chinese display name (`铝粉`, or `其他:糖粉`).
    pub fn name_zh(&self) -> String {
        match self.listed() {
            Some(d) => d.name_zh.to_string(),
            None => match self {
                DustType::Other(t) => format!("{OTHER_PREFIX}{t}"),
                DustType::Listed(c) => (*c).to_string(),
            },
        }
    }

    /// Category in the directory (`Other` for free text).
    pub fn category(&self) -> DustCategory {
        self.listed()
            .map(|d| d.category)
            .unwrap_or(DustCategory::Other)
    }

    /// True when the type is free text an expert still has to confirm.
    pub fn needs_expert_confirmation(&self) -> bool {
        self.listed().is_none()
    }
}

impl fmt::Display for DustType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name_zh())
    }
}

impl TryFrom<String> for DustType {
    type Error = EmptyDustType;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DustType::parse(&value)
    }
}

impl<'de> Deserialize<'de> for DustType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        DustType::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl From<DustType> for String {
    fn from(value: DustType) -> Self {
        value.name_zh()
    }
}

/// Flags implied by a set of dust types alone (`ALL_DUST` when there is any).
pub fn flags_from_dust_types<'a>(
    types: impl IntoIterator<Item = &'a DustType>,
) -> BTreeSet<DustFlag> {
    let mut flags = BTreeSet::new();
    for t in types {
        flags.insert(DustFlag::AllDust);
        if let Some(d) = t.listed() {
            flags.extend(d.flags.iter().copied());
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_codes_and_names_are_unique() {
        let mut codes = BTreeSet::new();
        let mut names = BTreeSet::new();
        for d in DIRECTORY_2015 {
            assert!(codes.insert(d.code), "duplicate code {}", d.code);
            assert!(names.insert(d.name_zh), "duplicate name {}", d.name_zh);
        }
    }

    #[test]
    fn aluminium_sets_al_mg_and_wet_reactive() {
        let al = DustType::parse("铝粉").expect("listed");
        let flags = flags_from_dust_types([&al]);
        assert!(flags.contains(&DustFlag::AlMg));
        assert!(flags.contains(&DustFlag::WetReactiveMetal));
        assert!(flags.contains(&DustFlag::AllDust));
        assert!(!flags.contains(&DustFlag::Wood));
    }

    #[test]
    fn unknown_dust_is_kept_for_an_expert() {
        let sugar = DustType::parse("糖粉").expect("other");
        assert_eq!(sugar, DustType::Other("糖粉".into()));
        assert!(sugar.needs_expert_confirmation());
        assert_eq!(DustType::parse("其他:糖粉"), Ok(sugar.clone()));
        assert_eq!(sugar.name_zh(), "其他:糖粉");
        assert!(DustType::parse("  ").is_err());
    }

    #[test]
    fn flags_round_trip_through_their_names() {
        for f in DustFlag::ALL {
            assert_eq!(DustFlag::parse(f.as_str()), Some(f));
        }
        assert_eq!(DustFlag::parse("NOT_A_FLAG"), None);
    }
}

//! Enterprise facts: what applicability conditions are evaluated against.
//!
//! Facts come from three places: the register (dust types, Al/Mg, whether the
//! enterprise is a tenant), the expert's dust-type verification (collectors, fan
//! position, processes, storeys…) and lease records (equipment leased with the space).

use gridwalk_core::dust::{flags_from_dust_types, DustFlag, DustType};
use gridwalk_core::Enterprise;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A yes/no fact a condition can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoolFact {
    /// One of the applicability flags of `regulations.md` §0.
    Flag(DustFlag),
    /// 金属冶炼企业 (for MH-G-03).
    MetalSmelting,
    /// Production equipment is leased together with the space (燊荣 "1·20").
    EquipmentLeased,
    /// The dust site's building is frame-structured (框架结构).
    FrameStructure,
}

/// A numeric fact a condition can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NumFact {
    /// 每班作业人数 (涉粉).
    WorkersPerShift,
    /// Storeys of the building that houses the dust site.
    Storeys,
}

/// Any fact name: what conditions read and what `sets_fact` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactName {
    Bool(BoolFact),
    Num(NumFact),
    /// The dust types (only as a `sets_fact` target; sets ALL_DUST/AL_MG/WOOD… itself).
    DustType,
}

impl BoolFact {
    /// Name as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            BoolFact::Flag(f) => f.as_str(),
            BoolFact::MetalSmelting => "METAL_SMELTING",
            BoolFact::EquipmentLeased => "EQUIPMENT_LEASED",
            BoolFact::FrameStructure => "FRAME_STRUCTURE",
        }
    }
}

impl NumFact {
    /// Name as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            NumFact::WorkersPerShift => "WORKERS_PER_SHIFT",
            NumFact::Storeys => "STOREYS",
        }
    }
}

impl FactName {
    /// Every fact name a template may use, for error messages and docs.
    pub fn all() -> Vec<FactName> {
        let mut v: Vec<FactName> = DustFlag::ALL
            .into_iter()
            .map(|f| FactName::Bool(BoolFact::Flag(f)))
            .collect();
        v.extend([
            FactName::Bool(BoolFact::MetalSmelting),
            FactName::Bool(BoolFact::EquipmentLeased),
            FactName::Bool(BoolFact::FrameStructure),
            FactName::Num(NumFact::WorkersPerShift),
            FactName::Num(NumFact::Storeys),
            FactName::DustType,
        ]);
        v
    }

    /// Name as written in templates.
    pub fn as_str(self) -> &'static str {
        match self {
            FactName::Bool(b) => b.as_str(),
            FactName::Num(n) => n.as_str(),
            FactName::DustType => "DUST_TYPE",
        }
    }

    /// Parses an exact (upper-case) fact name.
    pub fn parse(s: &str) -> Option<FactName> {
        FactName::all().into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for FactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FactName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FactName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        FactName::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown fact `{s}`")))
    }
}

/// What the expert's verification (or the register) knows about the site's process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcessFacts {
    /// Process flags: DRY_COLLECTOR, POS_PRESSURE, MULTI_BUILDING, WOODWORK_SANDING,
    /// MECH_IGNITION_PROCESS (dust-type flags are taken from the enterprise).
    pub flags: BTreeSet<DustFlag>,
    pub storeys: Option<u32>,
    pub frame_structure: Option<bool>,
    pub metal_smelting: bool,
    pub equipment_leased: bool,
}

/// The facts about one enterprise that conditions are evaluated against.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnterpriseFacts {
    pub flags: BTreeSet<DustFlag>,
    pub workers_per_shift: Option<u32>,
    pub storeys: Option<u32>,
    /// `None` when unknown; conditions read unknown as false.
    pub frame_structure: Option<bool>,
    pub metal_smelting: bool,
    pub equipment_leased: bool,
}

impl EnterpriseFacts {
    /// Facts with just these flags (handy in tests and for quick previews).
    pub fn with_flags(flags: impl IntoIterator<Item = DustFlag>) -> Self {
        EnterpriseFacts {
            flags: flags.into_iter().collect(),
            ..EnterpriseFacts::default()
        }
    }

    /// Combines the register (dust types, Al/Mg, tenancy) with the process facts.
    pub fn from_enterprise(e: &Enterprise, is_tenant: bool, process: &ProcessFacts) -> Self {
        let mut flags = e.register_flags(is_tenant);
        flags.extend(process.flags.iter().copied());
        EnterpriseFacts {
            flags,
            workers_per_shift: e.workers_per_shift,
            storeys: process.storeys,
            frame_structure: process.frame_structure,
            metal_smelting: process.metal_smelting,
            equipment_leased: process.equipment_leased,
        }
    }

    /// The value of a yes/no fact (unknown reads as false).
    pub fn bool_fact(&self, f: BoolFact) -> bool {
        match f {
            BoolFact::Flag(flag) => self.flags.contains(&flag),
            BoolFact::MetalSmelting => self.metal_smelting,
            BoolFact::EquipmentLeased => self.equipment_leased,
            BoolFact::FrameStructure => self.frame_structure.unwrap_or(false),
        }
    }

    /// The value of a numeric fact, if known.
    pub fn num_fact(&self, f: NumFact) -> Option<u32> {
        match f {
            NumFact::WorkersPerShift => self.workers_per_shift,
            NumFact::Storeys => self.storeys,
        }
    }

    /// Sets a yes/no fact.
    pub fn set_bool(&mut self, f: BoolFact, value: bool) {
        match f {
            BoolFact::Flag(flag) => {
                if value {
                    self.flags.insert(flag);
                } else {
                    self.flags.remove(&flag);
                }
            }
            BoolFact::MetalSmelting => self.metal_smelting = value,
            BoolFact::EquipmentLeased => self.equipment_leased = value,
            BoolFact::FrameStructure => self.frame_structure = Some(value),
        }
    }

    /// Adds the flags a set of dust types implies (ALL_DUST, AL_MG, WOOD…).
    pub fn add_dust_types<'a>(&mut self, types: impl IntoIterator<Item = &'a DustType>) {
        self.flags.extend(flags_from_dust_types(types));
    }
}

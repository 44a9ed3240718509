//! Which items each kind of enterprise sees.

use gridwalk_checklist::{applicable_items, builtin_template, EnterpriseFacts, Template};
use gridwalk_core::DustFlag::{self, *};

fn major() -> Template {
    builtin_template("expert-major-hazard").expect("shipped")
}

fn ids(t: &Template, facts: &EnterpriseFacts) -> Vec<String> {
    applicable_items(t, facts)
        .into_iter()
        .map(|i| i.id.clone())
        .collect()
}

struct Case {
    name: &'static str,
    flags: &'static [DustFlag],
    storeys: Option<u32>,
    shown: &'static [&'static str],
    hidden: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "an Al/Mg polisher with a dry collector",
        flags: &[AllDust, AlMg, WetReactiveMetal, DryCollector],
        storeys: Some(1),
        shown: &[
            "MH-D-01a", "MH-D-02a", "MH-D-03", "MH-D-04a", "MH-D-06", "MH-D-07", "MH-D-09a",
            "MH-D-09b", "MH-D-10", "R6-12", "R6-13", "R6-15", "R6-16", "R6-20", "MH-G-01a",
        ],
        hidden: &[
            "MH-D-02b", "MH-D-04b", "MH-D-08a", "MH-D-08b", "R6-18", "MH-G-03",
        ],
    },
    Case {
        name: "a sawmill with sanding machines and a bag filter",
        flags: &[AllDust, Wood, WoodworkSanding, DryCollector],
        storeys: Some(1),
        shown: &[
            "MH-D-03", "MH-D-06", "MH-D-08b", "R6-16", "R6-18", "MH-D-10",
        ],
        hidden: &[
            "MH-D-04a", "MH-D-04b", "MH-D-08a", "MH-D-09a", "MH-D-09b", "R6-15", "R6-20",
        ],
    },
    Case {
        name: "a flour mill that grinds, blowing under positive pressure",
        flags: &[AllDust, MechIgnitionProcess, PosPressure],
        storeys: Some(3),
        shown: &[
            "MH-D-08a", "MH-D-04b", "R6-15", "R6-18", "MH-D-05a", "MH-D-07",
        ],
        hidden: &[
            "MH-D-03", "MH-D-04a", "MH-D-06", "MH-D-08b", "MH-D-09a", "R6-12", "R6-16",
        ],
    },
    Case {
        name: "a tenant in a leased multi-storey building sharing a collector",
        flags: &[AllDust, Leased, MultiBuilding, DryCollector],
        storeys: Some(4),
        shown: &[
            "MH-G-01a", "MH-G-01b", "MH-D-01a", "MH-D-01b", "MH-D-02b", "MH-D-03",
        ],
        hidden: &[
            "MH-D-04a", "MH-D-06", "MH-D-08a", "MH-D-08b", "MH-D-09a", "MH-G-03",
        ],
    },
];

#[test]
fn each_kind_of_enterprise_sees_exactly_its_major_hazard_items() {
    let t = major();
    for case in CASES {
        let facts = EnterpriseFacts {
            storeys: case.storeys,
            ..EnterpriseFacts::with_flags(case.flags.iter().copied())
        };
        let shown = ids(&t, &facts);
        for id in case.shown {
            assert!(
                shown.iter().any(|s| s == id),
                "{}: {id} should apply",
                case.name
            );
        }
        for id in case.hidden {
            assert!(
                !shown.iter().any(|s| s == id),
                "{}: {id} should not apply",
                case.name
            );
        }
    }
}

#[test]
fn a_tenant_gets_the_factory_in_factory_spot_checks_and_dust_pre_lease_items() {
    let tenant = EnterpriseFacts::with_flags([AllDust, Leased]);
    let owner = EnterpriseFacts::with_flags([AllDust]);
    let spot = builtin_template("supervision-spot-check").expect("shipped");
    for id in ["MH-G-01a", "SC-08", "SC-09"] {
        assert!(ids(&spot, &tenant).iter().any(|s| s == id), "{id}");
        assert!(!ids(&spot, &owner).iter().any(|s| s == id), "{id}");
    }
    let pre = builtin_template("pre-lease-check").expect("shipped");
    let shown = ids(&pre, &tenant);
    assert!(shown.iter().any(|s| s == "FZ-P-07"));
    assert!(!shown.iter().any(|s| s == "FZ-P-14"), "no equipment leased");
    let with_equipment = EnterpriseFacts {
        equipment_leased: true,
        ..tenant.clone()
    };
    assert!(ids(&pre, &with_equipment).iter().any(|s| s == "FZ-P-14"));
}

#[test]
fn warning_education_is_asked_of_al_mg_or_ten_plus_workers_per_shift() {
    let survey = builtin_template("grid-survey").expect("shipped");
    let asked = |facts: EnterpriseFacts| ids(&survey, &facts).iter().any(|s| s == "SV-09");
    assert!(asked(EnterpriseFacts::with_flags([AllDust, AlMg])));
    assert!(asked(EnterpriseFacts {
        workers_per_shift: Some(12),
        ..EnterpriseFacts::with_flags([AllDust])
    }));
    assert!(!asked(EnterpriseFacts {
        workers_per_shift: Some(9),
        ..EnterpriseFacts::with_flags([AllDust])
    }));
}

#[test]
fn metal_smelting_alone_brings_in_mh_g_03() {
    let t = major();
    let smelter = EnterpriseFacts {
        metal_smelting: true,
        ..EnterpriseFacts::default()
    };
    assert!(ids(&t, &smelter).iter().any(|s| s == "MH-G-03"));
    assert!(!ids(&t, &EnterpriseFacts::default())
        .iter()
        .any(|s| s == "MH-G-03"));
}

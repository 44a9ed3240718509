//! The register the server imports: Jintan's divisions from the shared test data, a
//! generated demo register (`gridwalk-demo`, deterministic) and a few hand-written
//! enterprises of 儒林镇 that the test drives, the same ones the UI's fake backend and
//! its Chromium run use (with valid USCC check characters).

use crate::Result;
use std::path::{Path, PathBuf};

/// 儒林镇 (Rulin town), the expert's jurisdiction.
pub const TOWN: &str = "320413104000";
/// Its name as the app shows it.
pub const TOWN_NAME: &str = "儒林镇";

/// The aluminium polisher with a dry collector (the major-hazard case).
pub const ALUMINIUM: &str = "常州市金坛鑫诚铝业有限公司";
/// Its USCC.
pub const ALUMINIUM_USCC: &str = "91320413MA1XK7LQ3W";
/// A textile mill that also matches the pinyin initials `jtxc` (金坛新城).
pub const TEXTILE: &str = "常州市金坛新城纺织品有限公司";
/// Its USCC.
pub const TEXTILE_USCC: &str = "91320413MATTFLMPY7";
/// A landlord with a site (3 storeys, frame) and one tenant: the 厂中厂 step.
pub const LANDLORD: &str = "常州市华宇喷涂有限公司";
/// Pinyin initials matching both of them (金坛鑫诚 / 金坛新城).
pub const PINYIN_QUERY: &str = "jtxc";

const HEADER: &str = "name,uscc,village_code,address,lat,lon,industry,dust_types,workers_per_shift,al_mg,key_supervision,safety_officer_name,safety_officer_phone,landlord_uscc,lease_floors,lease_area_m2,lease_equipment,lease_safety_agreement,site_storeys,site_structure";

/// The hand-written rows (`HEADER` columns).
const ROWS: &[&str] = &[
    "常州市金坛鑫诚铝业有限公司,91320413MA1XK7LQ3W,320413104206,常州市金坛区儒林镇后庄村工业园路18号,31.6205,119.4951,铝制品加工,铝粉,24,是,是,王建国,13800000001,,,,,,,",
    "常州市金坛新城纺织品有限公司,91320413MATTFLMPY7,320413104206,常州市金坛区儒林镇后庄村工业园路282号,31.62112,119.494699,纺织,棉花,8,,,,,,,,,,,",
    "常州市华宇喷涂有限公司,91320413MAEGYGDP7M,320413104200,常州市金坛区儒林镇柚山村晨风路35号,,,表面喷涂,树脂粉,12,,,李红,13900000002,,,,,,3,框架",
    "常州市尧塘村塑业有限公司,91320413MA88W0M625,320413104200,常州市金坛区儒林镇柚山村晨风路35号2号楼,,,塑料制品,树脂粉,60,,,,,91320413MAEGYGDP7M,1-2,1200,否,是,3,框架",
    "江苏金坛嘉园木业有限公司,91320413MA20QWER98,320413104212,常州市金坛区儒林镇五叶村木业路6号,,,木制品加工,木粉,15,,,,,,,,,,,",
    "金坛区儒林镇面粉厂,92320413MA1N8H2L5N,320413104204,常州市金坛区儒林镇儒林街77号,,,粮食加工,小麦粉,5,,,,,,,,,,,",
];

/// The divisions file of the shared test data.
pub fn divisions_csv() -> PathBuf {
    crate::paths::testdata().join("divisions/jintan.csv")
}

/// Writes `demo-register.csv` (`count` generated enterprises over all of Jintan) and
/// `fixture-register.csv` (the rows above) into `dir`; returns both paths.
pub fn write(dir: &Path, count: usize) -> Result<(PathBuf, PathBuf)> {
    let divisions = std::fs::read_to_string(divisions_csv())
        .map_err(|e| format!("{}: {e}", divisions_csv().display()))?;
    let divisions = gridwalk_demo::parse_divisions_csv(&divisions);
    let rows = gridwalk_demo::generate(&divisions, count, 2024);
    let demo = dir.join("demo-register.csv");
    gridwalk_demo::write_csv(&rows, std::fs::File::create(&demo)?)?;
    let fixture = dir.join("fixture-register.csv");
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in ROWS {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&fixture, text)?;
    Ok((demo, fixture))
}

//! Search over a real register: substring, pinyin, USCC prefix, ranking.

mod common;

use common::{jintan_store, uscc, write, VILLAGE};
use gridwalk_device::Store;

fn register() -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let csv = format!(
        "name,uscc,village_code,address\n\
         金坛新城精密机械有限公司,{},{VILLAGE},常州市金坛区西城街道华城路8号\n\
         常州市金坛新城铝业有限公司,{},{VILLAGE},常州市金坛区金城镇\n\
         长荡湖木业有限公司,{},{VILLAGE},常州市金坛区儒林镇长荡湖路\n\
         金坛,{},{VILLAGE},\n\
         常州东方塑业有限公司,{},{VILLAGE},常州市金坛区新城大道9号\n",
        uscc("1000001"),
        uscc("1000002"),
        uscc("1000003"),
        uscc("1000004"),
        uscc("2000005"),
    );
    let path = write(dir.path(), "e.csv", &csv);
    let report = store.import_enterprises(&path).expect("import");
    assert_eq!(report.inserted, 5, "{:?}", report.rejected);
    (dir, store)
}

fn names(store: &Store, q: &str) -> Vec<String> {
    store
        .search_enterprises(q, 10)
        .expect("search")
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[test]
fn pinyin_initials_find_jintan_xincheng_with_the_name_prefix_first() {
    let (_d, store) = register();
    let got = names(&store, "jtxc");
    assert_eq!(
        got,
        vec!["金坛新城精密机械有限公司", "常州市金坛新城铝业有限公司"]
    );
}

#[test]
fn full_pinyin_and_upper_case_pinyin_work() {
    let (_d, store) = register();
    assert_eq!(names(&store, "JinTanXinCheng").len(), 2);
    assert_eq!(names(&store, "changdanghu"), vec!["长荡湖木业有限公司"]);
}

#[test]
fn either_reading_of_a_heteronym_finds_the_name() {
    let (_d, store) = register();
    assert!(names(&store, "cdh").contains(&"长荡湖木业有限公司".to_string()));
    assert!(names(&store, "zdh").contains(&"长荡湖木业有限公司".to_string()));
}

#[test]
fn a_chinese_substring_matches_names_before_addresses_and_the_exact_name_first() {
    let (_d, store) = register();
    let got = names(&store, "金坛");
    assert_eq!(got[0], "金坛", "exact name first");
    assert_eq!(got[1], "金坛新城精密机械有限公司", "then name prefix");
    let hits = store.search_enterprises("新城", 10).expect("search");
    let last = hits.last().expect("some");
    assert_eq!(
        (last.name.as_str(), last.matched),
        ("常州东方塑业有限公司", "address")
    );
}

#[test]
fn a_three_character_substring_uses_the_trigram_index_and_finds_addresses_too() {
    let (_d, store) = register();
    assert_eq!(names(&store, "长荡湖路"), vec!["长荡湖木业有限公司"]);
    assert_eq!(names(&store, "华城路"), vec!["金坛新城精密机械有限公司"]);
}

#[test]
fn a_uscc_prefix_finds_codes_that_start_with_it() {
    let (_d, store) = register();
    let prefix = &uscc("2000005")[..12];
    assert_eq!(names(&store, prefix), vec!["常州东方塑业有限公司"]);
    assert_eq!(names(&store, "91320413").len(), 5);
    assert_eq!(
        names(&store, "9132 0413 ma1").len(),
        4,
        "spaces ignored, case folded"
    );
}

#[test]
fn the_limit_is_respected_and_nothing_matches_nonsense() {
    let (_d, store) = register();
    assert_eq!(
        store.search_enterprises("常州", 2).expect("search").len(),
        2
    );
    assert!(names(&store, "不存在的企业").is_empty());
    assert!(store.search_enterprises("   ", 5).is_err());
}

#[test]
fn a_quote_in_the_query_is_searched_for_not_interpreted() {
    let (_d, store) = register();
    assert!(names(&store, "金坛\"新城").is_empty());
}

#[test]
fn short_queries_see_enterprises_imported_after_the_first_search() {
    let (dir, store) = register();
    assert_eq!(names(&store, "铝业"), vec!["常州市金坛新城铝业有限公司"]);
    let csv = write(
        dir.path(),
        "more.csv",
        &format!(
            "name,uscc,village_code\n茅山铝业有限公司,{},{VILLAGE}\n",
            uscc("1000009")
        ),
    );
    store.import_enterprises(&csv).expect("import");
    assert_eq!(
        names(&store, "铝业"),
        vec!["茅山铝业有限公司", "常州市金坛新城铝业有限公司"]
    );
    let other = Store::open(store.path()).expect("second connection");
    let csv = write(
        dir.path(),
        "more2.csv",
        &format!(
            "name,uscc,village_code\n儒林铝业厂,{},{VILLAGE}\n",
            uscc("1000010")
        ),
    );
    other
        .import_enterprises(&csv)
        .expect("import through another connection");
    assert_eq!(
        names(&store, "铝业")[0],
        "儒林铝业厂",
        "shortest name first"
    );
}

#[test]
fn one_and_two_letter_pinyin_rank_initials_before_substrings() {
    let (_d, store) = register();
    let got = names(&store, "cd");
    assert_eq!(got[0], "长荡湖木业有限公司", "initials prefix first");
    assert!(names(&store, "j").len() >= 3);
}

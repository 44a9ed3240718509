//! Every code of the shared USCC corpus validates exactly as its source test says.

use gridwalk_core::Uscc;
use std::path::PathBuf;

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

#[test]
fn every_row_of_the_shared_uscc_file_validates_as_its_source_says() {
    let path = testdata().join("uscc/codes.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut checked = 0;
    let mut valid = 0;
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut cols = line.splitn(3, ',');
        let code = cols.next().unwrap_or_default();
        let expected = cols.next().unwrap_or_default() == "true";
        let got = Uscc::parse(code);
        assert_eq!(got.is_ok(), expected, "row {}: {code}: {got:?}", i + 1);
        checked += 1;
        valid += usize::from(expected);
    }
    assert_eq!((checked, valid), (214, 206));
}

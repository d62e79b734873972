//! Replays every saved input under `regressions/<target>/` (crashes found by fuzzing, kept
//! after the fix, and hand-picked edge cases) through the target's checks.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable regression input");
        println!("{target}: {}", path.display());
        check(&data);
    }
}

#[test]
fn import_csv_regressions() {
    replay("import_csv", autointel_fuzz::import_csv);
}

#[test]
fn import_json_regressions() {
    replay("import_json", autointel_fuzz::import_json);
}

#[test]
fn wire_to_domain_regressions() {
    replay("wire_to_domain", autointel_fuzz::wire_to_domain);
}

#[test]
fn page_token_regressions() {
    replay("page_token", autointel_fuzz::page_token);
}

#[test]
fn domain_parsers_regressions() {
    replay("domain_parsers", autointel_fuzz::domain_parsers);
}

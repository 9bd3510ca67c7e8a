//! The official OPDS and Readium schemas' validator (`../shared/opds/validate`): found there,
//! at `FOLIO_OPDS_VALIDATE`, or in the workplace's `/work/shared` (where CI's clean clone of
//! the repository has no sibling). Under CI a missing validator fails the test.

/// Checks `document` (XML or JSON, by `extension`) with the validator, `--as kind` when
/// given; panics with its report on any violation.
pub fn validate(document: &[u8], extension: &str, kind: Option<&str>, what: &str) {
    let beside = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/opds/validate");
    let candidates = [
        std::env::var_os("FOLIO_OPDS_VALIDATE").map(std::path::PathBuf::from),
        Some(beside),
        Some("/work/shared/opds/validate".into()),
    ];
    let Some(script) = candidates.into_iter().flatten().find(|p| p.exists()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must validate OPDS documents: no ../shared/opds/validate (set FOLIO_OPDS_VALIDATE)"
        );
        eprintln!("skipped validating {what}: no ../shared/opds/validate");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("document.{extension}"));
    std::fs::write(&path, document).unwrap();
    let mut command = std::process::Command::new("python3");
    command.arg(&script);
    if let Some(kind) = kind {
        command.args(["--as", kind]);
    }
    command.arg(&path);
    // The validator installs jing and jsonschema on its first run when they are missing; two
    // first runs at once (the SQLite and PostgreSQL tests) would fight over apt's lock. The
    // first run in this process goes alone; the rest run side by side.
    static FIRST_RUN: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let output = {
        let mut ran = FIRST_RUN.lock().unwrap_or_else(|e| e.into_inner());
        if *ran {
            drop(ran);
            command.output()
        } else {
            let output = command.output();
            *ran = output.is_ok();
            output
        }
    }
    .expect("the validator runs");
    assert!(
        output.status.success(),
        "{what} does not validate:\n{}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(document)
    );
}

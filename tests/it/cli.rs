//! The `folio` binary as a user runs it: `db init|status|drop`, settings errors, `serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(
    db_init_creates_then_reports_nothing_to_do,
    db_status_lists_applied_and_pending_migrations,
    db_drop_refuses_without_yes,
    serve_migrates_serves_logs_request_ids_and_stops_on_sigterm,
);

/// `folio` with a clean environment: only what the test sets, in a scratch directory.
fn folio(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    command.current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("folio runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

async fn db_init_creates_then_reports_nothing_to_do(backend: Backend) {
    let t = TestDb::empty(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (first, out, err) = run(folio(dir.path())
        .args(["db", "init"])
        .env("DATABASE_URL", t.url_string()));
    assert!(first.status.success(), "{out}{err}");
    assert!(out.contains("Created the schema"), "{out}");
    assert!(out.contains("m0001_initial_schema"), "{out}");

    let (second, out, err) = run(folio(dir.path())
        .args(["db", "init"])
        .env("DATABASE_URL", t.url_string()));
    assert!(second.status.success(), "{out}{err}");
    assert!(
        out.contains("up to date") && out.contains("nothing to do"),
        "{out}"
    );
    assert!(
        !out.contains("applied  m0001"),
        "the second run applies nothing: {out}"
    );
}

async fn db_status_lists_applied_and_pending_migrations(backend: Backend) {
    let t = TestDb::empty(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let status = |dir: &std::path::Path| {
        run(folio(dir)
            .args(["db", "status"])
            .env("DATABASE_URL", t.url_string()))
    };
    let (result, out, _) = status(dir.path());
    assert!(result.status.success());
    assert!(out.contains("pending  m0001_initial_schema"), "{out}");
    assert!(out.contains("0 applied, 1 pending"), "{out}");

    folio::db::schema::init(&t.db).await.unwrap();
    let (_, out, _) = status(dir.path());
    assert!(out.contains("applied  m0001_initial_schema"), "{out}");
    assert!(out.contains("1 applied, 0 pending"), "{out}");
}

async fn db_drop_refuses_without_yes(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (refused, _, err) = run(folio(dir.path())
        .args(["db", "drop"])
        .env("DATABASE_URL", t.url_string()));
    assert_eq!(refused.status.code(), Some(2));
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(t.count("seaql_migrations").await, 1, "nothing was dropped");

    let (dropped, out, err) = run(folio(dir.path())
        .args(["db", "drop", "--yes"])
        .env("DATABASE_URL", t.url_string()));
    assert!(dropped.status.success(), "{out}{err}");
    assert!(out.contains("Dropped 19 tables"), "{out}");
    assert!(
        folio::db::schema::existing_tables(&t.db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_settings_exit_2_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("DATABASE_URL", "mysql://localhost/folio"),
        ("FOLIO_BIND", "not-an-address"),
        ("FOLIO_DB_POOL_SIZE", "0"),
        ("FOLIO_LOG_FORMAT", "yaml"),
        ("DB_PORT", "seventy"),
    ];
    for (variable, value) in cases {
        for args in [&["db", "status"][..], &["serve"][..]] {
            let (output, _, err) = run(folio(dir.path())
                .args(args)
                .env(variable, value)
                .env("DB_HOST", "h")
                .env("DB_NAME", "n"));
            assert_eq!(
                output.status.code(),
                Some(2),
                "{variable}={value} {args:?}: {err}"
            );
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
            assert!(err.contains(variable), "{err}");
        }
    }
    assert!(
        !dir.path().join("folio.db").exists(),
        "a bad setting touches no database"
    );
}

#[test]
fn a_dotenv_file_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://from-dotenv.db\n",
    )
    .unwrap();
    let (output, out, err) = run(folio(dir.path()).args(["db", "init"]));
    assert!(output.status.success(), "{err}");
    assert!(out.contains("from-dotenv.db"), "{out}");

    let (_, out, _) = run(folio(dir.path())
        .args(["db", "status"])
        .env("DATABASE_URL", "sqlite+aiosqlite:///./from-env.db"));
    assert!(out.contains("from-env.db"), "{out}");
    assert!(dir.path().join("from-env.db").exists());
}

#[test]
fn passwords_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback refuses at once, so the command fails quickly.
    let (output, out, err) = run(folio(dir.path())
        .args(["db", "status"])
        .env(
            "DATABASE_URL",
            "postgres://folio:hunter2-secret@127.0.0.1:1/folio",
        )
        .env("FOLIO_LOG", "trace"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        err.contains("postgres://folio:***@127.0.0.1:1/folio"),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains("hunter2"), "{out}{err}");
}

#[test]
fn statements_are_logged_at_debug_not_info() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, info) = run(folio(dir.path())
        .args(["db", "init"])
        .env("FOLIO_LOG", "info"));
    assert!(!info.contains("CREATE TABLE"), "info shows no SQL: {info}");
    let dir = tempfile::tempdir().unwrap();
    let (_, _, debug) = run(folio(dir.path())
        .args(["db", "init"])
        .env("FOLIO_LOG", "debug"));
    assert!(debug.contains("CREATE TABLE"), "debug shows the statements");
}

#[test]
fn version_and_help_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (output, out, _) = run(folio(dir.path()).arg("--version"));
    assert!(output.status.success());
    assert_eq!(out.trim(), format!("folio {}", env!("CARGO_PKG_VERSION")));
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["db", "--help"],
        &["db", "init", "--help"],
        &["db", "status", "--help"],
        &["db", "drop", "--help"],
    ] {
        let (output, out, _) = run(folio(dir.path()).args(args));
        assert!(output.status.success(), "{args:?}");
        assert!(out.contains("Usage: folio"), "{args:?}: {out}");
    }
}

/// A `folio serve` process whose JSON log lines arrive on a channel.
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

impl Served {
    fn next_line(&mut self, within: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(within).ok()?;
        let value: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
        self.seen.push(value.clone());
        Some(value)
    }

    fn wait_for(&mut self, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(line) = self.next_line(Duration::from_millis(200))
                && found(&line)
            {
                return line;
            }
        }
        panic!("no log line for {what}; saw {:#?}", self.seen);
    }
}

async fn serve_migrates_serves_logs_request_ids_and_stops_on_sigterm(backend: Backend) {
    let t = TestDb::empty(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = folio(dir.path())
        .arg("serve")
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_BIND", "127.0.0.1:0")
        .env("FOLIO_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut served = Served {
        child,
        lines,
        seen: vec![],
    };

    let serving = served.wait_for("serving", |l| l["address"].is_string());
    let address = serving["address"].as_str().unwrap().to_string();
    assert_eq!(
        t.count("seaql_migrations").await,
        1,
        "serve applied the migrations"
    );

    let client = reqwest::Client::new();
    let ready = client
        .get(format!("http://{address}/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let missing = client
        .get(format!("http://{address}/nowhere"))
        .header("x-request-id", "trace-me-7")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let response_line = served.wait_for("the 404 response", |l| l["status"] == 404);
    assert_eq!(response_line["span"]["request_id"], "trace-me-7");
    assert_eq!(response_line["span"]["path"], "/nowhere");

    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    served.wait_for("shutdown", |l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "folio did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a graceful stop exits 0: {status}");
    while served.next_line(Duration::from_millis(100)).is_some() {}
    for line in &served.seen {
        if line["span"]["name"] == "request" {
            assert!(
                line["span"]["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "every request log line carries its id: {line}"
            );
        }
    }
}

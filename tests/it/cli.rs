//! The `folio` binary as a user runs it: `db init|status|drop`, settings errors, `serve`.

use serde_json::Value;

use crate::backend_tests;
use crate::support::process::{Served, folio, run, run_with_input};
use crate::support::{Backend, TestDb};

backend_tests!(
    db_init_creates_then_reports_nothing_to_do,
    db_status_lists_applied_and_pending_migrations,
    db_drop_refuses_without_yes,
    serve_migrates_serves_logs_request_ids_and_stops_on_sigterm,
    user_create_makes_an_admin_who_can_sign_in,
);

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
    let total = <folio::migration::Migrator as folio::migration::MigratorTrait>::migrations().len();
    assert!(
        out.contains(&format!("0 applied, {total} pending")),
        "{out}"
    );

    folio::db::schema::init(&t.db).await.unwrap();
    let (_, out, _) = status(dir.path());
    assert!(out.contains("applied  m0001_initial_schema"), "{out}");
    assert!(
        out.contains(&format!("{total} applied, 0 pending")),
        "{out}"
    );
}

async fn db_drop_refuses_without_yes(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (refused, _, err) = run(folio(dir.path())
        .args(["db", "drop"])
        .env("DATABASE_URL", t.url_string()));
    assert_eq!(refused.status.code(), Some(2));
    assert!(err.contains("--yes"), "{err}");
    assert!(t.count("seaql_migrations").await > 0, "nothing was dropped");

    let (dropped, out, err) = run(folio(dir.path())
        .args(["db", "drop", "--yes"])
        .env("DATABASE_URL", t.url_string()));
    assert!(dropped.status.success(), "{out}{err}");
    assert!(
        out.contains(&format!(
            "Dropped {} tables",
            folio::migration::TABLES.len()
        )),
        "{out}"
    );
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

async fn serve_migrates_serves_logs_request_ids_and_stops_on_sigterm(backend: Backend) {
    let t = TestDb::empty(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut served, address) = Served::start(dir.path(), &[("DATABASE_URL", t.url_string())]);
    assert_eq!(
        t.count("seaql_migrations").await,
        <folio::migration::Migrator as folio::migration::MigratorTrait>::migrations().len() as i64,
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
    assert_eq!(response_line["span"]["route"], "-", "no route matched");

    // A matched request's lines name its route as declared, whatever the id asked for.
    let book = client
        .get(format!("http://{address}/api/v1/books/424242"))
        .send()
        .await
        .unwrap();
    assert_eq!(book.status(), 404);
    let book_line = served.wait_for("the book's response", |l| {
        l["span"]["path"] == "/api/v1/books/424242" && l["status"].is_number()
    });
    assert_eq!(book_line["span"]["route"], "/api/v1/books/{id}");

    let status = served.stop();
    assert!(status.success(), "a graceful stop exits 0: {status}");
    assert!(
        served.seen.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))),
        "the shutdown is logged"
    );
    for line in &served.seen {
        // Logged inside a request, in its own span or in a service's below it.
        if line["spans"][0]["name"] == "request" {
            assert!(
                line["spans"][0]["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "every request log line carries its id: {line}"
            );
        }
    }
}

async fn user_create_makes_an_admin_who_can_sign_in(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let create = |args: &[&str], password: &str| {
        let (output, out, err) = run_with_input(
            folio(dir.path())
                .args(["user", "create"])
                .args(args)
                .env("DATABASE_URL", t.url_string()),
            &format!("{password}\n"),
        );
        (output.status.code(), out, err)
    };

    let (code, out, err) = create(
        &[
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--admin",
            "--password-stdin",
        ],
        "a long admin passphrase",
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Created admin 'root'"), "{out}");

    let (code, _, err) = create(
        &[
            "--username",
            "ROOT",
            "--email",
            "other@example.org",
            "--password-stdin",
        ],
        "another long passphrase",
    );
    assert_eq!(code, Some(1), "a taken username fails: {err}");
    assert!(err.contains("username"), "{err}");

    let (code, _, err) = create(
        &[
            "--username",
            "weak",
            "--email",
            "weak@example.org",
            "--password-stdin",
        ],
        "password",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("password: must be at least 10 characters"),
        "{err}"
    );

    // Without --password-stdin and no terminal, it refuses rather than read a password
    // from somewhere unexpected.
    let (code, _, err) = create(
        &["--username", "tty", "--email", "tty@example.org"],
        "ignored",
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(t.count("user").await, 1);

    let server = crate::support::TestServer::start(t.settings(), t.db.clone()).await;
    let login = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "root", "password": "a long admin passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me: Value = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}

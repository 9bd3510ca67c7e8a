//! A full disk under SQLite, as a shop's small server meets it: the database lives on a real
//! small filesystem (a tmpfs this test mounts), a filler file takes every free byte while
//! readers keep writing, then the filler goes away. Every write folio acknowledged — before,
//! during and after — is in the file after shutdown; nothing it refused is; writes refused
//! while full answer 507 with `Retry-After`; the first writes after space returns are durable;
//! and another process can take the write lock as soon as folio is idle.
//!
//! Mounting needs root, as CI has. A run as another user says it skipped; under CI it fails.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use folio::config::DatabaseUrl;
use serde_json::{Value, json};

use crate::support::api::{Api, expect};
use crate::support::user::{admin, new_book, user};
use crate::support::{TestDb, process};

/// A tmpfs of `size` mounted on a fresh temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if mounted {
            return Some(Self { dir });
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the disk-full test: mounting a tmpfs failed (is CI root?)"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Takes every free byte with a file of its own; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = File::create(&path).expect("filler file");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        // Whatever part of a chunk fit is kept: the disk is now full to the byte.
        let _ = file.write_all(&chunk[..512]);
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A comment text of about 3 KiB, unique per `n`, so each write grows the WAL by a page or so.
fn text(n: usize) -> String {
    format!("note {n:05}:{}", " words on a page".repeat(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_acknowledged_around_a_full_disk_is_on_disk_after_shutdown() {
    let Some(disk) = SmallDisk::mount("6m") else {
        return;
    };
    let path = disk.path().join("folio.db");
    let t = TestDb::migrated_at(DatabaseUrl::Sqlite { path: path.clone() }).await;
    let api = Api::serve(t).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Written in the margins").await;
    let reader = user(&api, "reader").await;

    let mut acknowledged: Vec<String> = vec![];
    let mut refused: Vec<String> = vec![];
    let mut n = 0;
    // Only the comments written after the episode carry a rating, so the book's rating count
    // shows readers see them.
    let comment = async |n: usize, rating: Option<i32>| {
        let body = json!({"text": text(n), "rating": rating});
        reader
            .send(
                reqwest::Method::POST,
                &format!("/books/{book}/comments"),
                body,
            )
            .await
    };

    // Before: plain writes.
    for _ in 0..5 {
        expect(comment(n, None).await, 201).await;
        acknowledged.push(text(n));
        n += 1;
    }

    // During: the disk fills; writes go on until folio refuses some, and a few more after that.
    let filler = disk.fill();
    let mut refusals = 0;
    while refusals < 5 {
        assert!(
            n < 3_000,
            "3,000 comments on a full 6 MiB disk and none refused"
        );
        let response = comment(n, None).await;
        match response.status().as_u16() {
            201 => acknowledged.push(text(n)),
            507 => {
                refusals += 1;
                refused.push(text(n));
                let retry = response.headers().get("retry-after").cloned();
                assert!(retry.is_some(), "a 507 says when to retry");
                let kind = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                assert_eq!(kind, "application/problem+json");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["type"], "urn:folio:problem:insufficient-storage");
                assert_eq!(body["status"], 507);
            }
            status => panic!(
                "a write on a full disk answered {status}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
        n += 1;
    }

    eprintln!(
        "during: {n} written, {} acknowledged, {} refused",
        acknowledged.len(),
        refused.len()
    );
    // After: space returns, and the very next writes are taken and kept.
    std::fs::remove_file(&filler).expect("the filler goes");
    for _ in 0..5 {
        expect(comment(n, Some(5)).await, 201).await;
        acknowledged.push(text(n));
        n += 1;
    }
    let note = json!({"book_id": book, "locator": "p. 12", "text": "after the disk was freed"});
    let note = reader.post("/me/notes", note).await;
    assert_eq!(reader.get(&format!("/me/notes/{}", note["id"])).await, note);
    let book = reader.get(&format!("/books/{book}")).await;
    assert_eq!(
        book["rating"]["count"], 5,
        "readers see the five rated comments written after the episode"
    );

    // Another process takes the write lock at once: folio holds no transaction open.
    let (output, _, err) = process::run_with_input(
        process::folio(disk.path())
            .args(["user", "create", "--username", "cli"])
            .args(["--email", "cli@example.org", "--password-stdin"])
            .env("DATABASE_URL", format!("sqlite://{}", path.display())),
        "a long enough password here\n",
    );
    assert!(
        output.status.success(),
        "another process writes while folio runs: {err}"
    );
    assert!(api.server.get("/ready").await.status().is_success());

    // Shutdown, then the file alone says what was kept.
    api.server.shutdown().await;
    let Api { t, .. } = api;
    t.db.clone().close().await;
    drop(t);
    let file = rusqlite::Connection::open(&path).expect("the file opens");
    let mut kept: Vec<String> = file
        .prepare("SELECT text FROM comment ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    kept.sort();
    acknowledged.sort();
    assert_eq!(
        kept.len(),
        acknowledged.len(),
        "{} acknowledged, {} in the file",
        acknowledged.len(),
        kept.len()
    );
    assert!(
        kept == acknowledged,
        "the file holds exactly the acknowledged comments"
    );
    for text in &refused {
        assert!(!kept.contains(text), "a refused comment is not in the file");
    }
    let notes: i64 = file
        .query_row("SELECT COUNT(*) FROM note", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        notes, 1,
        "the note written after the episode is in the file"
    );
    let users: i64 = file
        .query_row(
            "SELECT COUNT(*) FROM \"user\" WHERE username = 'cli'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(users, 1, "the other process's write is in the file");
}

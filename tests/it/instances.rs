//! Several `folio serve` processes on one PostgreSQL database behaving as one server: they
//! migrate once when started together, share the failed-sign-in limit, and lose no
//! acknowledged write when one is killed mid-run. And whose `X-Forwarded-For` is believed.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use crate::support::api::{Api, PASSWORD};
use crate::support::process::{Served, register, sign_in};
use crate::support::{Backend, TestDb, fixtures};

/// Starts `count` servers on `t`'s database at the same moment.
fn start_together(t: &TestDb, count: usize) -> Vec<(Served, String)> {
    start_together_with(t, count, &[])
}

/// [`start_together`], with `extra` in each server's environment.
fn start_together_with(
    t: &TestDb,
    count: usize,
    extra: &[(&'static str, String)],
) -> Vec<(Served, String)> {
    let dirs: Vec<_> = (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
    let starts: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let dir = dir.path().to_path_buf();
            let mut envs = extra.to_vec();
            envs.extend([
                ("DATABASE_URL", t.url_string()),
                ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
                (
                    "FOLIO_SECRET_KEY",
                    "a-secret-key-of-32-bytes-or-more!!".to_string(),
                ),
            ]);
            std::thread::spawn(move || Served::start(&dir, &envs))
        })
        .collect();
    let started = starts.into_iter().map(|s| s.join().unwrap()).collect();
    // The folders outlive the processes' start; the servers keep nothing in them.
    drop(dirs);
    started
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_started_at_once_migrate_once_and_all_serve() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::empty(&backend).await;
    let mut servers = start_together(&t, 3);
    let http = Client::new();
    for (_, address) in &servers {
        let ready = http
            .get(format!("http://{address}/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    }
    let applied = folio::db::schema::status(&t.db).await.unwrap();
    assert!(applied.iter().all(|m| m.applied), "every migration applied");
    let migrated: usize = servers
        .iter()
        .map(|(served, _)| {
            served
                .seen
                .iter()
                .filter(|l| l["message"] == "applied pending migrations")
                .filter(|l| l["count"].as_u64().unwrap_or(0) > 0)
                .count()
        })
        .sum();
    assert_eq!(
        migrated, 1,
        "one instance migrated, the others found nothing to do"
    );
    for (served, _) in &mut servers {
        assert!(served.stop().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_failed_sign_in_on_any_instance_is_refused_on_all() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let servers = start_together(&t, 3);
    let http = Client::new();
    // A sign-in as ada with `password` on instance `n % 3`: its status and whether it says
    // when to try again.
    let login = |n: usize, password: &'static str| {
        let (http, address) = (http.clone(), servers[n % 3].1.clone());
        async move {
            let body = json!({"username": "ada", "password": password});
            let answer = http
                .post(format!("http://{address}/api/v1/auth/login"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                answer.status(),
                answer.headers().contains_key("retry-after"),
            )
        }
    };
    register(&http, &servers[0].1, "ada").await;
    let wrong = "not her password at all";
    for n in 0..10 {
        let (status, _) = login(n, wrong).await;
        assert_eq!(status, 401, "failure {} on instance {}", n + 1, n % 3);
    }
    for n in 0..3 {
        let (status, retry_after) = login(n, wrong).await;
        assert_eq!(status, 429, "instance {n} refuses the 11th failure");
        assert!(retry_after);
        let (status, _) = login(n, PASSWORD).await;
        assert_eq!(status, 429, "instance {n} refuses even the right password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_writes_with_an_instance_killed_lose_nothing_acknowledged() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let book = {
        let tx = t.db.begin().await.unwrap();
        let book = fixtures::book(&*tx, "Shared").await.unwrap();
        tx.commit().await.unwrap();
        book.id
    };
    let mut servers = start_together(&t, 3);
    let addresses: Vec<String> = servers.iter().map(|(_, a)| a.clone()).collect();
    let http = Client::new();
    register(&http, &addresses[0], "reader").await;
    let token = sign_in(&http, &addresses[1], "reader").await;

    // Four clients write comments round-robin over the three (at most 150 each); one instance
    // is killed without warning part-way.
    let mut clients = vec![];
    for client in 0..4 {
        let (http, token, addresses) = (http.clone(), token.clone(), addresses.clone());
        clients.push(tokio::spawn(async move {
            let (mut acknowledged, mut failed) = (vec![], 0);
            for n in 0..150usize {
                let address = &addresses[(client + n) % 3];
                let text = format!("client {client}, comment {n}");
                let sent = http
                    .post(format!("http://{address}/api/v1/books/{book}/comments"))
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(10))
                    .json(&json!({"text": text}))
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status() == 201 => {
                        let made: Value = answer.json().await.unwrap();
                        acknowledged.push(made["id"].as_i64().unwrap());
                    }
                    _ => failed += 1,
                }
            }
            (acknowledged, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    servers[2].0.child.kill().unwrap();
    servers[2].0.child.wait().unwrap();
    let mut acknowledged = vec![];
    let mut failed = 0;
    for client in clients {
        let (ids, lost) = client.await.unwrap();
        acknowledged.extend(ids);
        failed += lost;
    }
    assert!(failed > 0, "requests to the killed instance failed");
    assert!(
        acknowledged.len() > 300,
        "{} acknowledged",
        acknowledged.len()
    );

    let present: HashSet<i64> = {
        let rows = folio::db::Read::from(t.db.reader())
            .rows("SELECT id FROM comment", &[], |r| r.get::<i64>(0))
            .await
            .unwrap();
        rows.into_iter().collect()
    };
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !present.contains(id))
        .collect();
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    println!(
        "writes acknowledged {}, present {}, failed requests {failed}",
        acknowledged.len(),
        present.len()
    );
    for (served, _) in servers.iter_mut().take(2) {
        assert!(served.stop().success());
    }
}

/// Behind a trusted proxy the limits count the address it saw; nobody else can choose the
/// address they are counted under by sending the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_trusted_proxy_says_who_the_client_is() {
    let wrong = json!({"username": "nobody", "password": "not a password at all"});
    let attempt = |api: &Api, forwarded: &'static str| {
        let request = api
            .server
            .client
            .post(api.server.url("/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&wrong);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let limits = [("FOLIO_AUTH_ATTEMPTS_PER_MINUTE", "3")];

    // Behind a proxy on 127.0.0.1: each client address has its own three attempts.
    let vars = [limits[0], ("FOLIO_TRUSTED_PROXIES", "127.0.0.1/32, ::1")];
    let proxied = Api::start_with(&Backend::Sqlite, &vars).await;
    for _ in 0..3 {
        assert_eq!(attempt(&proxied, "203.0.113.1").await, 401);
    }
    assert_eq!(attempt(&proxied, "203.0.113.1").await, 429);
    assert_eq!(
        attempt(&proxied, "198.51.100.7").await,
        401,
        "another client"
    );
    // A client's own entry before the proxy's is not believed.
    assert_eq!(attempt(&proxied, "198.51.100.99, 203.0.113.1").await, 429);

    // Trusting nobody (the default), the header changes nothing.
    let direct = Api::start_with(&Backend::Sqlite, &limits).await;
    for forwarded in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        assert_eq!(attempt(&direct, forwarded).await, 401);
    }
    let refused = attempt(&direct, "203.0.113.4").await;
    assert_eq!(refused, 429, "a spoofed header does not buy attempts");
}

/// Scheduled backups and storage gc, every 2 s on three instances: each turn is taken by one
/// instance (turns at least 1.8 s apart, one backup file per turn), and the objects no row
/// names, left before and while they run, are removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_and_storage_gc_take_one_instance_a_turn() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let storage = folio::storage::Storage::open(&t.settings().storage).unwrap();
    let stray =
        |text: &'static str| storage.store_bytes(bytes::Bytes::from_static(text.as_bytes()));
    let storage = &storage;
    let gone = |hash| async move {
        for _ in 0..100 {
            if storage.stat(&hash).await.unwrap().is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let before = stray("an upload a crash left before the servers started")
        .await
        .unwrap();
    let backups = tempfile::tempdir().unwrap();
    let mut servers = start_together_with(
        &t,
        3,
        &[
            ("FOLIO_BACKUP_DIR", backups.path().display().to_string()),
            ("FOLIO_BACKUP_EVERY", "2s".into()),
            ("FOLIO_BACKUP_KEEP", "100".into()),
            ("FOLIO_STORAGE_GC_EVERY", "2s".into()),
            ("FOLIO_STORAGE_GC_MIN_AGE", "1s".into()),
        ],
    );
    assert!(
        gone(before).await,
        "the stray object left before is removed"
    );
    let during = stray("an upload a crash left while they ran")
        .await
        .unwrap();
    assert!(
        gone(during).await,
        "the stray object left while they ran is removed"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (served, _) in &mut servers {
        assert!(served.stop().success());
    }
    let lines: Vec<&Value> = servers.iter().flat_map(|(s, _)| &s.seen).collect();
    let turns = |job: &str| {
        let mut at: Vec<chrono::DateTime<chrono::Utc>> = lines
            .iter()
            .filter(|l| l["message"] == "took this turn of a scheduled job" && l["job"] == job)
            .map(|l| l["timestamp"].as_str().unwrap().parse().unwrap())
            .collect();
        at.sort();
        at
    };
    for job in ["backup", "storage_gc"] {
        let at = turns(job);
        assert!(at.len() >= 3, "{job}: turns were taken: {at:?}");
        for pair in at.windows(2) {
            let apart = (pair[1] - pair[0]).num_milliseconds();
            assert!(apart >= 1_700, "{job}: two turns {apart} ms apart: {at:?}");
        }
        let skipped = lines
            .iter()
            .filter(|l| l["message"] == "another instance took this turn" && l["job"] == job)
            .count();
        assert!(
            skipped > 0,
            "{job}: the other instances found their turns taken"
        );
    }
    let made = lines
        .iter()
        .filter(|l| l["message"] == "scheduled backup made and checked")
        .count();
    let files = std::fs::read_dir(backups.path()).unwrap().count();
    assert_eq!(files, made, "one backup file for each backup made");
    assert_eq!(made, turns("backup").len(), "one backup made for each turn");
    let swept = lines
        .iter()
        .filter(|l| l["message"] == "scheduled storage gc done")
        .map(|l| l["removed"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(swept, 2, "each stray object was removed once");
}

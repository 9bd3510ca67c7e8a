//! Running the `folio` binary as a user would: commands, and `serve` with its JSON log lines.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::TestDb;

/// `folio` with a clean environment: only what the test sets, in a scratch directory.
pub fn folio(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    command.current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("folio runs");
    texts(output)
}

/// Runs `command` with `input` as its standard input (a password for `--password-stdin`).
pub fn run_with_input(command: &mut Command, input: &str) -> (Output, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("folio starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(input.as_bytes())
        .expect("folio reads its input");
    drop(stdin);
    texts(child.wait_with_output().expect("folio runs"))
}

fn texts(output: Output) -> (Output, String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// `folio import KIND ARGS…` in `dir`, on the test's database: exit code, stdout, stderr.
pub fn import(dir: &Path, t: &TestDb, kind: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let (output, out, err) = run(folio(dir)
        .args(["import", kind])
        .args(args)
        .env("DATABASE_URL", t.url_string()));
    (output.status.code(), out, err)
}

/// A `folio serve` process whose JSON log lines arrive on a channel.
pub struct Served {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<Value>,
}

impl Served {
    pub fn next_line(&mut self, within: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(within).ok()?;
        let value: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
        self.seen.push(value.clone());
        Some(value)
    }

    pub fn wait_for(&mut self, what: &str, found: impl Fn(&Value) -> bool) -> Value {
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

impl Served {
    /// Starts `folio serve` on a free port with JSON logs; `envs` go into its environment.
    pub fn start(dir: &Path, envs: &[(&str, String)]) -> (Self, String) {
        let mut command = folio(dir);
        command
            .arg("serve")
            .env("FOLIO_BIND", "127.0.0.1:0")
            .env("FOLIO_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("folio serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut served = Self {
            child,
            lines,
            seen: vec![],
        };
        let serving = served.wait_for("serving", |l| l["address"].is_string());
        let address = serving["address"].as_str().expect("an address").to_string();
        (served, address)
    }

    /// Sends SIGTERM, waits for the exit, and collects the remaining log lines.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "folio did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        while self.next_line(Duration::from_millis(100)).is_some() {}
        status
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Registers `name` (`<name>@example.org`, [`PASSWORD`]) with the server at `address`.
///
/// [`PASSWORD`]: crate::support::api::PASSWORD
pub async fn register(http: &reqwest::Client, address: &str, name: &str) {
    let body = serde_json::json!({
        "username": name,
        "email": format!("{name}@example.org"),
        "password": crate::support::api::PASSWORD,
    });
    let made = http
        .post(format!("http://{address}/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{name} registers");
}

/// Signs `name` in at the server at `address`: their access token.
pub async fn sign_in(http: &reqwest::Client, address: &str, name: &str) -> String {
    let body = serde_json::json!({"username": name, "password": crate::support::api::PASSWORD});
    let answer = http
        .post(format!("http://{address}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{name} signs in");
    let tokens: Value = answer.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_string()
}

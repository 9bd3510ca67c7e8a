//! A TCP relay of the test's own between folio and the shared PostgreSQL server. Stopping it
//! cuts every connection and refuses new ones, exactly what folio sees when its database host
//! goes down, while the shared server keeps serving the other tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use folio::config::DatabaseUrl;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;

/// PostgreSQL's answer to a COMMIT: CommandComplete (`C`, length 11, "COMMIT\0").
const COMMIT_COMPLETE: &[u8] = b"C\0\0\0\x0bCOMMIT\0";
/// ReadyForQuery (`Z`, length 5): the server is done answering the statement.
const READY_FOR_QUERY: &[u8] = b"Z\0\0\0\x05";

/// Relays 127.0.0.1:port to the upstream server until stopped.
pub struct Relay {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<JoinSet<()>>>,
    cut_after_commit: Arc<AtomicBool>,
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut relay = Self {
            addr: listener.local_addr().unwrap(),
            upstream,
            tasks: Arc::new(Mutex::new(JoinSet::new())),
            cut_after_commit: Arc::new(AtomicBool::new(false)),
        };
        relay.accept(listener);
        relay
    }

    /// A relay to the server of `url`, and `url` pointed at the relay.
    pub async fn to(url: &Url) -> (Self, DatabaseUrl) {
        let upstream =
            tokio::net::lookup_host((url.host_str().unwrap(), url.port().unwrap_or(5432)))
                .await
                .unwrap()
                .next()
                .unwrap();
        let relay = Self::start(upstream).await;
        let mut relayed = url.clone();
        relayed.set_host(Some("127.0.0.1")).unwrap();
        relayed.set_port(Some(relay.addr.port())).unwrap();
        (relay, DatabaseUrl::Postgres { url: relayed })
    }

    fn accept(&mut self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let upstream = self.upstream;
        let cut = self.cut_after_commit.clone();
        self.tasks.lock().unwrap().spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (all, cut) = (tasks.clone(), cut.clone());
                tasks.lock().unwrap().spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, all, cut).await;
                    }
                });
            }
        });
    }

    /// Closes the listener and every relayed connection.
    pub fn stop(&self) {
        self.tasks.lock().unwrap().abort_all();
    }

    /// The next COMMIT the server answers reaches folio whole, and then the relay stops: the
    /// database host goes away after a write is committed and before anything else is asked.
    pub fn stop_after_next_commit(&self) {
        self.cut_after_commit.store(true, Ordering::SeqCst);
    }

    /// Whether a COMMIT armed by [`Self::stop_after_next_commit`] has come through.
    pub fn stopped_after_commit(&self) -> bool {
        !self.cut_after_commit.load(Ordering::SeqCst)
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        // The aborted accept loop drops its listener on its next poll; wait for the port.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.accept(listener);
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    all: Arc<Mutex<JoinSet<()>>>,
    cut_after_commit: Arc<AtomicBool>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    all.lock().unwrap().spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut buffer = vec![0; 64 * 1024];
    let mut committed = false;
    while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
        let chunk = &buffer[..n];
        committed = committed
            || (contains(chunk, COMMIT_COMPLETE) && cut_after_commit.load(Ordering::SeqCst));
        if client_write.write_all(chunk).await.is_err() {
            break;
        }
        if committed && contains(chunk, READY_FOR_QUERY) {
            let _ = client_write.flush().await;
            cut_after_commit.store(false, Ordering::SeqCst);
            all.lock().unwrap().abort_all();
            return;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

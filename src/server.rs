//! Serving the router: binding, HTTP/1 connections with time and number limits, graceful
//! shutdown on SIGINT/SIGTERM with a deadline.
//!
//! folio drives hyper itself rather than through `axum::serve`, which sets no timer: there a
//! client that sent half a request line and then nothing (or never sent its next request on a
//! kept-alive connection) kept its connection, and its file descriptor, for ever, and enough of
//! them starved everyone else, `/health` included.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::api::{self, AppState};
use crate::config::{ConnectionLimits, TrustedProxies};

/// The client's address as `FOLIO_TRUSTED_PROXIES` makes it out: the peer, or the address a
/// trusted proxy in front says it saw. `api::extract::ClientAddress` reads it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub std::net::IpAddr);

/// After a shutdown signal, in-flight requests get this long to finish.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// How long `accept` pauses after failing (out of file descriptors, most often) before trying
/// again, rather than spinning or giving up serving.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves until `shutdown` resolves, then lets in-flight requests finish within the deadline.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.settings.connections.clone();
    serve_router(listener, api::app(state), &limits, shutdown).await
}

/// Serves `router` as [`serve`] does folio's app: the metrics listener goes through here too,
/// with the same limits on slow and idle clients.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    // A permit per open connection: at the cap, folio stops accepting and new connections
    // wait in the kernel's queue until one closes.
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(
                TokioIo::new(stream),
                service(&router, remote, limits.trusted_proxies.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => Ok(()),
        () = tokio::time::sleep(SHUTDOWN_DEADLINE) => {
            tracing::warn!(
                deadline_secs = SHUTDOWN_DEADLINE.as_secs(),
                "requests still running at the shutdown deadline were cut off"
            );
            Ok(())
        }
    }
}

/// The router as hyper calls it for one connection, with the client's address where
/// `ConnectInfo` finds it.
fn service(
    router: &Router,
    remote: SocketAddr,
    proxies: TrustedProxies,
) -> TowerToHyperService<
    impl tower::Service<
        hyper::Request<Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static,
> {
    let router = router
        .clone()
        .map_request(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            let forwarded: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let client = ClientIp(proxies.client(remote.ip(), &forwarded));
            request.extensions_mut().insert(client);
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
    TowerToHyperService::new(router)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: `serve` calls it first thing, so a SIGTERM that arrives
/// while it starts (a supervisor stopping it at once) is a graceful stop, not the default
/// action that kills the process.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |handler: Option<tokio::signal::unix::Signal>| async move {
            match handler {
                Some(mut handler) => {
                    handler.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => {},
            () = wait(terminate) => {},
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

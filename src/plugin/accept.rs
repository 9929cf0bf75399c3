//! The accept loop of the plugin socket, built to keep serving Terraform while other local
//! processes misbehave: a bound on connections (half-open handshakes included), a deadline on
//! each TLS handshake, and a capped backoff with rate-limited logs when `accept` fails.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UnixListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::connection::{OpenConnections, PluginConnection};
use crate::logging;

/// How long a peer has to finish the TLS handshake. Terraform's takes milliseconds; a peer that
/// sends half a ClientHello and waits must not hold a descriptor for ever.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(3);

/// How long a peer has to send its first byte. Terraform sends its ClientHello as soon as it
/// has connected, usually before we accept; a peer that connects and stays silent is dropped
/// sooner than the handshake deadline, so that a flood of them drains from the backlog fast.
pub const FIRST_BYTE_DEADLINE: Duration = Duration::from_secs(1);

/// The most connections held at once, half-open handshakes included. Terraform opens one; the
/// bound keeps a flood of local connections from exhausting our descriptors (EMFILE under the
/// common 1,024 limit) while letting the flood drain at this many per [`HANDSHAKE_DEADLINE`].
pub const MAX_CONNECTIONS: usize = 512;

/// The backoff after a failed `accept` (EMFILE, ENFILE, ENOBUFS): retrying at once spins a core
/// and floods the log while nothing can change. Doubles from the first to the last value and
/// starts over after a success; short enough that Terraform's connection waiting in the backlog
/// is taken soon after a descriptor frees up, at four attempts a second at most.
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_millis(250);

/// At most one log line about failing accepts per interval; the others are counted into it.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown`, finishing TLS handshakes concurrently so that one slow
/// or hostile peer cannot hold up the others. A peer that fails the handshake (no certificate,
/// another certificate, too slow) is logged and dropped. Established connections are counted
/// in `open`.
pub fn accept_connections(
    listener: UnixListener,
    acceptor: Option<TlsAcceptor>,
    shutdown: CancellationToken,
    open: OpenConnections,
) -> ReceiverStream<io::Result<PluginConnection>> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = acceptor.map(Arc::new);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        let mut backoff = ACCEPT_BACKOFF_FIRST;
        let mut errors = AcceptErrors::default();
        loop {
            // Waiting for a slot before accepting leaves further peers in the kernel's backlog
            // instead of in our descriptor table.
            let slot = tokio::select! {
                _ = shutdown.cancelled() => break,
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF_FIRST;
                    stream
                }
                Err(error) => {
                    errors.record(&error, backoff);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            match &acceptor {
                None => {
                    let connection = PluginConnection::plain(stream, slot, &open);
                    if sender.send(Ok(connection)).await.is_err() {
                        break;
                    }
                }
                Some(acceptor) => {
                    let acceptor = Arc::clone(acceptor);
                    let sender = sender.clone();
                    let open = open.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                let connection = PluginConnection::tls(tls, slot, &open);
                                let _ = sender.send(Ok(connection)).await;
                            }
                            Ok(Err(error)) => logging::warn(
                                "refused a plugin connection: TLS handshake failed",
                                &[("error", error.to_string().into())],
                            ),
                            Err(_) => logging::debug(
                                "dropped a plugin connection: no TLS handshake within the deadline",
                                &[(
                                    "deadline_ms",
                                    (HANDSHAKE_DEADLINE.as_millis() as u64).into(),
                                )],
                            ),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(receiver)
}

/// Failed accepts since the last log line about them.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn record(&mut self, error: &io::Error, backoff: Duration) {
        let due = self
            .last_logged
            .is_none_or(|logged| logged.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL);
        if !due {
            self.unlogged += 1;
            return;
        }
        logging::warn(
            "accepting a plugin connection failed; retrying after a pause",
            &[
                ("error", error.to_string().into()),
                ("retry_in_ms", (backoff.as_millis() as u64).into()),
                ("failures_not_logged", self.unlogged.into()),
            ],
        );
        self.last_logged = Some(Instant::now());
        self.unlogged = 0;
    }
}

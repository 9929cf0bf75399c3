//! The accept loop of the plugin socket, built to keep serving Terraform while other local
//! processes misbehave: a bound on connections (half-open handshakes included), deadlines on
//! each TLS handshake, silent peers dropped first when room is short, and a capped backoff with
//! rate-limited logs when `accept` fails.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc};
use tokio::task::AbortHandle;
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
///
/// When every slot is taken, or descriptors run out, the oldest peer that has sent nothing yet
/// is dropped to make room: it is not Terraform, whose ClientHello follows its connect at once,
/// and waiting for its deadline would leave Terraform queued behind a flood of such peers.
pub fn accept_connections(
    listener: UnixListener,
    acceptor: Option<TlsAcceptor>,
    shutdown: CancellationToken,
    open: OpenConnections,
) -> ReceiverStream<io::Result<PluginConnection>> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = acceptor.map(Arc::new);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let silent = SilentPeers::default();
    tokio::spawn(async move {
        let mut backoff = ACCEPT_BACKOFF_FIRST;
        let mut errors = AcceptErrors::default();
        let mut peer = 0u64;
        loop {
            // Waiting for a slot before accepting leaves further peers in the kernel's backlog
            // instead of in our descriptor table.
            let slot = match Arc::clone(&slots).try_acquire_owned() {
                Ok(slot) => slot,
                Err(TryAcquireError::Closed) => break,
                Err(TryAcquireError::NoPermits) => {
                    silent.drop_oldest();
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        slot = Arc::clone(&slots).acquire_owned() => match slot {
                            Ok(slot) => slot,
                            Err(_) => break,
                        },
                    }
                }
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
                    let out_of_descriptors =
                        matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                    let pause = if out_of_descriptors && silent.drop_oldest() {
                        // A descriptor is being freed: retry as soon as it is.
                        ACCEPT_BACKOFF_FIRST
                    } else {
                        let pause = backoff;
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        pause
                    };
                    errors.record(&error, pause);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(pause) => {}
                    }
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
                    peer += 1;
                    let handshake = handshake(
                        peer,
                        stream,
                        Arc::clone(acceptor),
                        slot,
                        open.clone(),
                        sender.clone(),
                        silent.clone(),
                    );
                    silent.spawn(peer, handshake);
                }
            }
        }
    });
    ReceiverStream::new(receiver)
}

/// One peer's TLS handshake, within [`FIRST_BYTE_DEADLINE`] and [`HANDSHAKE_DEADLINE`]; the
/// established connection goes to `sender`.
async fn handshake(
    peer: u64,
    stream: UnixStream,
    acceptor: Arc<TlsAcceptor>,
    slot: OwnedSemaphorePermit,
    open: OpenConnections,
    sender: mpsc::Sender<io::Result<PluginConnection>>,
    silent: SilentPeers,
) {
    let started = tokio::time::Instant::now();
    let first_byte = tokio::time::timeout(FIRST_BYTE_DEADLINE, stream.readable()).await;
    silent.spoke(peer);
    if !matches!(first_byte, Ok(Ok(()))) {
        logging::debug(
            "dropped a plugin connection: nothing sent within the deadline",
            &[],
        );
        return;
    }
    match tokio::time::timeout_at(started + HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
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
}

/// Handshake tasks whose peer has not sent a byte yet, oldest first, by the peer's number.
#[derive(Clone, Default)]
struct SilentPeers(Arc<Mutex<VecDeque<(u64, AbortHandle)>>>);

impl SilentPeers {
    /// Spawns a handshake task and lists it as silent. The list stays locked until the task is
    /// in it, so the task cannot leave it before it has joined.
    fn spawn(&self, peer: u64, handshake: impl Future<Output = ()> + Send + 'static) {
        let Ok(mut silent) = self.0.lock() else {
            tokio::spawn(handshake);
            return;
        };
        let task = tokio::spawn(handshake);
        silent.push_back((peer, task.abort_handle()));
    }

    /// Takes `peer` off the list: it has spoken (or its time is up).
    fn spoke(&self, peer: u64) {
        if let Ok(mut silent) = self.0.lock() {
            silent.retain(|(listed, _)| *listed != peer);
        }
    }

    /// Aborts the oldest silent peer's task, which closes its stream and frees its slot.
    /// Returns whether there was one.
    fn drop_oldest(&self) -> bool {
        let oldest = self.0.lock().ok().and_then(|mut silent| silent.pop_front());
        match oldest {
            Some((_, task)) => {
                task.abort();
                true
            }
            None => false,
        }
    }
}

/// Failed accepts since the last log line about them.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn record(&mut self, error: &io::Error, pause: Duration) {
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
                ("retry_in_ms", (pause.as_millis() as u64).into()),
                ("failures_not_logged", self.unlogged.into()),
            ],
        );
        self.last_logged = Some(Instant::now());
        self.unlogged = 0;
    }
}

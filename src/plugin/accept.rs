//! The accept loop of the plugin socket, built to keep serving Terraform while other local
//! processes misbehave: a bound on connections (half-open handshakes included), deadlines on
//! each TLS handshake, silent peers dropped first when room is short (plaintext ones too), and
//! a capped backoff when `accept` fails; what a peer can cause over and over (failed accepts,
//! failed handshakes) is logged at most once per interval, with a count.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::SockRef;
use tokio::io::Interest;
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

/// At most one log line per interval about failing accepts, and one about failed TLS
/// handshakes; the others are counted into the next line.
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown`, finishing TLS handshakes concurrently so that one slow
/// or hostile peer cannot hold up the others. A peer that fails the handshake (no certificate,
/// another certificate, too slow) is dropped, and counted into a log line written at most once
/// per [`FAILURE_LOG_INTERVAL`]. Established connections are counted in `open`.
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
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let handshakes = Handshakes {
        acceptor: acceptor.map(Arc::new),
        open,
        sender,
        silent: SilentPeers::default(),
        refused: Arc::new(RateLimitedLog::new(
            "refused a plugin connection: TLS handshake failed",
        )),
    };
    let silent = handshakes.silent.clone();
    tokio::spawn(async move {
        let mut backoff = ACCEPT_BACKOFF_FIRST;
        let accept_errors =
            RateLimitedLog::new("accepting a plugin connection failed; retrying after a pause");
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
                    accept_errors.record(Instant::now(), || {
                        vec![
                            ("error", error.to_string().into()),
                            ("retry_in_ms", (pause.as_millis() as u64).into()),
                        ]
                    });
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    continue;
                }
            };
            peer += 1;
            let handshake = handshakes.clone().run(peer, stream, slot);
            silent.spawn(peer, handshake);
        }
        // What was counted and not yet logged is said once, as serving ends.
        accept_errors.flush();
        handshakes.refused.flush();
    });
    ReceiverStream::new(receiver)
}

/// What every peer's handshake task shares.
#[derive(Clone)]
struct Handshakes {
    /// Terraform's TLS; `None` serves plaintext (`--debug`, or no `PLUGIN_CLIENT_CERT`).
    acceptor: Option<Arc<TlsAcceptor>>,
    open: OpenConnections,
    /// Where established connections go, to be served.
    sender: mpsc::Sender<io::Result<PluginConnection>>,
    silent: SilentPeers,
    refused: Arc<RateLimitedLog>,
}

impl Handshakes {
    /// One peer's first byte within [`FIRST_BYTE_DEADLINE`], then its TLS handshake within
    /// [`HANDSHAKE_DEADLINE`]; the established connection goes to be served. A plaintext peer
    /// is served once it has spoken, so silent ones are dropped first there too.
    async fn run(self, peer: u64, stream: UnixStream, slot: OwnedSemaphorePermit) {
        let started = tokio::time::Instant::now();
        let first_byte = tokio::time::timeout(FIRST_BYTE_DEADLINE, first_byte(&stream)).await;
        self.silent.spoke(peer);
        if !matches!(first_byte, Ok(Ok(()))) {
            logging::debug(
                "dropped a plugin connection: nothing sent within the deadline",
                &[],
            );
            return;
        }
        let Some(acceptor) = &self.acceptor else {
            let connection = PluginConnection::plain(stream, slot, &self.open);
            let _ = self.sender.send(Ok(connection)).await;
            return;
        };
        match tokio::time::timeout_at(started + HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                let connection = PluginConnection::tls(tls, slot, &self.open);
                let _ = self.sender.send(Ok(connection)).await;
            }
            // A local process can fail handshakes as fast as it can connect (half a million in
            // 5 s): one line per interval, with the count.
            Ok(Err(error)) => self
                .refused
                .record(Instant::now(), || vec![("error", error.to_string().into())]),
            Err(_) => logging::debug(
                "dropped a plugin connection: no TLS handshake within the deadline",
                &[(
                    "deadline_ms",
                    (HANDSHAKE_DEADLINE.as_millis() as u64).into(),
                )],
            ),
        }
    }
}

/// Waits until the peer has sent a byte, or closed, without reading it.
///
/// A readable event alone proves nothing: tokio's `readable()` may resolve with nothing to read
/// (its docs call this a false positive), and for a freshly accepted Unix socket it resolved at
/// once, so every silent peer counted as having spoken. When the slots filled, the only peers
/// left to drop were those not yet polled, the newest, Terraform's among them. A peek (`recv`
/// with `MSG_PEEK`) asks the kernel; when it would block, tokio's readiness is cleared and the
/// wait goes on.
async fn first_byte(stream: &UnixStream) -> io::Result<()> {
    let mut byte = [MaybeUninit::uninit()];
    loop {
        stream.readable().await?;
        match stream.try_io(Interest::READABLE, || SockRef::from(stream).peek(&mut byte)) {
            Ok(_) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        }
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

/// A warning a peer can cause over and over: written at most once per
/// [`FAILURE_LOG_INTERVAL`], each line with the number of occurrences not logged since the
/// previous one (`failures_not_logged`).
struct RateLimitedLog {
    message: &'static str,
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl RateLimitedLog {
    fn new(message: &'static str) -> Self {
        Self {
            message,
            state: Mutex::default(),
        }
    }

    /// Counts one occurrence at `now`, and writes the line (with `fields`) when one is due.
    fn record(
        &self,
        now: Instant,
        fields: impl FnOnce() -> Vec<(&'static str, serde_json::Value)>,
    ) {
        if let Some(not_logged) = self.due(now) {
            let mut fields = fields();
            fields.push(("failures_not_logged", not_logged.into()));
            logging::warn(self.message, &fields);
        }
    }

    /// Whether a line is due at `now`, with the occurrences it must count; else counts this one.
    fn due(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().ok()?;
        let due = state
            .last_logged
            .is_none_or(|logged| now.saturating_duration_since(logged) >= FAILURE_LOG_INTERVAL);
        if !due {
            state.unlogged += 1;
            return None;
        }
        state.last_logged = Some(now);
        Some(std::mem::take(&mut state.unlogged))
    }

    /// Writes the occurrences counted since the last line, if any.
    fn flush(&self) {
        let unlogged = self
            .state
            .lock()
            .map(|mut state| std::mem::take(&mut state.unlogged))
            .unwrap_or_default();
        if unlogged > 0 {
            logging::warn(self.message, &[("failures_not_logged", unlogged.into())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_interval_counting_the_occurrences_between() {
        let log = RateLimitedLog::new("test");
        let start = Instant::now();
        assert_eq!(log.due(start), Some(0), "the first is logged");
        for millis in 1..=1000 {
            assert_eq!(log.due(start + Duration::from_millis(millis)), None);
        }
        assert_eq!(log.due(start + FAILURE_LOG_INTERVAL), Some(1000));
        assert_eq!(log.due(start + FAILURE_LOG_INTERVAL), None);
        assert_eq!(log.due(start + 2 * FAILURE_LOG_INTERVAL), Some(1));
        assert_eq!(log.state.lock().unwrap().unlogged, 0);
    }
}

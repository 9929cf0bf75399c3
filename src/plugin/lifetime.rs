//! When the plugin ends by itself: never outlive Terraform. The process ends when its parent
//! dies, when Terraform's connection closes and no other opens within a grace period, and on
//! SIGTERM or SIGHUP. Each of these cancels the serving token; serving then stops the provider
//! (cancelling reads in flight) and removes the socket file.
//!
//! Terraform killed hard (`kill -9`, the OOM killer, a cancelled CI job) sends no Shutdown, and
//! go-plugin providers are then orphaned, still listening (terraform-plugin-sdk issue 257).

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::logging;

/// How the plugin's life is tied to its host, besides Shutdown and the caller's token.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lifetime {
    /// End this long after the last connection closed, unless another opens meanwhile; only
    /// once a connection has been served. `None` serves until shut down (debug mode, where
    /// Terraform attaches many times, and tests).
    pub end_after_last_connection: Option<Duration>,
}

impl Lifetime {
    /// Serve until Shutdown or the caller's token, however many connections come and go.
    pub fn until_shutdown() -> Self {
        Self::default()
    }

    /// Also end once Terraform's connection has closed and none follows within `grace`.
    ///
    /// Terraform (go-plugin) makes one gRPC connection per plugin process, so its closing means
    /// the host is gone, even when our parent is a wrapper (a shell, `time`) that lives on.
    pub fn while_host_connected(grace: Duration) -> Self {
        Self {
            end_after_last_connection: Some(grace),
        }
    }
}

/// The grace period the binary gives a new connection after Terraform's closed: a reconnect by
/// grpc-go comes within milliseconds; an ended Terraform never comes back.
pub const HOST_RECONNECT_GRACE: Duration = Duration::from_millis(1500);

/// Cancels `shutdown` once `open` has been above zero, falls to zero, and stays there for
/// `grace`. Returns when it cancels, or when the count can no longer change.
pub async fn end_when_host_leaves(
    mut open: watch::Receiver<usize>,
    grace: Duration,
    shutdown: CancellationToken,
) {
    if open.wait_for(|count| *count > 0).await.is_err() {
        return;
    }
    loop {
        if open.wait_for(|count| *count == 0).await.is_err() {
            return;
        }
        let reconnected = tokio::time::timeout(grace, open.wait_for(|count| *count > 0)).await;
        match reconnected {
            Ok(Ok(_)) => continue,
            Ok(Err(_)) => return,
            Err(_) => {
                logging::info(
                    "exiting: Terraform's connection closed and no other connection opened",
                    &[("grace_ms", (grace.as_millis() as u64).into())],
                );
                shutdown.cancel();
                return;
            }
        }
    }
}

/// Cancels `shutdown` on SIGTERM or SIGHUP: a supervisor or a closing terminal asks us to end.
pub fn end_on_termination_signals(shutdown: &CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
    ] {
        match signal(kind) {
            Ok(mut received) => {
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    if received.recv().await.is_some() {
                        logging::info(
                            "exiting: received a termination signal",
                            &[("signal", name.into())],
                        );
                        shutdown.cancel();
                    }
                });
            }
            Err(error) => logging::warn(
                "could not handle a termination signal",
                &[("signal", name.into()), ("error", error.to_string().into())],
            ),
        }
    }
}

/// The process that started us, as recorded before anything could go wrong.
pub struct Parent {
    pid: libc::pid_t,
}

/// The signal the kernel sends us when our parent dies (Linux). A signal of its own rather than
/// SIGTERM: the kernel also sends it when merely the parent's thread that started us exits, and
/// then [`Parent::is_gone`] tells the two apart; a SIGTERM is always obeyed.
#[cfg(target_os = "linux")]
const PARENT_DEATH_SIGNAL: libc::c_int = libc::SIGUSR2;

impl Parent {
    /// Records the parent and, on Linux, asks the kernel for [`PARENT_DEATH_SIGNAL`] when it
    /// dies. Call first thing in `main`, while the process has one thread: the setting belongs
    /// to the calling thread. Until [`Parent::end_when_gone`] handles the signal, its default
    /// action ends the process, which is right: no socket exists yet.
    pub fn arm() -> Self {
        // SAFETY: getppid has no preconditions.
        let pid = unsafe { libc::getppid() };
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and changes nothing else.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL as libc::c_ulong);
        }
        Self { pid }
    }

    /// Whether the parent has died: we were handed to another process (init or a subreaper).
    /// Catches a parent that died before [`Parent::arm`] asked for the signal.
    pub fn is_gone(&self) -> bool {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() != self.pid }
    }

    /// Cancels `shutdown` within a second of the parent's death: on the kernel's signal on
    /// Linux, by checking the parent's id twice a second elsewhere.
    pub fn end_when_gone(self, shutdown: &CancellationToken) {
        let shutdown = shutdown.clone();
        #[cfg(target_os = "linux")]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::from_raw(PARENT_DEATH_SIGNAL)) {
                Ok(mut received) => {
                    tokio::spawn(async move {
                        // The parent may have died before the handler existed.
                        while !self.is_gone() {
                            if received.recv().await.is_none() {
                                return;
                            }
                        }
                        parent_gone(&shutdown);
                    });
                    return;
                }
                Err(error) => logging::warn(
                    "could not handle the parent-death signal; checking the parent instead",
                    &[("error", error.to_string().into())],
                ),
            }
        }
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            while !self.is_gone() {
                every.tick().await;
            }
            parent_gone(&shutdown);
        });
    }
}

fn parent_gone(shutdown: &CancellationToken) {
    logging::info(
        "exiting: the process that started the provider has ended",
        &[],
    );
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_last_connection_closing_ends_the_plugin_after_the_grace_period() {
        let (count, open) = watch::channel(0usize);
        let shutdown = CancellationToken::new();
        let watcher = tokio::spawn(end_when_host_leaves(
            open,
            Duration::from_secs(2),
            shutdown.clone(),
        ));
        // No connection yet: never ends, however long.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!shutdown.is_cancelled());
        count.send_replace(1);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!shutdown.is_cancelled());
        count.send_replace(0);
        tokio::time::sleep(Duration::from_millis(1900)).await;
        assert!(!shutdown.is_cancelled(), "ended before the grace period");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(shutdown.is_cancelled());
        watcher.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_within_the_grace_period_keeps_the_plugin() {
        let (count, open) = watch::channel(0usize);
        let shutdown = CancellationToken::new();
        tokio::spawn(end_when_host_leaves(
            open,
            Duration::from_secs(2),
            shutdown.clone(),
        ));
        count.send_replace(1);
        tokio::time::sleep(Duration::from_millis(10)).await;
        count.send_replace(0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        count.send_replace(1);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!shutdown.is_cancelled());
    }

    #[test]
    fn a_living_parent_is_not_gone() {
        let parent = Parent {
            // SAFETY: getppid has no preconditions.
            pid: unsafe { libc::getppid() },
        };
        assert!(!parent.is_gone());
        assert!(Parent { pid: -1 }.is_gone());
    }
}

//! One fetch in flight, its outcome shared with everyone who waited for it, failure included:
//! the pattern behind `auto`'s v1.0 probe, a service account's token and the first digest
//! challenge.
//!
//! The first caller runs the fetch in its own task; callers that come while it runs wait for its
//! outcome instead of queueing to run their own (a timeout costs every waiting read one
//! `request_timeout`, not one each). No lock is held across the fetch: the slot is a `std` mutex
//! taken for a few instructions, and the outcome travels through a `tokio` oneshot channel made
//! cloneable by `futures_util`'s `Shared`. A failure is not kept: once the fetch is over, the next
//! caller starts a new one. If the caller running the fetch is cancelled, its waiters see the
//! channel close and one of them runs the fetch again.

use std::sync::{Mutex, MutexGuard, PoisonError};

use futures_util::future::{FutureExt, Shared};
use tokio::sync::oneshot;

/// The fetch in flight, if any.
pub(crate) struct SharedFetch<T: Clone> {
    in_flight: Mutex<Option<Flight<T>>>,
}

/// The outcome of one fetch, for every caller that waits for it.
type Flight<T> = Shared<oneshot::Receiver<T>>;

impl<T: Clone> Default for SharedFetch<T> {
    fn default() -> Self {
        Self {
            in_flight: Mutex::new(None),
        }
    }
}

impl<T: Clone> SharedFetch<T> {
    /// The outcome of the fetch in flight or, when none is, of `fetch`, run now by this caller
    /// while later callers wait for it.
    pub(crate) async fn run<F, Fut>(&self, fetch: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let lead = loop {
            let flight = {
                let mut slot = self.slot();
                match slot.as_ref() {
                    Some(flight) => flight.clone(),
                    None => {
                        let (sender, receiver) = oneshot::channel();
                        let flight = receiver.shared();
                        *slot = Some(flight.clone());
                        break Lead {
                            owner: self,
                            flight,
                            sender: Some(sender),
                        };
                    }
                }
            };
            // A closed channel means the caller running the fetch was cancelled: try again.
            if let Ok(outcome) = flight.await {
                return outcome;
            }
        };
        let outcome = fetch().await;
        lead.finish(outcome.clone());
        outcome
    }

    fn slot(&self) -> MutexGuard<'_, Option<Flight<T>>> {
        // Nothing panics while the slot is held, but a poisoned slot is still a valid one.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The caller running the fetch. Dropped without [`Lead::finish`] (cancelled), it empties the
/// slot and closes the channel, so that a waiter runs the fetch instead.
struct Lead<'a, T: Clone> {
    owner: &'a SharedFetch<T>,
    flight: Flight<T>,
    sender: Option<oneshot::Sender<T>>,
}

impl<T: Clone> Lead<'_, T> {
    /// Hands the outcome to every waiter; the next caller starts a new fetch.
    fn finish(mut self, outcome: T) {
        self.leave_slot();
        if let Some(sender) = self.sender.take() {
            // Nobody waiting is fine.
            let _ = sender.send(outcome);
        }
    }

    fn leave_slot(&self) {
        let mut slot = self.owner.slot();
        if slot
            .as_ref()
            .is_some_and(|flight| flight.ptr_eq(&self.flight))
        {
            *slot = None;
        }
    }
}

impl<T: Clone> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        self.leave_slot();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A fetch that counts its runs, takes a second, and fails.
    async fn failing_fetch(runs: &AtomicUsize) -> Result<(), String> {
        let run = runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        Err(format!("run {run} failed"))
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_share_one_run_and_its_failure_and_the_next_caller_runs_again() {
        let shared = Arc::new(SharedFetch::<Result<(), String>>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let started = tokio::time::Instant::now();
        let callers: Vec<_> = (0..10)
            .map(|_| {
                let (shared, runs) = (Arc::clone(&shared), Arc::clone(&runs));
                tokio::spawn(async move { shared.run(|| failing_fetch(&runs)).await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), Err("run 0 failed".to_owned()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert_eq!(
            shared.run(|| failing_fetch(&runs)).await,
            Err("run 1 failed".to_owned())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_runner_hands_the_fetch_to_a_waiter() {
        let shared = Arc::new(SharedFetch::<Result<(), String>>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let first = {
            let (shared, runs) = (Arc::clone(&shared), Arc::clone(&runs));
            tokio::spawn(async move { shared.run(|| failing_fetch(&runs)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiter = {
            let (shared, runs) = (Arc::clone(&shared), Arc::clone(&runs));
            tokio::spawn(async move { shared.run(|| failing_fetch(&runs)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        assert_eq!(waiter.await.unwrap(), Err("run 1 failed".to_owned()));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}

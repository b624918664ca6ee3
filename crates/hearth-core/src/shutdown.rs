//! A shutdown signal that every service receives as an argument.
//!
//! The daemon's signal handler holds the [`ShutdownTrigger`]; services hold clones of
//! [`Shutdown`] and select on [`Shutdown::wait`]. Tests build their own pair and stop a service
//! without sending signals to the test process.

use tokio::sync::watch;

/// Fires the shutdown. Dropping the trigger also counts as a shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// Cloneable receiving end of the shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A new trigger and its first receiver.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Ask every holder of a [`Shutdown`] to stop.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }

    /// Another receiver, for services created after the trigger.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown { rx: self.tx.subscribe() }
    }
}

impl Shutdown {
    /// Whether shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown is requested (or the trigger is dropped).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An Err means the trigger was dropped: treat as shutdown.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_for_all_clones() {
        let (trigger, shutdown) = channel();
        let a = shutdown.clone();
        let b = trigger.subscribe();
        assert!(!a.is_requested());
        trigger.fire();
        a.wait().await;
        b.wait().await;
        assert!(shutdown.is_requested());
    }

    #[tokio::test]
    async fn dropped_trigger_counts_as_shutdown() {
        let (trigger, shutdown) = channel();
        drop(trigger);
        shutdown.wait().await;
    }
}

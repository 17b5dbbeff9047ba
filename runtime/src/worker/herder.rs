//! The worker's side of the standalone herder's writes: connectors created, replaced and deleted over REST (Kafka's
//! `StandaloneHerder` keeps such configs in memory only, and so does sluice: a restarted worker
//! runs the connector files it is given). REST sends a request; the worker's loop, which owns
//! the supervisors, carries it out and answers.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Command, ConnectorStatus, PreparedConnector, Worker};
use crate::config::{ConfigErrors, RawConfig};
use crate::herder::HerderError;

/// What REST asks of the worker.
pub enum HerderRequest {
    /// Create a connector from its config, or (unless `create_only`) replace its config.
    Put { raw: RawConfig, create_only: bool, reply: oneshot::Sender<Result<PutOutcome, HerderError>> },
    /// Stop a connector's tasks and forget it (its offsets stay).
    Delete { name: String, reply: oneshot::Sender<Result<(), HerderError>> },
}

/// A connector created or replaced.
pub struct PutOutcome {
    pub created: bool,
    pub connector: Arc<ConnectorStatus>,
}

/// A write waiting for a connector's supervisor to end.
pub(super) enum Pending {
    Delete(oneshot::Sender<Result<(), HerderError>>),
    Replace(Box<PreparedConnector>, oneshot::Sender<Result<PutOutcome, HerderError>>),
}

impl Worker {
    pub(super) async fn handle(&mut self, request: HerderRequest) {
        match request {
            HerderRequest::Put { mut raw, create_only, reply } => {
                let errors = self.providers.resolve(&mut raw);
                let registry = self.state.plugins.read().unwrap().clone();
                let prepared = match errors.is_empty() {
                    true => registry.prepare(&raw),
                    false => Err(ConfigErrors(errors)),
                };
                let prepared = match prepared {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = reply.send(Err(HerderError::Invalid(e)));
                        return;
                    }
                };
                let name = prepared.config.name.clone();
                match self.state.connector(&name) {
                    Some(_) if create_only || self.pending.contains_key(&name) => {
                        let _ = reply.send(Err(HerderError::Exists(name)));
                    }
                    Some(existing) => {
                        let _ = existing.control.send(Command::Delete);
                        self.pending.insert(name, Pending::Replace(Box::new(prepared), reply));
                    }
                    None => {
                        let created = self.create(prepared).await;
                        let _ = reply.send(created.map(|connector| PutOutcome { created: true, connector }));
                    }
                }
            }
            HerderRequest::Delete { name, reply } => match self.state.connector(&name) {
                Some(c) if !self.pending.contains_key(&name) => {
                    let _ = c.control.send(Command::Delete);
                    self.pending.insert(name, Pending::Delete(reply));
                }
                _ => {
                    let _ = reply.send(Err(HerderError::no_connector(&name)));
                }
            },
        }
    }

    /// Starts a connector written over REST; one whose start fails stays `FAILED` (the worker
    /// runs on, as Kafka's does).
    async fn create(&mut self, prepared: PreparedConnector) -> Result<Arc<ConnectorStatus>, HerderError> {
        let name = prepared.config.name.clone();
        let keep = std::mem::replace(&mut self.keep_failed, true);
        let started = prepared.start(self).await;
        self.keep_failed = keep;
        started.map_err(|e| HerderError::Failed(e.to_string()))?;
        self.state.connector(&name).ok_or_else(|| HerderError::no_connector(&name))
    }

    /// A supervisor ended: its connector is gone; a write waiting for that goes on.
    pub(super) async fn supervisor_ended(&mut self, name: String) {
        self.state.connectors.write().unwrap().remove(&name);
        match self.pending.remove(&name) {
            Some(Pending::Delete(reply)) => {
                let _ = reply.send(Ok(()));
            }
            Some(Pending::Replace(prepared, reply)) => {
                let replaced = self.create(*prepared).await;
                let _ = reply.send(replaced.map(|connector| PutOutcome { created: false, connector }));
            }
            None => {}
        }
    }
}

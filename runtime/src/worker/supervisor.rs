//! One supervisor per connector: it owns the connector, starts a *generation* of tasks from its
//! task configs, and replaces the generation when asked (REST restart, pause/resume/stop, or the
//! connector requesting a reconfiguration because its units of work changed). Stopping a
//! generation is the graceful stop of its tasks: they drain, commit offsets and stop within
//! `task.shutdown.graceful.timeout.ms`. Each task has its own stop signal, so one task can be
//! restarted alone (`POST /connectors/{c}/tasks/{t}/restart`) while the others run on.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use super::runner::{ConnectorRunner, TaskEnded};
use super::status::{ConnectorStatus, State};
use super::WorkerError;
use crate::config::InitialState;

/// What the supervisor can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop every task and start them again from fresh task configs.
    Restart,
    /// Restart the connector instance alone (Kafka's plain `POST …/restart`): its tasks run on,
    /// unless the restarted connector's task configs differ.
    RestartConnector,
    /// The connector's units of work changed: new task configs.
    Reconfigure,
    /// Stop the tasks (offsets committed) until `Resume`.
    Pause,
    Resume,
    /// Stop the tasks; the connector stays known, `STOPPED`.
    Stop,
    /// Stop one task gracefully and start it again with the same config.
    RestartTask(usize),
    /// Stop the tasks and end: the connector is deleted (or replaced by a new config).
    Delete,
}

pub(super) struct Wiring {
    pub worker_shutdown: watch::Receiver<bool>,
    pub failures: mpsc::UnboundedSender<(String, usize)>,
    /// Keep a connector whose start fails, `FAILED`, instead of stopping the worker.
    pub keep_failed: bool,
}

/// The standalone worker's policy over one connector's runner: it runs the instance and every
/// task, and a *generation* of tasks is the set started from one call of `task_configs`.
pub(super) struct Supervisor {
    runner: ConnectorRunner,
    commands: mpsc::UnboundedReceiver<Command>,
    worker_shutdown: watch::Receiver<bool>,
    failures: mpsc::UnboundedSender<(String, usize)>,
    /// Whether a generation of tasks runs (none while paused, stopped or failed).
    active: bool,
}

impl Supervisor {
    /// Starts the connector and its first generation of tasks. A failing connector start stops
    /// the worker's start-up, as Kafka's `Stopping after connector error`, unless
    /// `wiring.keep_failed` is set: then the connector stays `FAILED` (its error as the trace)
    /// for a REST restart to try again, and the others run.
    pub async fn start(
        mut runner: ConnectorRunner,
        commands: mpsc::UnboundedReceiver<Command>,
        wiring: Wiring,
    ) -> Result<Supervisor, WorkerError> {
        let name = runner.name().to_owned();
        let started = match runner.start().await {
            Ok(()) => true,
            Err(e) if wiring.keep_failed => {
                error!(connector = %name, error = %e.chain(), "connector failed to start; it stays FAILED until restarted over REST (--on-task-failure continue)");
                runner.status().fail(e.chain());
                false
            }
            Err(e) => return Err(WorkerError::Connector { name, message: e.chain() }),
        };
        let mut s = Supervisor {
            runner,
            commands,
            worker_shutdown: wiring.worker_shutdown,
            failures: wiring.failures,
            active: false,
        };
        if !started {
            return Ok(s);
        }
        match s.runner.raw().initial_state.unwrap_or_default() {
            InitialState::Running => s.start_generation()?,
            InitialState::Paused => s.status().set_state(State::Paused),
            InitialState::Stopped => s.status().set_state(State::Stopped),
        }
        Ok(s)
    }

    fn status(&self) -> &Arc<ConnectorStatus> {
        self.runner.status()
    }

    fn name(&self) -> &str {
        self.runner.name()
    }

    fn start_generation(&mut self) -> Result<(), WorkerError> {
        let configs = self.runner.task_configs()?;
        let statuses: Vec<_> = configs.iter().enumerate().map(|(i, c)| self.runner.task_status(i, c)).collect();
        for ((id, config), status) in configs.into_iter().enumerate().zip(&statuses) {
            self.runner.start_task(id, config, status.clone())?;
        }
        let count = statuses.len();
        *self.status().tasks.write().unwrap() = statuses;
        self.active = true;
        self.status().set_state(State::Running);
        let cc = self.runner.config();
        info!(connector = %cc.name, class = %cc.class, kind = cc.kind.as_str(), tasks = count, "connector running");
        Ok(())
    }

    /// Notes that a task ended; a failure goes to the worker.
    fn ended(&self, (id, result): &TaskEnded) {
        if result.is_err() {
            let _ = self.failures.send((self.name().to_owned(), *id));
        }
    }

    /// Stops task `id` gracefully (it drains and commits) and starts it again with the same
    /// config; the other tasks run on.
    async fn restart_task(&mut self, id: usize) {
        let Some((config, status)) = self.runner.task(id) else { return };
        let (ended, in_time) = self.runner.stop_tasks(Some(&[id])).await;
        ended.iter().for_each(|e| self.ended(e));
        if !in_time {
            warn!(connector = %self.name(), task = id, "the task did not stop within task.shutdown.graceful.timeout.ms; its uncommitted offsets are left for the next start");
        }
        status.set(State::Unassigned, None);
        if let Err(e) = self.runner.start_task(id, config, status.clone()) {
            error!(connector = %self.name(), task = id, error = %e, "the task cannot start again");
            status.set(State::Failed, Some(e.to_string()));
        }
    }

    /// Stops the current tasks gracefully (each drains and commits), within the budget.
    async fn stop_generation(&mut self, then: State) {
        if !std::mem::take(&mut self.active) {
            return;
        }
        let (ended, in_time) = self.runner.stop_tasks(None).await;
        ended.iter().for_each(|e| self.ended(e));
        if !in_time {
            warn!(connector = %self.name(), "tasks did not stop within task.shutdown.graceful.timeout.ms; their uncommitted offsets are left for the next start");
        }
        for t in self.status().tasks.read().unwrap().iter() {
            if t.state().0 == State::Running {
                t.set(if then == State::Running { State::Unassigned } else { then }, None);
            }
        }
        self.status().set_state(then);
    }

    async fn restart(&mut self) {
        if !self.runner.is_started() {
            if let Err(e) = self.runner.start().await {
                error!(connector = %self.name(), error = %e.chain(), "connector failed to start again");
                self.status().fail(e.chain());
                return;
            }
        }
        if let Err(e) = self.start_generation() {
            error!(connector = %self.name(), error = %e, "connector cannot start its tasks");
            self.status().fail(e.to_string());
        }
    }

    /// Restarts the connector instance (stop, start) and leaves its tasks running unless the
    /// task configs it now gives differ; a connector that had no tasks (it failed, or never
    /// started) starts them. A paused or stopped connector stays so.
    async fn restart_connector(&mut self) {
        let before = self.status().state();
        if let Err(e) = self.runner.start().await {
            error!(connector = %self.name(), error = %e.chain(), "connector failed to start again");
            self.status().fail(e.chain());
            return;
        }
        if !self.active {
            match before {
                State::Paused | State::Stopped => self.status().set_state(before),
                _ => self.restart().await,
            }
            return;
        }
        let same = match self.runner.task_configs() {
            Ok(configs) => {
                let running: Vec<_> = self.runner.tasks().map(|(_, c, _)| c.clone()).collect();
                configs == running
            }
            Err(_) => false,
        };
        if same {
            self.status().set_state(State::Running);
            info!(connector = %self.name(), "connector restarted; its tasks run on");
        } else {
            info!(connector = %self.name(), "connector restarted with new task configs: restarting its tasks");
            self.stop_generation(State::Running).await;
            self.restart().await;
        }
    }

    /// Stops the tasks and then the connector instance; returns its name.
    async fn end(mut self) -> String {
        self.stop_generation(State::Unassigned).await;
        self.runner.stop().await;
        self.name().to_owned()
    }

    async fn command(&mut self, c: Command) {
        info!(connector = %self.name(), command = ?c, "connector command");
        match c {
            Command::Restart | Command::Reconfigure => {
                self.stop_generation(State::Running).await;
                self.restart().await;
            }
            Command::Pause => self.stop_generation(State::Paused).await,
            Command::Stop => self.stop_generation(State::Stopped).await,
            Command::Resume if !self.active => self.restart().await,
            Command::Resume => {}
            Command::RestartTask(id) => self.restart_task(id).await,
            Command::RestartConnector => self.restart_connector().await,
            Command::Delete => unreachable!("handled by run"),
        }
    }

    /// Runs until the worker shuts down or the connector is deleted; returns its name.
    pub async fn run(mut self) -> String {
        loop {
            tokio::select! {
                _ = wait_shutdown(&mut self.worker_shutdown) => return self.end().await,
                command = self.commands.recv() => match command {
                    None => {}
                    Some(Command::Delete) => return self.end().await,
                    Some(c) => self.command(c).await,
                },
                ended = self.runner.next_ended() => self.ended(&ended),
            }
        }
    }
}

/// Resolves once the worker shuts down (or is gone).
async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

//! One rebalance of the worker's loop (distributed-mode.md §6, §8): join with this worker's
//! metadata, assign as leader, sync, and apply the assignment (revoked work stopped first, then
//! the assigned work started); and what the leader does after it (the session key, the
//! statuses of deleted connectors). Also the restart requests each worker applies to its part.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use runtime::herder::RestartRequest;
use runtime::worker::State;
use tracing::{info, warn};

use super::DistributedWorker;
use crate::assignor::{assignment_offset, eager, mismatch, Leader, Member};
use crate::config_log::RestartFlags;
use crate::membership::{GroupError, Joined};
use crate::protocol::{Assignment, ConnectProtocol, Work, WorkerMetadata, CONFIG_MISMATCH};
use crate::signature;
use crate::status_log::StatusKey;
use crate::stores::WRITE_TIMEOUT;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl DistributedWorker {
    /// Joins, syncs and applies the assignment; `need_join` stays set when the generation
    /// moved on meanwhile.
    pub(super) async fn rebalance(&mut self) -> Result<(), GroupError> {
        self.shared.group.write().unwrap().rebalancing = true;
        if let Err(e) = self.shared.config.refresh(self.settings.sync_timeout).await {
            warn!(error = %e, "cannot read the config topic to its end before joining");
        }
        let eager_now = self.shared.group.read().unwrap().protocol == Some(ConnectProtocol::Eager);
        if eager_now && !self.assignment.is_empty() {
            // eager: every member stops everything before it joins
            let all = std::mem::take(&mut self.assignment);
            self.local.revoke(&all).await;
        }
        let snapshot = self.shared.config.snapshot();
        let allocation = self.has_assignment.then(|| self.assignment.clone());
        let protocols: Vec<(ConnectProtocol, Vec<u8>)> = self
            .settings
            .protocol
            .offered()
            .iter()
            .map(|p| {
                let metadata = WorkerMetadata {
                    protocol: *p,
                    url: self.shared.url.clone(),
                    config_offset: snapshot.offset(),
                    allocation: allocation.clone(),
                };
                (*p, metadata.encode())
            })
            .collect();
        let joined = self.member.join(&protocols).await?;
        let assignments = match joined.is_leader() {
            true => self.assign(&joined).await,
            false => Vec::new(),
        };
        let Some(bytes) = self.member.sync(&joined, assignments).await? else {
            info!(generation = joined.generation, "the generation moved on during the sync: joining again");
            return Ok(());
        };
        match Assignment::decode(&bytes) {
            Ok(assignment) => self.apply(&joined, assignment).await,
            Err(e) => warn!(error = %e, "the leader's assignment does not read; joining again"),
        }
        Ok(())
    }

    /// The leader's assignments for every member, encoded.
    async fn assign(&mut self, joined: &Joined) -> Vec<(String, Vec<u8>)> {
        if let Err(e) = self.shared.config.refresh(self.settings.sync_timeout).await {
            warn!(error = %e, "the leader cannot read the config topic to its end");
        }
        let snapshot = self.shared.config.snapshot();
        let members: Vec<Member> = joined
            .members
            .iter()
            .filter_map(|(id, bytes)| match WorkerMetadata::decode(joined.protocol, bytes) {
                Ok(m) => Some(Member {
                    id: id.clone(),
                    url: m.url,
                    config_offset: m.config_offset,
                    allocation: m.allocation.unwrap_or_default(),
                }),
                Err(e) => {
                    warn!(member = %id, error = %e, "a member's metadata does not read; it gets nothing");
                    None
                }
            })
            .collect();
        let configured = snapshot.configured();
        let leader = Leader {
            id: &joined.member_id,
            url: &self.shared.url,
            protocol: joined.protocol,
            configured: &configured,
            config_offset: snapshot.offset(),
        };
        let answers: BTreeMap<String, Assignment> = match assignment_offset(snapshot.offset(), &members) {
            Err(max) => {
                warn!(
                    leader_offset = snapshot.offset(),
                    max, "a member read further in the config topic: everyone reads on and rejoins"
                );
                mismatch(&leader, &members, max)
            }
            Ok(_) if !joined.protocol.is_incremental() => eager(&leader, &members),
            Ok(_) => {
                let round = self.assignor.assign(&leader, &members, joined.generation, self.last_completed, now_ms());
                round.assignments
            }
        };
        let mut owners = BTreeMap::new();
        for m in &members {
            let Some(a) = answers.get(&m.id) else { continue };
            let mut runs = match joined.protocol.is_incremental() {
                true => m.allocation.clone(),
                false => Work::default(),
            };
            runs.remove(&a.revoked);
            runs.add(&a.assigned);
            owners.insert(m.url.clone(), runs);
        }
        info!(
            generation = joined.generation,
            members = members.len(),
            connectors = configured.connectors.len(),
            tasks = configured.tasks.len(),
            "assigned the group's work as leader"
        );
        self.shared.group.write().unwrap().owners = owners;
        answers.into_iter().map(|(id, a)| (id, a.encode())).collect()
    }

    /// Applies this worker's assignment: revoked work stops, assigned work starts.
    async fn apply(&mut self, joined: &Joined, assignment: Assignment) {
        if assignment.error == CONFIG_MISMATCH {
            info!(
                config_offset = assignment.config_offset,
                "the leader's config differs from ours: reading on and rejoining"
            );
            let _ = self.shared.config.refresh(self.settings.sync_timeout).await;
            return;
        }
        self.generation.store(joined.generation, Ordering::Relaxed);
        self.catch_up(assignment.config_offset).await;
        if joined.protocol.is_incremental() {
            self.local.revoke(&assignment.revoked).await;
            if !assignment.revoked.is_empty() {
                self.shared.status_writer.flush(Duration::from_secs(5)).await;
            }
            self.assignment.remove(&assignment.revoked);
            self.assignment.add(&assignment.assigned);
        } else {
            let revoked = self.assignment.minus(&assignment.assigned);
            self.local.revoke(&revoked).await;
            self.assignment = assignment.assigned.clone();
        }
        self.has_assignment = true;
        // a revocation is followed by a second round that hands the work out
        self.need_join = joined.protocol.is_incremental() && !assignment.revoked.is_empty();
        self.rejoin_at = match assignment.delay_ms {
            d if d > 0 => Some(Instant::now() + Duration::from_millis(d as u64)),
            _ => None,
        };
        {
            let mut group = self.shared.group.write().unwrap();
            group.leader_url = Some(assignment.leader_url.clone());
            group.is_leader = joined.is_leader();
            group.protocol = Some(joined.protocol);
            group.generation = Some(joined.generation);
            group.rebalancing = false;
            if !joined.is_leader() {
                group.owners.clear();
            }
        }
        self.last_completed = Some(joined.generation);
        info!(
            generation = joined.generation,
            leader = joined.is_leader(),
            protocol = joined.protocol.name(),
            connectors = ?self.assignment.connectors,
            tasks = ?self.assignment.tasks,
            delay_ms = assignment.delay_ms,
            "assignment applied"
        );
        let snapshot = self.shared.config.snapshot();
        self.configured = snapshot.configured();
        let started = self.local.reconcile(&self.assignment, &snapshot).await;
        for name in started {
            self.publish_task_configs(&name).await;
        }
        if joined.is_leader() {
            self.leader_duties(joined.protocol).await;
        }
    }

    /// Reads the config topic up to `offset` (the leader's view) within `worker.sync.timeout.ms`.
    async fn catch_up(&self, offset: i64) {
        let deadline = Instant::now() + self.settings.sync_timeout;
        while self.shared.config.snapshot().offset() < offset && Instant::now() < deadline {
            let _ = self.shared.config.refresh(WRITE_TIMEOUT.min(self.settings.sync_timeout)).await;
            if self.shared.config.snapshot().offset() < offset {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// The leader's duties after an assignment: a fresh session key under the sessioned
    /// protocol, and tombstones for the statuses of connectors and tasks that are gone.
    async fn leader_duties(&mut self, protocol: ConnectProtocol) {
        let snapshot = self.shared.config.snapshot();
        if protocol.version() >= 2
            && signature::needs_new_key(snapshot.session_key(), now_ms(), self.settings.key_ttl.as_millis() as i64)
        {
            match signature::new_key(now_ms()) {
                Ok(key) => match self.shared.config.put_session_key(&key).await {
                    Ok(()) => info!("session key written"),
                    Err(e) => warn!(error = %e, "cannot write the session key"),
                },
                Err(e) => warn!(error = %e, "cannot draw a session key"),
            }
        }
        let cache = self.shared.status.snapshot();
        for name in cache.connectors() {
            let configured = snapshot.tasks(&name);
            if snapshot.connector_config(&name).is_none() {
                self.shared.status_writer.destroy(StatusKey::Connector(name.clone()));
            }
            for (task, _) in cache.tasks(&name) {
                if !configured.contains(&task) {
                    self.shared.status_writer.destroy(StatusKey::Task(name.clone(), task));
                }
            }
        }
    }

    /// A restart request read from the config topic: this worker restarts its own part of what
    /// it selects (Kafka's plan).
    pub(super) async fn restart_requested(&mut self, name: &str, flags: RestartFlags) {
        let request = RestartRequest { include_tasks: flags.include_tasks, only_failed: flags.only_failed };
        let owns = self.assignment.connectors.contains(name);
        let Some(local) = self.local.connectors.get_mut(name) else { return };
        let mut restart_instance = false;
        if owns && request.restarts_connector(local.runner.status().state()) {
            local.runner.status().set_state(State::Restarting);
            restart_instance = true;
        }
        let selected: Vec<usize> = local
            .runner
            .tasks()
            .filter(|(_, _, status)| request.restarts_task(status.state().0))
            .map(|(id, _, _)| id)
            .collect();
        for id in selected {
            if let Some((config, status)) = local.runner.task(id) {
                status.set(State::Restarting, None);
                local.runner.stop_tasks(Some(&[id])).await;
                if let Err(e) = local.runner.start_task(id, config, status.clone()) {
                    status.set(State::Failed, Some(e.to_string()));
                }
            }
        }
        if restart_instance {
            match local.runner.start().await {
                Ok(()) => local.runner.status().set_state(State::Running),
                Err(e) => local.runner.status().fail(e.chain()),
            }
            self.publish_task_configs(name).await;
        }
    }
}

//! Membership of the Connect worker group over the Kafka protocol (distributed-mode.md §6.1,
//! §11): FindCoordinator, then JoinGroup with protocol type `connect` and Connect's metadata,
//! SyncGroup, Heartbeat and LeaveGroup, with Kafka's answers to each error. librdkafka's consumer
//! joins groups only as protocol type `consumer`, hence this small client.
//!
//! The member is driven by its owner (the distributed herder's loop): `join`, then `sync` with
//! the leader's assignments, then `heartbeat` every `heartbeat.interval.ms` until it answers
//! [`Heartbeat::Rejoin`]. No heartbeat is sent while a JoinGroup is outstanding, as in Java.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{GroupId, HeartbeatRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::ResponseError;
use tracing::{debug, info};

use crate::protocol::ConnectProtocol;
use crate::wire::{Connection, WireError};

/// The group keys of a worker config.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// `bootstrap.servers`, as `host:port` each.
    pub bootstrap: Vec<String>,
    /// `group.id`.
    pub group_id: String,
    /// `connect-<host:port>` unless `client.id` says otherwise.
    pub client_id: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// The worker's TLS settings when `security.protocol` is SSL.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The worker's SASL settings when `security.protocol` is SASL_*.
    pub sasl: Option<crate::sasl::Sasl>,
}

/// A completed JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub generation: i32,
    pub member_id: String,
    pub leader_id: String,
    /// The protocol the group selected (`sessioned`, `compatible` or `default`).
    pub protocol: ConnectProtocol,
    /// The leader only: every member's id and metadata.
    pub members: Vec<(String, Bytes)>,
}

impl Joined {
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// A heartbeat's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Ok,
    /// A rebalance started, or this member is no longer in the generation: join again.
    Rejoin,
}

/// Why the group could not be joined or kept.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("no broker of bootstrap.servers ({0}) answered")]
    NoBroker(String),
    #[error("the group coordinator refused {api} for group.id={group}: {error}")]
    Refused { api: &'static str, group: String, error: ResponseError },
    #[error("group.id={group} cannot be joined as a Kafka Connect worker: {error}{hint}")]
    Fatal { group: String, error: ResponseError, hint: &'static str },
    #[error("the group selected protocol {0:?}, which is not one of Kafka Connect's")]
    UnknownProtocol(String),
}

impl GroupError {
    /// Whether trying again later may succeed (a broker restarting, a coordinator moving).
    pub fn is_retriable(&self) -> bool {
        match self {
            GroupError::Wire(e) => e.is_retriable(),
            GroupError::NoBroker(_) | GroupError::Refused { .. } => true,
            GroupError::Fatal { .. } | GroupError::UnknownProtocol(_) => false,
        }
    }
}

const JOIN_GROUP_TIMEOUT_LAPSE: Duration = Duration::from_secs(5);
const MAX_JOIN_ATTEMPTS: usize = 20;

/// One worker's membership of the Connect group.
pub struct GroupMember {
    settings: GroupSettings,
    coordinator: Option<Connection>,
    member_id: String,
    generation: i32,
    protocol: Option<ConnectProtocol>,
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

impl GroupMember {
    pub fn new(settings: GroupSettings) -> GroupMember {
        GroupMember { settings, coordinator: None, member_id: String::new(), generation: -1, protocol: None }
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    fn group(&self) -> GroupId {
        GroupId(text(&self.settings.group_id))
    }

    /// The coordinator's connection, found through any bootstrap broker when there is none.
    async fn coordinator(&mut self) -> Result<&mut Connection, GroupError> {
        if self.coordinator.is_none() {
            let conn = self.find_coordinator().await?;
            info!(coordinator = conn.addr(), group = %self.settings.group_id, "group coordinator found");
            self.coordinator = Some(conn);
        }
        Ok(self.coordinator.as_mut().expect("set above"))
    }

    async fn find_coordinator(&self) -> Result<Connection, GroupError> {
        let s = &self.settings;
        let mut last = None;
        for addr in &s.bootstrap {
            let mut conn =
                match Connection::open(addr, &s.client_id, s.request_timeout, s.tls.as_ref(), s.sasl.as_ref()).await {
                    Ok(c) => c,
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                };
            let version = conn.version::<FindCoordinatorRequest>()?;
            let mut request = FindCoordinatorRequest::default().with_key_type(0);
            if version >= 4 {
                request = request.with_coordinator_keys(vec![text(&s.group_id)]);
            } else {
                request = request.with_key(text(&s.group_id));
            }
            let (answer, _) = match conn.call(&request, s.request_timeout).await {
                Ok(a) => a,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let (code, host, port) = match answer.coordinators.first() {
                Some(c) if version >= 4 => (c.error_code, c.host.to_string(), c.port),
                _ => (answer.error_code, answer.host.to_string(), answer.port),
            };
            if let Some(error) = ResponseError::try_from_code(code) {
                return Err(GroupError::Refused { api: "FindCoordinator", group: s.group_id.clone(), error });
            }
            let target = format!("{host}:{port}");
            if target == conn.addr() {
                return Ok(conn);
            }
            return Ok(
                Connection::open(&target, &s.client_id, s.request_timeout, s.tls.as_ref(), s.sasl.as_ref()).await?
            );
        }
        match last {
            Some(e) => Err(e.into()),
            None => Err(GroupError::NoBroker(s.bootstrap.join(","))),
        }
    }

    /// Forgets the coordinator (it moved or its connection broke); the next call finds it again.
    fn lose_coordinator(&mut self) {
        self.coordinator = None;
    }

    /// Sends `request` to the coordinator; a broken connection is dropped so the next call
    /// finds the coordinator again.
    async fn request<R: Request>(&mut self, request: &R, timeout: Duration) -> Result<R::Response, GroupError> {
        let conn = self.coordinator().await?;
        match conn.call(request, timeout).await {
            Ok((answer, _)) => Ok(answer),
            Err(e) => {
                self.lose_coordinator();
                Err(e.into())
            }
        }
    }

    /// Joins the group offering `protocols` (name order = preference) with their metadata;
    /// answers when the coordinator has formed the generation.
    pub async fn join(&mut self, protocols: &[(ConnectProtocol, Vec<u8>)]) -> Result<Joined, GroupError> {
        let timeout = self.settings.rebalance_timeout + JOIN_GROUP_TIMEOUT_LAPSE;
        let offered: Vec<JoinGroupRequestProtocol> = protocols
            .iter()
            .map(|(p, metadata)| {
                JoinGroupRequestProtocol::default()
                    .with_name(text(p.name()))
                    .with_metadata(Bytes::from(metadata.clone()))
            })
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = JoinGroupRequest::default()
                .with_group_id(self.group())
                .with_session_timeout_ms(self.settings.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(self.settings.rebalance_timeout.as_millis() as i32)
                .with_member_id(text(&self.member_id))
                .with_protocol_type(text(ConnectProtocol::PROTOCOL_TYPE))
                .with_protocols(offered.clone());
            debug!(attempt, member = %self.member_id, "JoinGroup sent");
            let answer = self.request(&request, timeout).await?;
            let error = ResponseError::try_from_code(answer.error_code);
            debug!(attempt, error = ?error, generation = answer.generation_id, "JoinGroup answered");
            match error {
                None => {
                    let name = answer.protocol_name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                    let protocol = ConnectProtocol::from_name(&name).ok_or(GroupError::UnknownProtocol(name))?;
                    self.member_id = answer.member_id.to_string();
                    self.generation = answer.generation_id;
                    self.protocol = Some(protocol);
                    return Ok(Joined {
                        generation: answer.generation_id,
                        member_id: self.member_id.clone(),
                        leader_id: answer.leader.to_string(),
                        protocol,
                        members: answer.members.iter().map(|m| (m.member_id.to_string(), m.metadata.clone())).collect(),
                    });
                }
                Some(ResponseError::MemberIdRequired) => self.member_id = answer.member_id.to_string(),
                Some(ResponseError::UnknownMemberId) => self.member_id.clear(),
                Some(
                    ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    | ResponseError::CoordinatorLoadInProgress,
                ) => {
                    self.lose_coordinator();
                    tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
                }
                Some(ResponseError::RebalanceInProgress) => {}
                Some(error) => return Err(self.refusal("JoinGroup", error)),
            }
            if attempt >= MAX_JOIN_ATTEMPTS {
                let error = error.unwrap_or(ResponseError::Unknown(-1));
                return Err(GroupError::Refused { api: "JoinGroup", group: self.settings.group_id.clone(), error });
            }
        }
    }

    fn refusal(&self, api: &'static str, error: ResponseError) -> GroupError {
        let group = self.settings.group_id.clone();
        let hint = match error {
            ResponseError::InconsistentGroupProtocol => {
                ": another kind of client (a consumer group?) uses this group.id; give the Connect cluster its own group.id"
            }
            ResponseError::InvalidSessionTimeout => {
                ": session.timeout.ms is outside the broker's group.min/max.session.timeout.ms"
            }
            ResponseError::GroupAuthorizationFailed => ": the worker's principal may not use this group",
            _ => "",
        };
        match error {
            ResponseError::InconsistentGroupProtocol
            | ResponseError::InvalidGroupId
            | ResponseError::InvalidSessionTimeout
            | ResponseError::GroupAuthorizationFailed
            | ResponseError::GroupMaxSizeReached => GroupError::Fatal { group, error, hint },
            error => GroupError::Refused { api, group, error },
        }
    }

    /// Sends the leader's `assignments` (followers send none) and answers this member's
    /// assignment bytes, or `None` when the generation moved on and it must join again.
    pub async fn sync(
        &mut self,
        joined: &Joined,
        assignments: Vec<(String, Vec<u8>)>,
    ) -> Result<Option<Bytes>, GroupError> {
        let request = SyncGroupRequest::default()
            .with_group_id(self.group())
            .with_generation_id(joined.generation)
            .with_member_id(text(&joined.member_id))
            .with_protocol_type(Some(text(ConnectProtocol::PROTOCOL_TYPE)))
            .with_protocol_name(Some(text(joined.protocol.name())))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(member, bytes)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(text(&member))
                            .with_assignment(Bytes::from(bytes))
                    })
                    .collect(),
            );
        let timeout = self.settings.request_timeout.max(self.settings.rebalance_timeout);
        let answer = self.request(&request, timeout).await?;
        let error = ResponseError::try_from_code(answer.error_code);
        debug!(error = ?error, generation = joined.generation, "SyncGroup answered");
        match error {
            None => Ok(Some(answer.assignment)),
            Some(ResponseError::RebalanceInProgress | ResponseError::IllegalGeneration) => Ok(None),
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                Ok(None)
            }
            Some(ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable) => {
                self.lose_coordinator();
                Ok(None)
            }
            Some(error) => Err(self.refusal("SyncGroup", error)),
        }
    }

    /// One heartbeat in the current generation.
    pub async fn heartbeat(&mut self) -> Result<Heartbeat, GroupError> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group())
            .with_generation_id(self.generation)
            .with_member_id(text(&self.member_id));
        let timeout = self.settings.request_timeout;
        let answer = self.request(&request, timeout).await?;
        match ResponseError::try_from_code(answer.error_code) {
            None => Ok(Heartbeat::Ok),
            Some(ResponseError::RebalanceInProgress | ResponseError::IllegalGeneration) => Ok(Heartbeat::Rejoin),
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                Ok(Heartbeat::Rejoin)
            }
            Some(ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable) => {
                self.lose_coordinator();
                Ok(Heartbeat::Rejoin)
            }
            Some(error) => Err(self.refusal("Heartbeat", error)),
        }
    }

    /// Leaves the group (at shutdown), so the others rebalance at once rather than after the
    /// session timeout.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let member = text(&self.member_id);
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group())
            .with_member_id(member.clone())
            .with_members(vec![MemberIdentity::default().with_member_id(member)]);
        let timeout = self.settings.request_timeout;
        let version = self.coordinator().await?.version::<LeaveGroupRequest>()?;
        // versions 0-2 carry member_id, 3+ the members array; the other field must stay default
        let request =
            if version >= 3 { request.with_member_id(StrBytes::default()) } else { request.with_members(vec![]) };
        self.request(&request, timeout).await?;
        self.member_id.clear();
        self.generation = -1;
        Ok(())
    }
}

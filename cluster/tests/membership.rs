//! The Connect group protocol against the real broker of `scripts/services` (Tansu on
//! 127.0.0.1:9092, or `KAFKA_BOOTSTRAP`): two workers join one group with protocol type
//! `connect`, the leader assigns with the incremental cooperative assignor, both read their
//! assignments, and a leave makes the other rejoin into a new generation that has it alone.

use std::time::Duration;

use cluster::assignor::{IncrementalAssignor, Leader, Member};
use cluster::membership::{GroupMember, GroupSettings, Heartbeat, Joined};
use cluster::protocol::{Assignment, ConnectProtocol, Work, WorkerMetadata};

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn require_kafka() {
    let addr = bootstrap();
    let up = addr
        .split(',')
        .any(|a| std::net::TcpStream::connect_timeout(&a.parse().unwrap(), Duration::from_secs(2)).is_ok());
    assert!(up, "no Kafka broker at {addr}: run `scripts/services up` (or set KAFKA_BOOTSTRAP)");
}

fn settings(group: &str, worker: &str) -> GroupSettings {
    GroupSettings {
        bootstrap: bootstrap().split(',').map(str::to_owned).collect(),
        group_id: group.into(),
        client_id: format!("connect-{worker}"),
        session_timeout: Duration::from_secs(6),
        rebalance_timeout: Duration::from_secs(10),
        heartbeat_interval: Duration::from_secs(1),
        request_timeout: Duration::from_secs(20),
        tls: None,
        sasl: None,
    }
}

fn metadata(url: &str, allocation: Option<Work>) -> Vec<(ConnectProtocol, Vec<u8>)> {
    ConnectProtocol::Sessioned
        .offered()
        .iter()
        .map(|p| {
            let allocation = if p.is_incremental() { allocation.clone() } else { None };
            (*p, WorkerMetadata { protocol: *p, url: url.into(), config_offset: 4, allocation }.encode())
        })
        .collect()
}

fn configured() -> Work {
    Work {
        connectors: ["jdbc".to_string(), "s3".to_string()].into(),
        tasks: (0..4).map(|t| ("jdbc".to_string(), t)).chain([("s3".to_string(), 0)]).collect(),
    }
}

/// The leader's SyncGroup payload for `joined`.
fn assign(joined: &Joined, assignor: &mut IncrementalAssignor, work: &Work, now: i64) -> Vec<(String, Vec<u8>)> {
    if !joined.is_leader() {
        return Vec::new();
    }
    let members: Vec<Member> = joined
        .members
        .iter()
        .map(|(id, bytes)| {
            let m = WorkerMetadata::decode(joined.protocol, bytes).expect("Connect metadata");
            Member {
                id: id.clone(),
                url: m.url,
                config_offset: m.config_offset,
                allocation: m.allocation.unwrap_or_default(),
            }
        })
        .collect();
    let leader = Leader {
        id: &joined.member_id,
        url: "http://leader/",
        protocol: joined.protocol,
        configured: work,
        config_offset: 4,
    };
    let round = assignor.assign(&leader, &members, joined.generation, None, now);
    round.assignments.into_iter().map(|(id, a)| (id, a.encode())).collect()
}

async fn join_and_sync(member: &mut GroupMember, url: &str, work: &Work) -> (Joined, Assignment) {
    let joined = member.join(&metadata(url, None)).await.expect("JoinGroup");
    let mut assignor = IncrementalAssignor::new(0);
    let payload = assign(&joined, &mut assignor, work, 0);
    let bytes = member.sync(&joined, payload).await.expect("SyncGroup").expect("an assignment in this generation");
    (joined, Assignment::decode(&bytes).expect("Connect assignment"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_join_get_assignments_and_a_leave_rebalances() {
    require_kafka();
    let group = format!(
        "sluice-test-connect-{}",
        std::process::id() ^ (std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos() as u32)
    );
    let work = configured();
    let mut a = GroupMember::new(settings(&group, "a:8083"));
    let mut b = GroupMember::new(settings(&group, "b:8083"));
    let ((ja, aa), (jb, ab)) =
        tokio::join!(join_and_sync(&mut a, "http://a:8083/", &work), join_and_sync(&mut b, "http://b:8083/", &work));

    assert_eq!(ja.generation, jb.generation, "one generation");
    assert_eq!(ja.protocol, ConnectProtocol::Sessioned, "both offered sessioned first");
    assert_eq!(ja.leader_id, jb.leader_id);
    let leader = if ja.is_leader() { &ja } else { &jb };
    assert_eq!(leader.members.len(), 2, "the leader sees both members' metadata");
    let mut all = Work::default();
    for assignment in [&aa, &ab] {
        assert_eq!(assignment.version, 2);
        assert_eq!(assignment.leader, leader.member_id);
        assert_eq!(assignment.config_offset, 4);
        all.add(&assignment.assigned);
    }
    assert_eq!(all, work, "every connector and task assigned");
    assert_eq!(aa.assigned.len() + ab.assigned.len(), work.len(), "each once");
    assert!(aa.assigned.len().abs_diff(ab.assigned.len()) <= 1, "balanced");

    assert_eq!(a.heartbeat().await.expect("heartbeat"), Heartbeat::Ok);
    b.leave().await.expect("LeaveGroup");
    let mut rejoin = false;
    for _ in 0..20 {
        if a.heartbeat().await.expect("heartbeat") == Heartbeat::Rejoin {
            rejoin = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(rejoin, "a leave makes the other member rejoin");
    let joined = a.join(&metadata("http://a:8083/", Some(aa.assigned.clone()))).await.expect("JoinGroup again");
    assert!(joined.generation > ja.generation, "a new generation");
    assert!(joined.is_leader());
    assert_eq!(joined.members.len(), 1);
    let current = WorkerMetadata::decode(joined.protocol, &joined.members[0].1).unwrap();
    assert_eq!(current.allocation, Some(aa.assigned.clone()), "the allocation travels in the metadata");
    a.leave().await.expect("LeaveGroup");
}

/// The group client over TLS (the services' TLS listener, its private CA): join, sync, heartbeat
/// and leave as over plaintext; and a CA that did not sign the broker's certificate is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_joins_over_tls_and_an_unknown_ca_is_refused() {
    use rustls_pki_types::pem::PemObject;
    let dir = std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into());
    let ca = |name: &str| {
        let path = format!("{dir}/{name}");
        let certs: Vec<_> = runtime::tls::CertificateDer::pem_file_iter(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run scripts/services up"))
            .map(Result::unwrap)
            .collect();
        runtime::tls::ClientTls { roots: Some(certs), identity: None, verify_host: true }.rustls().unwrap()
    };
    let tls_settings = |group: &str, tls| GroupSettings {
        bootstrap: vec!["127.0.0.1:9093".into()],
        tls: Some(tls),
        ..settings(group, "t:8083")
    };
    let group = format!("sluice-test-tls-{}", std::process::id());
    let mut member = GroupMember::new(tls_settings(&group, ca("ca.pem")));
    let work = configured();
    let (joined, assignment) = join_and_sync(&mut member, "http://t:8083/", &work).await;
    assert!(joined.is_leader());
    assert_eq!(assignment.assigned, work, "the only member gets everything");
    assert_eq!(member.heartbeat().await.expect("heartbeat over TLS"), Heartbeat::Ok);
    member.leave().await.expect("LeaveGroup");

    let mut stranger = GroupMember::new(tls_settings(&format!("{group}-x"), ca("other-ca.pem")));
    let err = stranger.join(&metadata("http://t:8083/", None)).await.expect_err("an unknown CA");
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:9093"), "{text}");
}

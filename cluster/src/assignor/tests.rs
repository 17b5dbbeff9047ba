use proptest::prelude::*;

use super::*;

fn configured(tasks_per_connector: &[usize]) -> Work {
    let mut w = Work::default();
    for (i, n) in tasks_per_connector.iter().enumerate() {
        let c = format!("c{i}");
        w.connectors.insert(c.clone());
        (0..*n as i32).for_each(|t| {
            w.tasks.insert((c.clone(), t));
        });
    }
    w
}

/// Members that adopt what the leader answers, as `WorkerCoordinator` does.
struct Cluster {
    running: BTreeMap<String, Work>,
    assignor: IncrementalAssignor,
    configured: Work,
    generation: i32,
    last: Option<i32>,
}

impl Cluster {
    fn new(members: usize, max_delay_ms: i64, configured: Work) -> Cluster {
        Cluster {
            running: (0..members).map(|i| (format!("m{i}"), Work::default())).collect(),
            assignor: IncrementalAssignor::new(max_delay_ms),
            configured,
            generation: 0,
            last: None,
        }
    }

    fn round(&mut self, now: i64) -> Round {
        let members: Vec<Member> = self
            .running
            .iter()
            .map(|(id, w)| Member {
                id: id.clone(),
                url: format!("http://{id}/"),
                config_offset: 3,
                allocation: w.clone(),
            })
            .collect();
        let leader_id = members.first().map(|m| m.id.clone()).unwrap_or_default();
        let leader = Leader {
            id: &leader_id,
            url: "http://leader/",
            protocol: ConnectProtocol::Sessioned,
            configured: &self.configured,
            config_offset: 3,
        };
        self.generation += 1;
        let round = self.assignor.assign(&leader, &members, self.generation, self.last, now);
        self.last = Some(self.generation);
        for (id, a) in &round.assignments {
            let w = self.running.get_mut(id).unwrap();
            assert!(a.revoked.minus(w).is_empty(), "{id} was asked to revoke what it does not run");
            assert!(a.assigned.intersect(w).is_empty(), "{id} was given what it already runs");
            w.remove(&a.revoked);
            w.add(&a.assigned);
        }
        round
    }

    /// Rounds until one revokes nothing and asks for no delay (a revocation makes members
    /// rejoin at once, as Java's do).
    fn settle(&mut self, now: i64) -> usize {
        for n in 1..=10 {
            let r = self.round(now);
            if r.delay_ms == 0 && r.assignments.values().all(|a| a.revoked.is_empty()) {
                return n;
            }
        }
        panic!("no stable assignment after 10 rounds: {:?}", self.running);
    }

    fn assert_exact_and_balanced(&self) {
        let mut all = Work::default();
        let mut count = 0;
        for w in self.running.values() {
            count += w.len();
            all.add(w);
        }
        assert_eq!(all, self.configured, "every configured item runs, nothing else");
        assert_eq!(count, self.configured.len(), "each item runs once: {:?}", self.running);
        let spread = |f: fn(&Work) -> usize| {
            let loads: Vec<usize> = self.running.values().map(f).collect();
            loads.iter().max().unwrap() - loads.iter().min().unwrap()
        };
        assert!(spread(|w| w.connectors.len()) <= 1, "connectors unbalanced: {:?}", self.running);
        assert!(spread(|w| w.tasks.len()) <= 1, "tasks unbalanced: {:?}", self.running);
    }
}

#[test]
fn a_new_cluster_spreads_every_connector_and_task() {
    let mut cluster = Cluster::new(3, 300_000, configured(&[4, 1, 0, 2]));
    assert_eq!(cluster.settle(0), 1, "nothing to revoke in an empty cluster");
    cluster.assert_exact_and_balanced();
    let again = cluster.round(1);
    assert!(again.assignments.values().all(|a| a.assigned.is_empty() && a.revoked.is_empty()), "stable");
}

#[test]
fn lost_work_waits_for_the_delay_then_spreads() {
    let mut cluster = Cluster::new(3, 10_000, configured(&[3, 3]));
    cluster.settle(0);
    let gone = cluster.running.remove("m2").unwrap();
    assert!(!gone.is_empty());
    let held = cluster.round(1_000);
    assert_eq!(held.delay_ms, 10_000, "the full delay when none was scheduled");
    assert!(held.assignments.values().all(|a| a.assigned.is_empty()), "lost work is held back");
    let still = cluster.round(6_000);
    assert_eq!(still.delay_ms, 5_000, "what is left of the delay");
    cluster.round(11_000);
    cluster.settle(11_000);
    cluster.assert_exact_and_balanced();
}

#[test]
fn a_worker_back_within_the_delay_gets_its_share_again() {
    let mut cluster = Cluster::new(3, 10_000, configured(&[2, 4]));
    cluster.settle(0);
    let before = cluster.running["m2"].clone();
    cluster.running.remove("m2");
    cluster.round(1_000);
    cluster.running.insert("m2".into(), Work::default());
    let waiting = cluster.round(2_000);
    assert!(waiting.delay_ms > 0 && waiting.assignments["m2"].assigned.is_empty());
    cluster.round(11_000);
    assert_eq!(cluster.running["m2"], before, "the returning worker gets the lost work back");
    cluster.settle(11_000);
    cluster.assert_exact_and_balanced();
}

#[test]
fn a_new_leader_without_memory_reassigns_at_once() {
    let mut cluster = Cluster::new(3, 300_000, configured(&[3, 3]));
    cluster.settle(0);
    cluster.running.remove("m0");
    cluster.assignor = IncrementalAssignor::new(300_000);
    cluster.last = None;
    cluster.settle(5);
    cluster.assert_exact_and_balanced();
}

#[test]
fn deleted_and_duplicated_work_is_revoked() {
    let mut cluster = Cluster::new(2, 0, configured(&[2]));
    cluster.settle(0);
    // m1 also runs c0's task 0 (a missed revocation) and a deleted connector's task
    let extra = Work { tasks: [("c0".to_string(), 0), ("gone".to_string(), 0)].into(), ..Work::default() };
    cluster.running.get_mut("m1").unwrap().add(&extra);
    let r = cluster.round(1);
    assert!(r.assignments["m1"].revoked.tasks.contains(&("gone".to_string(), 0)));
    cluster.settle(1);
    cluster.assert_exact_and_balanced();
}

#[test]
fn leader_behind_a_member_sends_config_mismatch() {
    let members = vec![
        Member { id: "a".into(), url: "u".into(), config_offset: 5, allocation: Work::default() },
        Member { id: "b".into(), url: "v".into(), config_offset: 9, allocation: Work::default() },
    ];
    assert_eq!(assignment_offset(5, &members), Err(9));
    assert_eq!(assignment_offset(9, &members), Ok(9));
    let w = Work::default();
    let leader = Leader { id: "a", url: "u", protocol: ConnectProtocol::Compatible, configured: &w, config_offset: 5 };
    let answers = mismatch(&leader, &members, 9);
    assert!(answers.values().all(|a| a.error == CONFIG_MISMATCH && a.config_offset == 9 && a.version == 1));
}

#[test]
fn eager_round_robins_connectors_then_tasks_over_sorted_members() {
    let work = configured(&[2, 1]);
    let leader = Leader { id: "b", url: "u", protocol: ConnectProtocol::Eager, configured: &work, config_offset: 0 };
    let member = |id: &str| Member { id: id.into(), url: "u".into(), config_offset: 0, allocation: Work::default() };
    let answers = eager(&leader, &[member("b"), member("a")]);
    let a = &answers["a"].assigned;
    let b = &answers["b"].assigned;
    assert_eq!(a.connectors, ["c0".to_string()].into());
    assert_eq!(b.connectors, ["c1".to_string()].into());
    assert_eq!(a.tasks, [("c0".to_string(), 0), ("c1".to_string(), 0)].into());
    assert_eq!(b.tasks, [("c0".to_string(), 1)].into());
    assert!(answers.values().all(|x| x.version == 0 && x.leader == "b"));
}

/// Tasks per connector, the member count, and what each member runs at the start.
type Start = (Vec<usize>, usize, Vec<Vec<(usize, i32)>>);

fn start() -> impl Strategy<Value = Start> {
    (proptest::collection::vec(0usize..5, 0..6), 1usize..6).prop_flat_map(|(tasks, members)| {
        let item = (0usize..7, -1i32..5);
        let allocation = proptest::collection::vec(item, 0..6);
        (Just(tasks), Just(members), proptest::collection::vec(allocation, members))
    })
}

proptest! {
    /// Any start (members running anything: stale, deleted or duplicated work), no delay:
    /// after the follow-up rounds every configured connector and task runs exactly once,
    /// balanced within one, and one more round changes nothing.
    #[test]
    fn every_item_once_balanced_and_stable((tasks, members, allocations) in start()) {
        let mut cluster = Cluster::new(members, 0, configured(&tasks));
        for (i, items) in allocations.into_iter().enumerate() {
            let w = cluster.running.get_mut(&format!("m{i}")).unwrap();
            for (c, t) in items {
                match t {
                    -1 => w.connectors.insert(format!("c{c}")),
                    t => w.tasks.insert((format!("c{c}"), t)),
                };
            }
        }
        cluster.settle(0);
        cluster.assert_exact_and_balanced();
        let again = cluster.round(1);
        prop_assert!(again.assignments.values().all(|a| a.assigned.is_empty() && a.revoked.is_empty()));
    }

    /// Workers leaving and joining, with a delay: held back work is handed out once the delay
    /// has passed, and the end is exact and balanced.
    #[test]
    fn leaving_and_joining_ends_exact_and_balanced(tasks in proptest::collection::vec(0usize..5, 1..5), leave in 0usize..3, join in 0usize..3) {
        let mut cluster = Cluster::new(3, 1_000, configured(&tasks));
        cluster.settle(0);
        for i in 0..leave {
            cluster.running.remove(&format!("m{i}"));
        }
        for i in 0..join {
            cluster.running.insert(format!("n{i}"), Work::default());
        }
        let mut now = 10;
        for _ in 0..20 {
            let r = cluster.round(now);
            if r.delay_ms == 0 && r.assignments.values().all(|a| a.revoked.is_empty()) {
                break;
            }
            now += r.delay_ms.max(1) as i64;
        }
        cluster.assert_exact_and_balanced();
    }

    #[test]
    fn eager_gives_each_item_once_balanced(tasks in proptest::collection::vec(0usize..5, 0..6), members in 1usize..6) {
        let work = configured(&tasks);
        let leader = Leader { id: "m0", url: "u", protocol: ConnectProtocol::Eager, configured: &work, config_offset: 0 };
        let ms: Vec<Member> = (0..members).map(|i| Member { id: format!("m{i}"), url: "u".into(), config_offset: 0, allocation: Work::default() }).collect();
        let answers = eager(&leader, &ms);
        let mut all = Work::default();
        let mut count = 0;
        for a in answers.values() {
            all.add(&a.assigned);
            count += a.assigned.len();
        }
        prop_assert_eq!(&all, &work);
        prop_assert_eq!(count, work.len());
        let loads: Vec<usize> = answers.values().map(|a| a.assigned.len()).collect();
        prop_assert!(loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1);
    }
}

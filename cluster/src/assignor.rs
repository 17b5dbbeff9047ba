//! The group leader's assignors (distributed-mode.md §6.4–6.6): who runs which connector and
//! task. Both are pure: they take the configured work, the members and (incremental) what each
//! member runs now, and answer every member's [`Assignment`]; the membership client sends them.
//!
//! - [`eager`]: Kafka's `EagerAssignor` (protocol `default`): every member stopped everything
//!   before joining and gets a complete list, round-robin over the sorted member ids.
//! - [`IncrementalAssignor`]: Kafka's `IncrementalCooperativeAssignor` (KIP-415, protocols
//!   `compatible` and `sessioned`): members keep running what they have; the leader revokes only
//!   what must move, holds lost work back for `scheduled.rebalance.max.delay.ms` in case its
//!   worker comes back, then spreads it. Its memory lives in the leader only; a new leader
//!   starts empty.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{Assignment, ConnectProtocol, Work, CONFIG_MISMATCH, NO_ERROR};

/// A member as the leader sees it in its JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub url: String,
    /// The next config offset the member would read.
    pub config_offset: i64,
    /// What it runs now (incremental protocols); empty under eager.
    pub allocation: Work,
}

/// The leader's identity and its view of the config topic.
#[derive(Debug, Clone)]
pub struct Leader<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub protocol: ConnectProtocol,
    /// The configured work at `config_offset`: every connector and its task ids `0..count`.
    pub configured: &'a Work,
    pub config_offset: i64,
}

/// §6.4: the offset to assign at, or `Err(max)` when the leader's config is behind a member's
/// (`max`): then every member gets [`mismatch`] and everyone reads to the end and rejoins. The
/// caller reads its config topic again (without blocking) before giving up, as Java does.
pub fn assignment_offset(leader_offset: i64, members: &[Member]) -> Result<i64, i64> {
    let max = members.iter().map(|m| m.config_offset).max().unwrap_or(leader_offset).max(leader_offset);
    if leader_offset < max {
        Err(max)
    } else {
        Ok(max)
    }
}

/// Every member's `CONFIG_MISMATCH` answer at `max_offset`.
pub fn mismatch(leader: &Leader<'_>, members: &[Member], max_offset: i64) -> BTreeMap<String, Assignment> {
    members
        .iter()
        .map(|m| {
            let a = Assignment {
                version: leader.protocol.version(),
                error: CONFIG_MISMATCH,
                leader: leader.id.into(),
                leader_url: leader.url.into(),
                config_offset: max_offset,
                ..Assignment::default()
            };
            (m.id.clone(), a)
        })
        .collect()
}

fn answer(leader: &Leader<'_>, assigned: Work, revoked: Work, delay_ms: i32) -> Assignment {
    Assignment {
        version: leader.protocol.version(),
        error: NO_ERROR,
        leader: leader.id.into(),
        leader_url: leader.url.into(),
        config_offset: leader.config_offset,
        assigned,
        revoked,
        delay_ms,
    }
}

/// §6.5: Kafka's eager assignment. One circular iterator over the sorted member ids gives out
/// the connectors (sorted), then, continuing, the tasks (by connector, then number).
pub fn eager(leader: &Leader<'_>, members: &[Member]) -> BTreeMap<String, Assignment> {
    let ids: BTreeSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut work: BTreeMap<&str, Work> = ids.iter().map(|id| (*id, Work::default())).collect();
    if !ids.is_empty() {
        let mut next = ids.iter().cycle();
        for c in &leader.configured.connectors {
            work.get_mut(next.next().unwrap()).unwrap().connectors.insert(c.clone());
        }
        for t in &leader.configured.tasks {
            work.get_mut(next.next().unwrap()).unwrap().tasks.insert(t.clone());
        }
    }
    work.into_iter().map(|(id, w)| (id.to_owned(), answer(leader, w, Work::default(), 0))).collect()
}

/// The incremental cooperative assignor's memory between rounds (leader only).
#[derive(Debug, Clone, Default)]
pub struct IncrementalAssignor {
    /// `scheduled.rebalance.max.delay.ms`.
    max_delay_ms: i64,
    /// What the last round left assigned (lost work held back included).
    previous: Work,
    previous_revocation: Work,
    previous_members: BTreeSet<String>,
    previous_generation: Option<i32>,
    /// When the held-back lost work is handed out (ms since the epoch; 0: none scheduled).
    scheduled_rebalance: i64,
    delay_ms: i64,
    /// Members that were empty while the delay ran: the returning workers.
    candidates: BTreeSet<String>,
    revoked_in_previous: bool,
    successive_revoking: u32,
}

/// One round's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub assignments: BTreeMap<String, Assignment>,
    /// The rejoin delay every member got (0: none).
    pub delay_ms: i32,
}

impl IncrementalAssignor {
    pub fn new(max_delay_ms: i64) -> IncrementalAssignor {
        IncrementalAssignor { max_delay_ms: max_delay_ms.max(0), ..IncrementalAssignor::default() }
    }

    /// One rebalance round at `now_ms`, in generation `generation`; `last_completed` is the
    /// generation of the leader's last completed rebalance (the memory is dropped when it is not
    /// the one this assignor remembers: a new leader, or a failed sync).
    pub fn assign(
        &mut self,
        leader: &Leader<'_>,
        members: &[Member],
        generation: i32,
        last_completed: Option<i32>,
        now_ms: i64,
    ) -> Round {
        if self.previous_generation != last_completed {
            self.previous = Work::default();
        }
        let configured = leader.configured;
        let mut active = Work::default();
        members.iter().for_each(|m| active.add(&m.allocation));
        if !self.previous_revocation.intersect(&active).is_empty() {
            // a revocation that did not take effect: trust what members say they run
            self.previous = active.clone();
        }
        self.previous_revocation = Work::default();

        let mut known = self.previous.clone();
        known.add(&active);
        let deleted = known.minus(configured);
        let duplicated = duplicated(members);
        let lost = self.previous.minus(&active).minus(&deleted);
        let created = configured.minus(&self.previous).minus(&active);

        // forced revocations: deleted work, and every copy of duplicated work
        let mut next: BTreeMap<String, Work> = BTreeMap::new();
        let mut revoked: BTreeMap<String, Work> = BTreeMap::new();
        for m in members {
            let mut forced = m.allocation.intersect(&deleted);
            forced.add(&m.allocation.intersect(&duplicated));
            next.insert(m.id.clone(), m.allocation.minus(&forced));
            revoked.insert(m.id.clone(), forced);
        }

        let mut to_assign = created;
        let held = self.handle_lost(&lost, &mut next, &mut to_assign, members, now_ms);

        if self.delay_ms == 0 {
            let running: BTreeMap<&str, &Work> = members.iter().map(|m| (m.id.as_str(), &m.allocation)).collect();
            let moves = self.balance(configured, &next, &running, now_ms);
            for (id, work) in moves {
                let member = next.get_mut(&id).expect("member");
                member.remove(&work);
                let old = work.intersect(running[id.as_str()]);
                to_assign.add(&work.minus(&old));
                revoked.entry(id).or_default().add(&old);
            }
        }
        spread(&to_assign, &mut next);

        let delay_ms = self.delay_ms.clamp(0, i32::MAX as i64) as i32;
        let mut assignments = BTreeMap::new();
        let mut all_revoked = Work::default();
        let mut assigned_now = Work::default();
        for m in members {
            let full = &next[&m.id];
            let r = revoked.remove(&m.id).unwrap_or_default();
            all_revoked.add(&r);
            assigned_now.add(full);
            assignments.insert(m.id.clone(), answer(leader, full.minus(&m.allocation), r, delay_ms));
        }
        self.revoked_in_previous = !all_revoked.is_empty();
        assigned_now.add(&held);
        self.previous = assigned_now;
        self.previous_revocation = all_revoked;
        self.previous_members = members.iter().map(|m| m.id.clone()).collect();
        self.previous_generation = Some(generation);
        Round { assignments, delay_ms }
    }

    fn reset_delay(&mut self) {
        self.candidates.clear();
        self.scheduled_rebalance = 0;
        self.delay_ms = 0;
    }

    /// §6.6 step 6: hands lost work out now (into `to_assign`, or straight to the returning
    /// `candidates`), or holds it back for the delay; answers what is held back.
    fn handle_lost(
        &mut self,
        lost: &Work,
        next: &mut BTreeMap<String, Work>,
        to_assign: &mut Work,
        members: &[Member],
        now: i64,
    ) -> Work {
        if lost.is_empty() && !self.revoked_in_previous {
            self.reset_delay();
            return Work::default();
        }
        let present: BTreeSet<&String> = members.iter().map(|m| &m.id).collect();
        if self.scheduled_rebalance <= 0 && self.previous_members.iter().all(|m| present.contains(m)) {
            // nobody left: members missed the last assignment; the work is new again
            to_assign.add(lost);
            return Work::default();
        }
        if self.max_delay_ms == 0 {
            to_assign.add(lost);
            return Work::default();
        }
        if self.scheduled_rebalance > 0 && now >= self.scheduled_rebalance {
            let candidates: Vec<String> = self.candidates.iter().filter(|c| present.contains(c)).cloned().collect();
            if candidates.is_empty() {
                to_assign.add(lost);
            } else {
                for (c, id) in lost.connectors.iter().zip(candidates.iter().cycle()) {
                    next.get_mut(id).expect("a present member").connectors.insert(c.clone());
                }
                for (t, id) in lost.tasks.iter().zip(candidates.iter().cycle()) {
                    next.get_mut(id).expect("a present member").tasks.insert(t.clone());
                }
            }
            self.reset_delay();
            self.revoked_in_previous = false;
            return Work::default();
        }
        self.candidates.extend(next.iter().filter(|(_, w)| w.is_empty()).map(|(id, _)| id.clone()));
        self.delay_ms = if now < self.scheduled_rebalance {
            (self.scheduled_rebalance - now).min(self.max_delay_ms)
        } else {
            self.max_delay_ms
        };
        self.scheduled_rebalance = now + self.delay_ms;
        lost.clone()
    }

    /// §6.6 step 7: what each member gives up so that every member is within one of the
    /// others, separately for connectors and tasks. Work handed to a member in this same round
    /// goes first (it is handed out again rather than revoked); what it ran is revoked. After a
    /// revoking round this backs off (40 ms, 1.6 s, 64 s, … up to the max delay) so members that
    /// keep missing assignments do not cause a revocation storm.
    fn balance(
        &mut self,
        configured: &Work,
        next: &BTreeMap<String, Work>,
        running: &BTreeMap<&str, &Work>,
        now: i64,
    ) -> BTreeMap<String, Work> {
        let new_first = |id: &String, items: &mut Vec<(bool, Item)>| {
            let ran = running[id.as_str()];
            items.iter_mut().for_each(|(old, item)| *old = item.is_in(ran));
            items.sort();
        };
        let connectors = excess(configured.connectors.len(), next, |id, w| {
            let mut items = w.connectors.iter().map(|c| (false, Item::Connector(c.clone()))).collect();
            new_first(id, &mut items);
            items
        });
        let tasks = excess(configured.tasks.len(), next, |id, w| {
            let mut items = w.tasks.iter().map(|t| (false, Item::Task(t.clone()))).collect();
            new_first(id, &mut items);
            items
        });
        if connectors.is_empty() && tasks.is_empty() {
            self.successive_revoking = 0;
            return BTreeMap::new();
        }
        if self.revoked_in_previous {
            self.successive_revoking += 1;
            let backoff = 40i64.saturating_pow(self.successive_revoking).min(self.max_delay_ms);
            if backoff > 0 {
                self.delay_ms = backoff;
                self.scheduled_rebalance = now + backoff;
                return BTreeMap::new();
            }
        }
        let mut moves: BTreeMap<String, Work> = BTreeMap::new();
        for (id, items) in connectors.into_iter().chain(tasks) {
            let work = moves.entry(id).or_default();
            for (_, item) in items {
                match item {
                    Item::Connector(c) => work.connectors.insert(c),
                    Item::Task(t) => work.tasks.insert(t),
                };
            }
        }
        moves
    }
}

/// A connector or a task, for balancing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Connector(String),
    Task((String, i32)),
}

impl Item {
    fn is_in(&self, work: &Work) -> bool {
        match self {
            Item::Connector(c) => work.connectors.contains(c),
            Item::Task(t) => work.tasks.contains(t),
        }
    }
}

/// Items held by more than one member.
fn duplicated(members: &[Member]) -> Work {
    let mut seen = Work::default();
    let mut twice = Work::default();
    for m in members {
        twice.add(&m.allocation.intersect(&seen));
        seen.add(&m.allocation);
    }
    twice
}

/// Which items each member gives up (the first of its list) so that, of `total` items over the
/// members, at most `total % members` hold one more than `total / members` (Kafka's
/// `performLoadBalancingRevocations` for one kind of item).
fn excess<T: Clone>(
    total: usize,
    next: &BTreeMap<String, Work>,
    items: impl Fn(&String, &Work) -> Vec<T>,
) -> BTreeMap<String, Vec<T>> {
    let workers = next.len();
    let mut out = BTreeMap::new();
    if workers == 0 {
        return out;
    }
    let (min, extra) = (total / workers, total % workers);
    let loads: Vec<(&String, Vec<T>)> = next.iter().map(|(id, w)| (id, items(id, w))).collect();
    let at_max = loads.iter().filter(|(_, l)| l.len() == min + 1).count();
    let at_min = loads.iter().filter(|(_, l)| l.len() == min).count();
    if at_max == extra && at_min == workers - extra {
        return out;
    }
    let mut allowed_extra = extra;
    for (id, load) in loads {
        if load.len() <= min {
            continue;
        }
        let cap = if allowed_extra > 0 {
            allowed_extra -= 1;
            min + 1
        } else {
            min
        };
        if load.len() > cap {
            out.insert(id.clone(), load[..load.len() - cap].to_vec());
        }
    }
    out
}

/// §6.6 step 8: new work to the least loaded, connectors by connector count and tasks by task
/// count (ties by member id), one item each to every member of the least-loaded prefix per turn.
fn spread(to_assign: &Work, next: &mut BTreeMap<String, Work>) {
    let connectors = to_assign.connectors.iter().map(|c| Item::Connector(c.clone()));
    spread_items(connectors, next, |w| w.connectors.len());
    let tasks = to_assign.tasks.iter().map(|t| Item::Task(t.clone()));
    spread_items(tasks, next, |w| w.tasks.len());
}

/// One kind of item, by the load `load` counts.
fn spread_items(mut items: impl Iterator<Item = Item>, next: &mut BTreeMap<String, Work>, load: fn(&Work) -> usize) {
    if next.is_empty() {
        return;
    }
    loop {
        let mut order: Vec<(usize, String)> = next.iter().map(|(id, w)| (load(w), id.clone())).collect();
        order.sort();
        let least = order[0].0;
        for (_, id) in order.iter().take_while(|(n, _)| *n == least) {
            let Some(item) = items.next() else { return };
            let work = next.get_mut(id).expect("a member");
            match item {
                Item::Connector(c) => work.connectors.insert(c),
                Item::Task(t) => work.tasks.insert(t),
            };
        }
    }
}

#[cfg(test)]
mod tests;

//! Which source offsets may be committed: Kafka's `SubmittedRecords`. A partition's offset is
//! committable once every record submitted before it has been acknowledged by the broker (or
//! dropped by `errors.tolerance`). Records are tracked in submission order, so a record still in
//! flight holds back the offsets of everything submitted after it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

struct Slot<O> {
    partition: u32,
    offset: O,
    acked: bool,
}

/// Records in flight and the offsets they unlock.
pub struct SubmittedRecords<P, O> {
    first_seq: u64,
    slots: VecDeque<Slot<O>>,
    partitions: Vec<P>,
    index: HashMap<P, u32>,
    committable: Vec<Option<O>>,
    /// The partition of the previous record: most records share it, and comparing is cheaper
    /// than hashing.
    last: Option<u32>,
}

impl<P: Clone + Eq + Hash, O: Clone> Default for SubmittedRecords<P, O> {
    fn default() -> Self {
        SubmittedRecords {
            first_seq: 0,
            slots: VecDeque::new(),
            partitions: Vec::new(),
            index: HashMap::new(),
            committable: Vec::new(),
            last: None,
        }
    }
}

impl<P: Clone + Eq + Hash, O: Clone> SubmittedRecords<P, O> {
    /// Registers a record; returns its sequence number (the producer's delivery opaque).
    pub fn submit(&mut self, partition: P, offset: O) -> u64 {
        let known = self.last.filter(|&i| self.partitions[i as usize] == partition);
        let idx = match known.or_else(|| self.index.get(&partition).copied()) {
            Some(i) => i,
            None => {
                let i = self.partitions.len() as u32;
                self.partitions.push(partition.clone());
                self.index.insert(partition, i);
                self.committable.push(None);
                i
            }
        };
        self.last = Some(idx);
        self.slots.push_back(Slot { partition: idx, offset, acked: false });
        self.first_seq + self.slots.len() as u64 - 1
    }

    /// Marks a record acknowledged (or dropped).
    pub fn ack(&mut self, seq: u64) {
        if let Some(i) = seq.checked_sub(self.first_seq) {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                slot.acked = true;
            }
        }
        while self.slots.front().is_some_and(|s| s.acked) {
            let slot = self.slots.pop_front().unwrap();
            self.first_seq += 1;
            self.committable[slot.partition as usize] = Some(slot.offset);
        }
    }

    /// Offsets that became committable since the last call.
    pub fn take_committable(&mut self) -> Vec<(P, O)> {
        self.committable
            .iter_mut()
            .enumerate()
            .filter_map(|(i, o)| o.take().map(|o| (self.partitions[i].clone(), o)))
            .collect()
    }

    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_wait_for_every_earlier_ack() {
        let mut s = SubmittedRecords::default();
        let a1 = s.submit("a", 1);
        let b1 = s.submit("b", 10);
        let a2 = s.submit("a", 2);
        s.ack(a2);
        assert!(s.take_committable().is_empty(), "a2 waits for a1 and b1");
        s.ack(a1);
        assert_eq!(s.take_committable(), vec![("a", 1)]);
        s.ack(b1);
        let mut c = s.take_committable();
        c.sort();
        assert_eq!(c, vec![("a", 2), ("b", 10)]);
        assert_eq!(s.in_flight(), 0);
        assert!(s.take_committable().is_empty());
    }
}

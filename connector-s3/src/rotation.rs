//! When files are cut, per Kafka partition (the reference's `TopicPartitionWriter.write`,
//! s3-sink.md §5), as a pure state machine: it is told each record's encoded partition, offset and
//! time, and answers which open files must be committed — before the record is written (a
//! time rotation, a partition change, too many open files) or after it (`flush.size`).
//!
//! As the reference: `flush.size` counts records over **all** open files of the Kafka partition,
//! and a rotation commits all of them; `rotate.interval.ms` compares record times (so an idle
//! partition's file waits for the next record); a new value schema for an open file rotates
//! (`schema.compatibility=NONE`). Wall-clock rotations (`rotate.schedule.interval.ms`, the
//! idle flush, memory pressure) are decided by the writer and applied with [`PartitionFiles::rotate_all`].

/// The settings that decide file boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    pub flush_size: u64,
    /// `rotate.interval.ms`, honoured only with a time-based partitioner (as the reference).
    pub rotate_interval_ms: Option<i64>,
    pub rotate_on_partition_change: bool,
    pub time_based: bool,
    /// `partitioner.max.open.files`.
    pub max_open_files: Option<usize>,
}

/// A file being written: its encoded partition and the offsets it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    pub encoded: String,
    /// The offset of its first record: it names the object.
    pub start_offset: i64,
    pub last_offset: i64,
    pub records: u64,
}

/// The open files of one Kafka partition and the state the rotation rules read.
#[derive(Debug, Clone)]
pub struct PartitionFiles {
    policy: RotationPolicy,
    open: Vec<OpenFile>,
    record_count: u64,
    base_timestamp: Option<i64>,
    current_timestamp: Option<i64>,
    current_encoded: Option<String>,
}

/// What to do with one record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// Commit these files first (the record goes to a fresh file).
    pub commit_before: Vec<OpenFile>,
    /// Then write the record, and commit these (`flush.size` reached).
    pub commit_after: Vec<OpenFile>,
}

impl PartitionFiles {
    pub fn new(policy: RotationPolicy) -> PartitionFiles {
        PartitionFiles {
            policy,
            open: Vec::new(),
            record_count: 0,
            base_timestamp: None,
            current_timestamp: None,
            current_encoded: None,
        }
    }

    pub fn open_files(&self) -> &[OpenFile] {
        &self.open
    }

    /// The smallest start offset of the open files: where a replay must begin.
    pub fn first_open_offset(&self) -> Option<i64> {
        self.open.iter().map(|f| f.start_offset).min()
    }

    /// Records written to the open files.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// Commits every open file now (a wall-clock rotation).
    pub fn rotate_all(&mut self) -> Vec<OpenFile> {
        self.commit_all()
    }

    fn commit_all(&mut self) -> Vec<OpenFile> {
        self.record_count = 0;
        self.base_timestamp = None;
        std::mem::take(&mut self.open)
    }

    fn rotate_on_time(&self, encoded: &str) -> bool {
        let p = &self.policy;
        let Some(interval) = p.rotate_interval_ms.filter(|_| p.time_based) else { return false };
        if self.record_count == 0 {
            return false;
        }
        let elapsed = match (self.current_timestamp, self.base_timestamp) {
            (Some(now), Some(base)) => now - base >= interval,
            _ => false,
        };
        elapsed || (p.rotate_on_partition_change && self.current_encoded.as_deref() != Some(encoded))
    }

    fn too_many_open(&self, encoded: &str) -> bool {
        self.policy
            .max_open_files
            .is_some_and(|max| self.open.len() >= max && !self.open.iter().any(|f| f.encoded == encoded))
    }

    /// One record: `timestamp` is the extractor's time (time-based partitioners only);
    /// `new_schema`: the record's value schema differs from that of `encoded`'s open file.
    pub fn write(&mut self, encoded: &str, offset: i64, timestamp: Option<i64>, new_schema: bool) -> Step {
        let mut step = Step::default();
        if self.policy.time_based {
            self.current_timestamp = timestamp;
            self.base_timestamp = self.base_timestamp.or(timestamp);
        }
        let schema_change = new_schema && self.record_count > 0;
        if self.rotate_on_time(encoded) || schema_change || self.too_many_open(encoded) {
            step.commit_before = self.commit_all();
            // the record is examined again, as the first of the next files
            if self.policy.time_based {
                self.base_timestamp = timestamp;
            }
        }
        match self.open.iter_mut().find(|f| f.encoded == encoded) {
            Some(f) => {
                f.last_offset = offset;
                f.records += 1;
            }
            None => self.open.push(OpenFile {
                encoded: encoded.to_owned(),
                start_offset: offset,
                last_offset: offset,
                records: 1,
            }),
        }
        self.record_count += 1;
        if self.current_encoded.as_deref() != Some(encoded) {
            self.current_encoded = Some(encoded.to_owned());
        }
        if self.record_count >= self.policy.flush_size {
            step.commit_after = self.commit_all();
        }
        step
    }

    /// After a batch, with nothing buffered (`commitOnTimeIfNoData`): the time rule checked
    /// against the last record's time.
    pub fn on_idle(&mut self) -> Vec<OpenFile> {
        match self.current_encoded.clone() {
            Some(enc) if self.rotate_on_time(&enc) => self.commit_all(),
            _ => Vec::new(),
        }
    }

    /// The partition is closed (rebalance, stop): open files are dropped, to be rebuilt from
    /// the committed offset.
    pub fn discard(&mut self) -> Vec<OpenFile> {
        self.current_encoded = None;
        self.current_timestamp = None;
        self.commit_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(flush_size: u64) -> RotationPolicy {
        RotationPolicy {
            flush_size,
            rotate_interval_ms: None,
            rotate_on_partition_change: true,
            time_based: false,
            max_open_files: None,
        }
    }

    fn starts(files: &[OpenFile]) -> Vec<(String, i64, u64)> {
        files.iter().map(|f| (f.encoded.clone(), f.start_offset, f.records)).collect()
    }

    #[test]
    fn flush_size_3_with_10_records_gives_3_files_and_1_open_record() {
        let mut p = PartitionFiles::new(policy(3));
        let mut committed = Vec::new();
        for offset in 0..10 {
            let step = p.write("partition=0", offset, None, false);
            assert!(step.commit_before.is_empty());
            committed.extend(step.commit_after);
        }
        assert_eq!(
            starts(&committed),
            vec![("partition=0".into(), 0, 3), ("partition=0".into(), 3, 3), ("partition=0".into(), 6, 3)]
        );
        assert_eq!(starts(p.open_files()), vec![("partition=0".into(), 9, 1)]);
        assert_eq!(p.first_open_offset(), Some(9));
    }

    #[test]
    fn flush_size_counts_every_open_file_of_the_partition() {
        let mut p = PartitionFiles::new(policy(3));
        p.write("country=DE", 10, None, false);
        p.write("country=FR", 11, None, false);
        let step = p.write("country=DE", 12, None, false);
        assert_eq!(starts(&step.commit_after), vec![("country=DE".into(), 10, 2), ("country=FR".into(), 11, 1)]);
    }

    #[test]
    fn record_time_rotation_and_partition_change() {
        let hour = 3_600_000;
        let mut p =
            PartitionFiles::new(RotationPolicy { rotate_interval_ms: Some(hour), time_based: true, ..policy(1000) });
        assert_eq!(p.write("h=00", 0, Some(0), false), Step::default());
        assert_eq!(p.write("h=00", 1, Some(hour - 1), false), Step::default());
        // a record an hour after the first: the open file is committed before it
        let step = p.write("h=00", 2, Some(hour), false);
        assert_eq!(starts(&step.commit_before), vec![("h=00".into(), 0, 2)]);
        // a record for another bucket: a partition change rotates everything
        let step = p.write("h=01", 3, Some(hour + 5), false);
        assert_eq!(starts(&step.commit_before), vec![("h=00".into(), 2, 1)]);
        // nothing new arrives: the file stays open (the reference's behaviour)
        assert!(p.on_idle().is_empty());
        assert_eq!(starts(p.open_files()), vec![("h=01".into(), 3, 1)]);
    }

    #[test]
    fn rotate_interval_is_ignored_without_a_time_based_partitioner() {
        let mut p = PartitionFiles::new(RotationPolicy { rotate_interval_ms: Some(1), ..policy(1000) });
        p.write("partition=0", 0, Some(0), false);
        assert_eq!(p.write("partition=0", 1, Some(10_000), false), Step::default());
    }

    #[test]
    fn a_new_schema_rotates_every_open_file() {
        let mut p = PartitionFiles::new(policy(1000));
        p.write("partition=0", 0, None, false);
        let step = p.write("partition=0", 1, None, true);
        assert_eq!(starts(&step.commit_before), vec![("partition=0".into(), 0, 1)]);
        assert_eq!(p.record_count(), 1);
        assert_eq!(starts(&p.rotate_all()), vec![("partition=0".into(), 1, 1)]);
    }

    #[test]
    fn max_open_files() {
        let mut p = PartitionFiles::new(RotationPolicy { max_open_files: Some(2), ..policy(1000) });
        p.write("a", 0, None, false);
        p.write("b", 1, None, false);
        assert_eq!(p.write("a", 2, None, false), Step::default());
        let step = p.write("c", 3, None, false);
        assert_eq!(starts(&step.commit_before), vec![("a".into(), 0, 2), ("b".into(), 1, 1)]);
        assert_eq!(starts(&p.discard()), vec![("c".into(), 3, 1)]);
    }
}

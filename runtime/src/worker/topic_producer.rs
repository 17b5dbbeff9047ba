//! Producing through librdkafka topic handles.
//!
//! rdkafka's `BaseProducer::send` names the topic on every record; librdkafka then finds the
//! topic under the client's write lock (`rd_kafka_topic_new0`), the lock its broker threads take
//! too. Under TLS, where the broker thread is busy, that lock was a third of the source loop's
//! samples (futex wait/wake per record). Here each topic is opened once (`rd_kafka_topic_new`)
//! and records go through `rd_kafka_produceva` with the handle; the delivery opaque is the same
//! `usize` the context's `delivery` callback receives, so rdkafka's polling thread and delivery
//! reports work unchanged.

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::producer::{Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

use crate::record::Header;

/// One record to produce; the bytes are copied by librdkafka before `send` returns.
pub(super) struct Outgoing<'a> {
    pub topic: &'a Arc<str>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
    pub headers: &'a [Header],
    /// Handed back to the context's `delivery` callback.
    pub opaque: usize,
}

/// An opened topic. librdkafka's topic handles may be used from any thread.
struct TopicHandle(NonNull<rd::rd_kafka_topic_t>);

// SAFETY: librdkafka documents topic handles as thread-safe; the handle is destroyed once, on drop.
unsafe impl Send for TopicHandle {}
unsafe impl Sync for TopicHandle {}

/// Scratch space for one `rd_kafka_produceva` call; empty between calls, so the raw pointers it
/// holds while a call is built never outlive that call.
#[derive(Default)]
struct Scratch {
    args: Vec<rd::rd_kafka_vu_t>,
    names: Vec<u8>,
}

// SAFETY: `args` is cleared at the end of every `send`, so no pointer is carried across threads.
unsafe impl Send for Scratch {}

/// A `ThreadedProducer` with one librdkafka topic handle per topic it has produced to.
pub(super) struct TopicProducer<C: ProducerContext<DeliveryOpaque = usize> + 'static> {
    producer: Arc<ThreadedProducer<C>>,
    topics: HashMap<Arc<str>, TopicHandle>,
    scratch: Scratch,
}

impl<C: ProducerContext<DeliveryOpaque = usize> + 'static> TopicProducer<C> {
    pub fn new(producer: ThreadedProducer<C>) -> Self {
        TopicProducer { producer: Arc::new(producer), topics: HashMap::new(), scratch: Scratch::default() }
    }

    /// The producer itself, for `flush` and `in_flight_count` (from another thread if need be).
    pub fn producer(&self) -> &Arc<ThreadedProducer<C>> {
        &self.producer
    }

    /// Enqueues one record; `QueueFull` leaves nothing enqueued and may be tried again.
    pub fn send(&mut self, record: &Outgoing<'_>) -> Result<(), RDKafkaErrorCode> {
        let rkt = self.topic(record.topic)?;
        let Scratch { args, names } = &mut self.scratch;
        args.clear();
        names.clear();
        for h in record.headers {
            if h.key.contains('\0') {
                return Err(RDKafkaErrorCode::InvalidArgument);
            }
            names.extend_from_slice(h.key.as_bytes());
            names.push(0);
        }
        args.push(arg(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT, rd::rd_kafka_vu_s__bindgen_ty_1 { rkt }));
        args.push(arg(
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS,
            rd::rd_kafka_vu_s__bindgen_ty_1 { i: rd::RD_KAFKA_MSG_F_COPY },
        ));
        args.push(arg(
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION,
            rd::rd_kafka_vu_s__bindgen_ty_1 { i32_: record.partition.unwrap_or(-1) },
        ));
        args.push(arg(
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE,
            rd::rd_kafka_vu_s__bindgen_ty_1 { ptr: record.opaque as *mut c_void },
        ));
        if let Some(key) = record.key {
            args.push(arg(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY, bytes(key)));
        }
        if let Some(value) = record.value {
            args.push(arg(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE, bytes(value)));
        }
        if let Some(ts) = record.timestamp {
            args.push(arg(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_TIMESTAMP,
                rd::rd_kafka_vu_s__bindgen_ty_1 { i64_: ts },
            ));
        }
        let mut name_at = 0;
        for h in record.headers {
            let name = names[name_at..].as_ptr().cast();
            name_at += h.key.len() + 1;
            let (val, size) = match &h.value {
                Some(v) => (v.as_ptr().cast::<c_void>(), v.len() as isize),
                None => (std::ptr::null(), 0),
            };
            let header = rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_2 { name, val, size };
            args.push(arg(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_HEADER, rd::rd_kafka_vu_s__bindgen_ty_1 { header }));
        }
        // SAFETY: the client is alive (we hold it); `rkt` is a live handle of this client; every
        // pointer in `args` (key, value, header names and values) outlives the call, and
        // RD_KAFKA_MSG_F_COPY makes librdkafka copy the bytes before it returns.
        let error = unsafe { rd::rd_kafka_produceva(self.producer.client().native_ptr(), args.as_ptr(), args.len()) };
        args.clear();
        if error.is_null() {
            return Ok(());
        }
        // SAFETY: a non-null result is an error object we own and destroy once.
        let code = unsafe {
            let code = rd::rd_kafka_error_code(error);
            rd::rd_kafka_error_destroy(error);
            code
        };
        Err(code.into())
    }

    fn topic(&mut self, name: &Arc<str>) -> Result<*mut rd::rd_kafka_topic_t, RDKafkaErrorCode> {
        if let Some(handle) = self.topics.get(name) {
            return Ok(handle.0.as_ptr());
        }
        let c_name = CString::new(name.as_bytes()).map_err(|_| RDKafkaErrorCode::InvalidTopic)?;
        // SAFETY: the client is alive; a null topic configuration means the client's defaults.
        let raw = unsafe {
            rd::rd_kafka_topic_new(self.producer.client().native_ptr(), c_name.as_ptr(), std::ptr::null_mut())
        };
        let Some(handle) = NonNull::new(raw) else {
            // SAFETY: reads this thread's last librdkafka error.
            return Err(unsafe { rd::rd_kafka_last_error() }.into());
        };
        self.topics.insert(name.clone(), TopicHandle(handle));
        Ok(handle.as_ptr())
    }
}

impl<C: ProducerContext<DeliveryOpaque = usize> + 'static> Drop for TopicProducer<C> {
    fn drop(&mut self) {
        // the handles go before the client: `self.producer` is dropped after this body
        for (_, handle) in self.topics.drain() {
            // SAFETY: each handle was made by `rd_kafka_topic_new` on this client and is destroyed once.
            unsafe { rd::rd_kafka_topic_destroy(handle.0.as_ptr()) };
        }
    }
}

fn arg(vtype: rd::rd_kafka_vtype_t, u: rd::rd_kafka_vu_s__bindgen_ty_1) -> rd::rd_kafka_vu_t {
    rd::rd_kafka_vu_t { vtype, u }
}

fn bytes(b: &[u8]) -> rd::rd_kafka_vu_s__bindgen_ty_1 {
    rd::rd_kafka_vu_s__bindgen_ty_1 {
        mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 { ptr: b.as_ptr() as *mut c_void, size: b.len() },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::DeliveryResult;
    use rdkafka::{ClientContext, Offset, Timestamp, TopicPartitionList};

    use super::*;

    #[derive(Default)]
    struct Reports(Mutex<Vec<(usize, bool)>>);
    impl ClientContext for Reports {}
    impl ProducerContext for Reports {
        type DeliveryOpaque = usize;
        fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
            self.0.lock().unwrap().push((opaque, result.is_ok()));
        }
    }

    #[test]
    fn records_keep_their_bytes_partition_timestamp_headers_and_opaque() {
        let mock = MockCluster::new(1).unwrap();
        mock.create_topic("t", 3, 1).unwrap();
        let producer: ThreadedProducer<Reports> = ClientConfig::new()
            .set("bootstrap.servers", mock.bootstrap_servers())
            .create_with_context(Reports::default())
            .unwrap();
        let mut producer = TopicProducer::new(producer);
        let topic: Arc<str> = "t".into();
        let headers = vec![
            Header { key: "h1".into(), value: Some(b"v1".to_vec()) },
            Header { key: "nul".into(), value: None },
            Header { key: "h1".into(), value: Some(Vec::new()) },
        ];
        for i in 0..3usize {
            let value = format!("value-{i}");
            let record = Outgoing {
                topic: &topic,
                key: (i != 1).then_some(b"k".as_slice()),
                value: (i != 2).then_some(value.as_bytes()),
                partition: Some(2),
                timestamp: Some(1_700_000_000_000 + i as i64),
                headers: if i == 0 { &headers } else { &[] },
                opaque: 40 + i,
            };
            producer.send(&record).unwrap();
        }
        producer.producer().flush(Duration::from_secs(10)).unwrap();
        let mut reports = producer.producer().context().0.lock().unwrap().clone();
        reports.sort();
        assert_eq!(reports, vec![(40, true), (41, true), (42, true)]);

        let bad = Header { key: "a\0b".into(), value: None };
        let record = Outgoing {
            topic: &topic,
            key: None,
            value: None,
            partition: None,
            timestamp: None,
            headers: std::slice::from_ref(&bad),
            opaque: 0,
        };
        assert_eq!(producer.send(&record), Err(RDKafkaErrorCode::InvalidArgument));

        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", mock.bootstrap_servers())
            .set("group.id", "g")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("t", 2, Offset::Beginning).unwrap();
        consumer.assign(&tpl).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < 3 && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let headers: Vec<(String, Option<Vec<u8>>)> = m
                    .headers()
                    .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect())
                    .unwrap_or_default();
                got.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec), m.timestamp(), headers));
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.as_deref(), Some(b"k".as_slice()));
        assert_eq!(got[0].1.as_deref(), Some(b"value-0".as_slice()));
        assert_eq!(got[0].2, Timestamp::CreateTime(1_700_000_000_000));
        assert_eq!(
            got[0].3,
            vec![("h1".into(), Some(b"v1".to_vec())), ("nul".into(), None), ("h1".into(), Some(Vec::new()))]
        );
        assert_eq!((got[1].0.as_deref(), got[1].1.as_deref()), (None, Some(b"value-1".as_slice())));
        assert_eq!((got[2].0.as_deref(), got[2].1.as_deref()), (Some(b"k".as_slice()), None));
        assert!(got[1].3.is_empty());
    }
}

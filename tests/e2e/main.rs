//! End-to-end tests of the `sluice` binary against the real services of `scripts/services`
//! (Tansu on 127.0.0.1:9092, or `KAFKA_BOOTSTRAP`). A missing service fails the test with a hint.
//!
//! Run: `scripts/services up && cargo test --workspace` (these run with the rest).

mod harness;

mod avro;
mod avro_versions;
mod binlog_cdc;
mod binlog_cdc_options;
mod broker_outage;
mod chaos;
mod cli;
mod config_errors;
mod console;
mod database_tls;
mod dead_letter;
mod distributed;
mod distributed_pipeline;
mod file_pipeline;
mod jdbc_mariadb;
mod jdbc_postgres;
mod kafka_sasl;
mod kafka_tls;
mod large_records;
mod offsets_migration;
mod private_mariadb;
mod private_postgres;
mod rest_api;
mod rest_tls;
mod s3_headers;
mod s3_sink;
mod s3_store;
mod secrets;
mod server_restarts;
mod sink_resume;
mod transforms;
mod worker_faults;

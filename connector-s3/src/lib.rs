//! Confluent S3 sink connector (`io.confluent.connect.s3.S3SinkConnector`) for sluice.
//!
//! Not implemented yet: the binary recognises the class names and refuses them with a clear
//! message. The specification is `shared/reference/s3-sink.md`.

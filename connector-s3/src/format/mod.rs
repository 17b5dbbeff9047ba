//! Record formats of the object files (s3-sink.md §8). Only JSON lines so far.

pub mod json;

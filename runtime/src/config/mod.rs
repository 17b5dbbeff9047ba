//! Configuration: `.properties`/JSON files, config providers, the typed reader that reports every
//! problem at once, and the worker and connector keys the runtime owns.

pub mod client_security;
pub mod connector;
pub mod file;
mod jaas;
pub mod properties;
pub mod provider;
pub mod reader;
pub mod rest_security;
pub mod worker;

pub use connector::{
    ConnectorConfig, ConnectorKind, ErrorsConfig, TopicCreation, FRAMEWORK_KEYS, SINK_FRAMEWORK_KEYS,
    SOURCE_FRAMEWORK_KEYS,
};
pub use provider::Providers;
pub use reader::{
    is_secret_key, redact_value, ConfigError, ConfigErrors, ConfigReader, Entry, InitialState, Password, RawConfig,
    UnknownKey,
};
pub use worker::{WorkerConfig, WorkerMode};

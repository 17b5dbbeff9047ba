//! The plugin registry: which connector classes a worker runs, under which names, and how a
//! connector config (from a file, and later from REST or a config topic) becomes a connector
//! ready to start. The runtime knows no connector crate: the binary registers each one
//! explicitly (no registration macros), with Kafka's, Confluent's or Debezium's class name and
//! the aliases Kafka accepts (the simple class name, and sluice's short names).

use crate::config::{
    ConfigError, ConfigErrors, ConfigReader, ConnectorConfig, ConnectorKind, RawConfig, FRAMEWORK_KEYS,
    SINK_FRAMEWORK_KEYS, SOURCE_FRAMEWORK_KEYS,
};
use crate::connector::{KeyDoc, SinkConnector, SourceConnector};
use crate::worker::{prepare_sink, prepare_source, PreparedConnector};

/// Parses a connector config into a connector ready to start.
type PrepareFn = fn(&RawConfig) -> Result<PreparedConnector, ConfigErrors>;

/// One connector class.
pub struct Plugin {
    /// The fully qualified class name users write in `connector.class`.
    pub class: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    pub kind: ConnectorKind,
    /// Its own keys, for `sluice plugins` and the docs.
    pub keys: &'static [KeyDoc],
    prepare: PrepareFn,
}

impl Plugin {
    fn answers_to(&self, class: &str) -> bool {
        self.class == class || self.aliases.contains(&class)
    }

    /// Every key of a connector of this class, with its group: the framework's ("Common"), then
    /// the connector's own ("Connector").
    pub fn all_keys(&self) -> impl Iterator<Item = (&'static str, &'static KeyDoc)> + '_ {
        let kind_keys = match self.kind {
            ConnectorKind::Source => SOURCE_FRAMEWORK_KEYS,
            ConnectorKind::Sink => SINK_FRAMEWORK_KEYS,
        };
        FRAMEWORK_KEYS.iter().chain(kind_keys).map(|k| ("Common", k)).chain(self.keys.iter().map(|k| ("Connector", k)))
    }

    /// Every problem of `raw` as a config of this class (nothing is started, nothing connects).
    pub fn validate(&self, raw: &RawConfig) -> Vec<ConfigError> {
        match (self.prepare)(raw) {
            Ok(_) => Vec::new(),
            Err(ConfigErrors(errors)) => errors,
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.iter().map(|p| p.class)).finish()
    }
}

/// The connector classes of this worker.
#[derive(Default)]
pub struct Registry {
    plugins: Vec<Plugin>,
}

impl Registry {
    /// Registers a source connector.
    pub fn source<C: SourceConnector>(mut self, aliases: &'static [&'static str]) -> Registry {
        self.plugins.push(Plugin {
            class: C::CLASS,
            aliases,
            kind: ConnectorKind::Source,
            keys: C::KEYS,
            prepare: prepare_source::<C>,
        });
        self
    }

    /// Registers a sink connector.
    pub fn sink<C: SinkConnector>(mut self, aliases: &'static [&'static str]) -> Registry {
        self.plugins.push(Plugin {
            class: C::CLASS,
            aliases,
            kind: ConnectorKind::Sink,
            keys: C::KEYS,
            prepare: prepare_sink::<C>,
        });
        self
    }

    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// The plugin answering to `class` (its class name or an alias).
    pub fn find(&self, class: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.answers_to(class))
    }

    /// A connector config (providers already resolved) → a connector ready to start: its
    /// `connector.class` looked up, then the framework's and the connector's keys parsed, every
    /// problem reported at once.
    pub fn prepare(&self, raw: &RawConfig) -> Result<PreparedConnector, ConfigErrors> {
        let mut reader = ConfigReader::new(raw);
        let (_, class) = ConnectorConfig::identity(&mut reader);
        let (errors, _) = reader.finish();
        let Some(class) = class else { return Err(ConfigErrors(errors)) };
        match self.find(&class) {
            Some(plugin) => (plugin.prepare)(raw),
            None => {
                let known: Vec<&str> = self.plugins.iter().map(|p| p.class).collect();
                Err(ConfigErrors(vec![ConfigError::Invalid {
                    origin: raw.origin.clone(),
                    line: raw.line("connector.class"),
                    key: "connector.class".into(),
                    expected: format!("one of {}", known.join(", ")),
                    got: class,
                }]))
            }
        }
    }
}

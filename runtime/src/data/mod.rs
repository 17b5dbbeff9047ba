//! The Connect data model: schemas (with logical types) and values.

pub mod projector;
mod schema;
mod value;

pub use projector::{project, ProjectError};
pub use schema::{Field, Schema, SchemaBuilder, SchemaDef, Type, DATE, DECIMAL, SCALE, TIME, TIMESTAMP};
pub use value::{Struct, Value};

//! acadex indexes the records of international academic exchange (papers, talks, lectures,
//! visiting-scholar exchanges and the bibliographies around them) into a local tantivy index,
//! and searches it.
//!
//! Module map, with dependencies pointing one way (`model` ← `formats` ← `index` ← `cli`):
//! - [`model`]: the record model, the one contract between importers, index and outputs.
//! - [`formats`]: one importer per format, streaming, yielding records or located errors.
//! - [`index`]: the tantivy schema, the writer (lock, batches, upsert, commit), search and facets.
//! - [`cli`]: the command-line interface; the only module that prints or reads the environment.

pub mod cli;
pub mod formats;
pub mod import;
pub mod index;
pub mod model;

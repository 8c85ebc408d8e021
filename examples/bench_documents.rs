//! The documents acadex indexes, as JSON lines for tantivy-cli, for `bench/run.sh`.
//!
//! Reads a MARCXML file with acadex's own reader and mapping, builds each record's tantivy
//! document exactly as `acadex import` does, and writes it as one JSON line. It also writes a
//! `meta.json` holding acadex's schema, so that `tantivy index` builds the same fields with the
//! same options and stores the same record JSON and original. The only change: acadex's two
//! analyzers are not known to tantivy-cli, so its built-in ones stand in (`default` for words,
//! `raw` for exact values). tantivy-cli then measures the engine alone on acadex's work: the
//! same documents, no XML, no mapping.
//!
//! ```text
//! cargo build --release --example bench_documents
//! target/release/examples/bench_documents --input records.xml --jsonl documents.jsonl --meta DIR/meta.json
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use acadex::formats::{self, Item, input::Input};
use acadex::index::{Fields, build_document, schema, tokenizer};
use serde_json::{Value, json};
use tantivy::Document;

struct Options {
    input: PathBuf,
    jsonl: PathBuf,
    meta: PathBuf,
}

fn parse_args() -> Result<Options, String> {
    let (mut input, mut jsonl, mut meta) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().map(PathBuf::from).ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--input" => input = Some(value("--input")?),
            "--jsonl" => jsonl = Some(value("--jsonl")?),
            "--meta" => meta = Some(value("--meta")?),
            _ => return Err("usage: bench_documents --input FILE --jsonl OUT.jsonl --meta OUT/meta.json".into()),
        }
    }
    match (input, jsonl, meta) {
        (Some(input), Some(jsonl), Some(meta)) => Ok(Options { input, jsonl, meta }),
        _ => Err("--input, --jsonl and --meta are all needed".into()),
    }
}

/// acadex's schema with tantivy's built-in analyzers in place of acadex's.
fn tantivy_cli_schema(schema: &tantivy::schema::Schema) -> Value {
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    rename_analyzers(&mut value);
    value
}

fn rename_analyzers(value: &mut Value) {
    match value {
        Value::String(name) if name == tokenizer::TEXT => *name = "default".into(),
        Value::String(name) if name == tokenizer::KEYWORD => *name = "raw".into(),
        Value::Array(items) => items.iter_mut().for_each(rename_analyzers),
        Value::Object(map) => map.values_mut().for_each(rename_analyzers),
        _ => {}
    }
}

fn run(options: &Options) -> Result<u64, String> {
    let schema = schema::build();
    let fields = Fields::of(&schema).map_err(|e| e.to_string())?;
    let meta = json!({
        "index_settings": {"docstore_compression": "lz4", "docstore_blocksize": 16384},
        "segments": [],
        "schema": tantivy_cli_schema(&schema),
        "opstamp": 0,
    });
    std::fs::write(&options.meta, meta.to_string()).map_err(|e| format!("{}: {e}", options.meta.display()))?;

    let input = Input::File(options.input.clone());
    let reader = input.open().map_err(|e| format!("{}: {e}", options.input.display()))?;
    let records = formats::open(reader, &input.label(), None).map_err(|e| e.reason)?;
    let file = File::create(&options.jsonl).map_err(|e| format!("{}: {e}", options.jsonl.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut written = 0;
    for item in records {
        match item {
            Ok(Item::Record(imported)) => {
                let doc = build_document(&fields, &imported.record, &imported.original);
                writeln!(out, "{}", doc.to_json(&schema)).map_err(|e| e.to_string())?;
                written += 1;
            }
            Ok(Item::Delete { .. }) => {}
            Err(error) => return Err(format!("record {:?}: {}", error.record, error.reason)),
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(written)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_documents: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(written) => {
            eprintln!("bench_documents: {written} documents written to {}", options.jsonl.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("bench_documents: {message}");
            ExitCode::FAILURE
        }
    }
}

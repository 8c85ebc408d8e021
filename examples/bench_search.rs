//! In-process search latency, for `bench/run.sh`.
//!
//! Opens an index once, runs a fixed set of queries (words, phrases, field queries, a year
//! range, Chinese, OR), each with no facets and with four facets (type, year, language,
//! subject; 10 values each), top 10 hits with their stored records and snippets, exactly as
//! `acadex search` does, and prints p50/p99 latency in milliseconds as JSON on stdout.
//!
//! ```text
//! cargo build --release --example bench_search
//! target/release/examples/bench_search --index DIR [--iterations 200] [--warmup 5]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use acadex::index::{IndexReader, SearchRequest, Sort};
use serde_json::{Value, json};

/// (class, query). Every class is run with and without facets.
const QUERIES: [(&str, &str); 14] = [
    ("word", "panda"),
    ("word", "history"),
    ("word", "education"),
    ("phrase", "\"giant panda\""),
    ("phrase", "\"cultural relations\""),
    ("field", "title:panda"),
    ("field", "author:wu"),
    ("field", "subject:conservation"),
    ("range", "year:[2000 TO 2010]"),
    ("chinese", "熊猫"),
    ("chinese", "中国文化"),
    ("or", "panda OR bamboo"),
    ("or", "history OR education OR ecology"),
    ("match-all", ""),
];

const FACETS: [&str; 4] = ["type", "year", "language", "subject"];

struct Options {
    index: PathBuf,
    iterations: usize,
    warmup: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut index = None;
    let mut iterations = 200;
    let mut warmup = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--index" => index = Some(PathBuf::from(value("--index")?)),
            "--iterations" => iterations = value("--iterations")?.parse().map_err(|e| format!("--iterations: {e}"))?,
            "--warmup" => warmup = value("--warmup")?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "-h" | "--help" => {
                return Err("usage: bench_search --index DIR [--iterations 200] [--warmup 5]".into());
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let index = index.ok_or("--index DIR is required")?;
    Ok(Options { index, iterations: iterations.max(1), warmup })
}

/// The value at quantile `q` (0..=1) of sorted samples, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(samples: &mut [f64]) -> Value {
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
    json!({
        "p50_ms": round(quantile(samples, 0.50)),
        "p99_ms": round(quantile(samples, 0.99)),
        "max_ms": round(quantile(samples, 1.0)),
        "mean_ms": round(mean),
        "samples": samples.len(),
    })
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let opened = Instant::now();
    let reader = match IndexReader::open(&options.index) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("cannot open {}: {error}", options.index.display());
            return ExitCode::from(2);
        }
    };
    let open_ms = opened.elapsed().as_secs_f64() * 1000.0;

    let mut per_query = Vec::new();
    // (class, with facets) -> samples; and the two overall pools.
    let mut by_class: Vec<(String, bool, Vec<f64>)> = Vec::new();
    let mut overall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for with_facets in [false, true] {
        for (class, query) in QUERIES {
            let request = SearchRequest {
                query: query.to_string(),
                filters: Vec::new(),
                facets: if with_facets { FACETS.iter().map(|f| f.to_string()).collect() } else { Vec::new() },
                facet_size: 10,
                limit: 10,
                offset: 0,
                sort: Sort::Relevance,
            };
            let mut total = 0;
            for _ in 0..options.warmup {
                match reader.search(&request) {
                    Ok(results) => total = results.total,
                    Err(error) => {
                        eprintln!("query {query:?} failed: {error}");
                        return ExitCode::from(2);
                    }
                }
            }
            let mut samples = Vec::with_capacity(options.iterations);
            for _ in 0..options.iterations {
                let started = Instant::now();
                let results = reader.search(&request);
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                std::hint::black_box(&results);
                if let Ok(results) = results {
                    total = results.total;
                }
                samples.push(elapsed);
            }
            match by_class.iter_mut().find(|(c, f, _)| c == class && *f == with_facets) {
                Some((_, _, pool)) => pool.extend(&samples),
                None => by_class.push((class.to_string(), with_facets, samples.clone())),
            }
            overall[usize::from(with_facets)].extend(&samples);
            let mut stats = summary(&mut samples);
            stats["class"] = json!(class);
            stats["query"] = json!(query);
            stats["facets"] = json!(with_facets);
            stats["hits"] = json!(total);
            per_query.push(stats);
        }
    }
    let mut classes = serde_json::Map::new();
    for (class, with_facets, mut samples) in by_class {
        let entry = classes.entry(class).or_insert_with(|| json!({}));
        entry[if with_facets { "facets4" } else { "top10" }] = summary(&mut samples);
    }
    let [mut plain, mut faceted] = overall;
    let report = json!({
        "index": options.index.display().to_string(),
        "iterations": options.iterations,
        "open_ms": round(open_ms),
        "overall": { "top10": summary(&mut plain), "facets4": summary(&mut faceted) },
        "classes": classes,
        "queries": per_query,
    });
    match serde_json::to_string_pretty(&report) {
        Ok(text) => {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

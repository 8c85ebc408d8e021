//! `acadex search`.

use std::path::Path;

use clap::{Args, ValueEnum};

use super::{CliError, exit, output};
use crate::index::{FACETS, IndexReader, SearchRequest, Sort};

/// Search the index: words, "phrases", AND/OR/NOT, field:value, ranges, prefixes.
///
/// Words are searched in titles, names, subjects, events, venues, abstracts and notes, with
/// titles, names and subjects counting most; all words must match unless you write OR.
/// Chinese, Japanese and Korean text is matched by character pairs, so 熊猫 finds 大熊猫研究.
///
/// Fields: title, author, abstract, subject, venue, event, note, year, type, language,
/// country, institution, doi, id.
///
/// Exit status: 0 found something; 1 nothing matched; 2 error (e.g. a query that cannot parse).
///
/// Examples:
///   acadex search 'panda AND year:[2015 TO 2022]' --facet year --facet type
///   acadex search '"giant panda"' --filter language=eng --filter language=chi
///   acadex search 'author:"Wu Yongsheng" OR 吴永胜' --sort -year --json
///   acadex search --facet country --limit 0        # facet counts over everything
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SearchArgs {
    /// The query; several arguments are joined with spaces. Empty matches everything.
    #[arg(value_name = "QUERY")]
    query: Vec<String>,

    /// Count hits by this facet (repeatable): type, year, language, country, institution,
    /// subject, venue, source.
    #[arg(long, short = 'f', value_name = "FACET", value_parser = facet_name)]
    facet: Vec<String>,

    /// Keep only hits with FACET=VALUE (repeatable; values of one facet OR, facets AND).
    #[arg(long, value_name = "FACET=VALUE", value_parser = filter_pair)]
    filter: Vec<(String, String)>,

    /// How many facet values to show per facet (the most frequent).
    #[arg(long, default_value_t = 10, value_name = "N")]
    facet_size: usize,

    /// How many hits to show.
    #[arg(long, short = 'n', default_value_t = 10, value_name = "N")]
    limit: usize,

    /// Skip this many hits (for paging).
    #[arg(long, default_value_t = 0, value_name = "N")]
    offset: usize,

    /// Order of hits.
    #[arg(long, value_enum, default_value_t = SortArg::Relevance, allow_hyphen_values = true)]
    sort: SortArg,

    /// Print results as JSON: {"total", "hits": [...], "facets": {...}}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Relevance,
    /// Oldest first.
    Year,
    /// Newest first.
    #[value(name = "-year")]
    YearDescending,
}

fn facet_name(value: &str) -> Result<String, String> {
    let known: Vec<&str> = FACETS.iter().map(|(name, _)| *name).collect();
    if known.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("unknown facet '{value}' (facets: {})", known.join(", ")))
    }
}

fn filter_pair(value: &str) -> Result<(String, String), String> {
    let (facet, wanted) = value.split_once('=').ok_or_else(|| format!("'{value}' is not FACET=VALUE"))?;
    Ok((facet_name(facet.trim())?, wanted.trim().to_string()))
}

pub fn run(index: &Path, args: SearchArgs) -> Result<u8, CliError> {
    let reader = IndexReader::open(index)?;
    let request = SearchRequest {
        query: args.query.join(" "),
        filters: args.filter,
        facets: args.facet,
        facet_size: args.facet_size,
        limit: args.limit,
        offset: args.offset,
        sort: match args.sort {
            SortArg::Relevance => Sort::Relevance,
            SortArg::Year => Sort::YearAscending,
            SortArg::YearDescending => Sort::YearDescending,
        },
    };
    let results = reader.search(&request)?;
    if args.json {
        output::json(&results)?;
    } else {
        output::hits_for_people(&results, args.offset)?;
    }
    Ok(if results.total == 0 { exit::NOTHING_FOUND } else { exit::OK })
}

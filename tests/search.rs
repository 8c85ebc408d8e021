//! Search through the built binary: bilingual matching (880 linkage, CJK bigrams), fields,
//! ranges, filters, facets, sorting, paging, errors and the JSON contract.

mod util;

use std::path::Path;

use serde_json::Value;
use util::{acadex, fixture, import, search};

fn fixture_index() -> tempfile::TempDir {
    let index = tempfile::tempdir().expect("tempdir");
    let (_, code) = import(index.path(), &[fixture("valid")]);
    assert_eq!(code, 0);
    index
}

fn ids(results: &Value) -> Vec<String> {
    results["hits"].as_array().expect("hits").iter().map(|h| h["id"].as_str().expect("id").to_string()).collect()
}

const CHINESE_BOOK: &str = "marc:(OCoLC)ocm63111280";

#[test]
fn a_record_catalogued_in_pinyin_with_880_hanzi_is_found_by_either_script() {
    let index = fixture_index();
    for query in [
        "日本民俗",
        "中國文化",
        "Riben min su",
        "\"Zhongguo wen hua\"",
        "author:葉漢鰲",
        "author:\"Ye Hanao\"",
        "大新書局",
    ] {
        let (results, code) = search(index.path(), query, &[]);
        assert_eq!(code, 0, "{query} finds something");
        assert_eq!(ids(&results)[0], CHINESE_BOOK, "{query} finds the Chinese book first");
    }
}

/// A DC record with a Chinese and an English title, as a librarian's file would have it.
fn panda_record(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("panda.xml");
    std::fs::write(
        &path,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title>大熊猫研究</dc:title>
  <dc:title>Studies of the giant panda</dc:title>
  <dc:creator>Wu, Yongsheng</dc:creator>
  <dc:date>2019</dc:date>
  <dc:type>Text</dc:type>
  <dc:language>zh</dc:language>
  <dc:identifier>https://doi.org/10.9999/PANDA.2019</dc:identifier>
</oai_dc:dc>"#,
    )
    .expect("write");
    path
}

#[test]
fn chinese_words_are_found_inside_longer_chinese_titles() {
    let index = fixture_index();
    let work = tempfile::tempdir().expect("tempdir");
    import(index.path(), &[panda_record(work.path())]);
    for query in ["熊猫", "大熊猫", "熊猫研究", "giant panda", "Wu Yongsheng", "author:wu", "doi:10.9999/panda.2019"]
    {
        let (results, code) = search(index.path(), query, &[]);
        assert_eq!((code, ids(&results).first().map(String::as_str)), (0, Some("doi:10.9999/panda.2019")), "{query}");
    }
    let (results, code) = search(index.path(), "熊猫 AND 日本", &[]);
    assert_eq!((code, results["total"].as_u64()), (1, Some(0)), "all words must match");
}

#[test]
fn fields_ranges_filters_and_facets_agree_with_the_records() {
    let index = fixture_index();
    let (all, _) = search(index.path(), "", &["--limit", "1000"]);
    let total = all["total"].as_u64().expect("total");
    assert_eq!(total, 116);

    let (ranged, code) =
        search(index.path(), "year:[1990 TO 2010]", &["--limit", "1000", "--facet", "year", "--facet-size", "100"]);
    assert_eq!(code, 0);
    let hits = ranged["hits"].as_array().expect("hits");
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| (1990..=2010).contains(&h["year"].as_i64().expect("year"))));
    let by_year: u64 =
        ranged["facets"]["year"].as_array().expect("year facet").iter().map(|b| b["count"].as_u64().expect("n")).sum();
    assert_eq!(by_year, ranged["total"].as_u64().expect("total"));

    // language=eng OR language=chi, AND type=book.
    let (filtered, _) = search(
        index.path(),
        "",
        &[
            "--filter",
            "language=eng",
            "--filter",
            "language=CHI",
            "--filter",
            "type=book",
            "--limit",
            "1000",
            "--facet",
            "language",
        ],
    );
    let languages = filtered["facets"]["language"].as_array().expect("language facet");
    assert!(filtered["total"].as_u64().expect("total") > 1);
    assert!(ids(&filtered).contains(&CHINESE_BOOK.to_string()));
    assert!(filtered["hits"].as_array().expect("hits").iter().all(|h| h["type"] == "book"));
    for bucket in languages {
        let value = bucket["value"].as_str().expect("value");
        assert!(value == "eng" || value == "chi" || bucket["count"].as_u64() < filtered["total"].as_u64(), "{bucket}");
    }

    let (sources, _) = search(index.path(), "", &["--facet", "source", "--limit", "0"]);
    let oai_marc = sources["facets"]["source"]
        .as_array()
        .expect("source")
        .iter()
        .find(|b| b["value"] == "oai-pmh+marcxml")
        .cloned();
    assert_eq!(oai_marc.map(|b| b["count"].clone()), Some(Value::from(100)));
}

#[test]
fn asking_for_facets_changes_neither_the_count_nor_the_hits() {
    // Searches with and without facets take different collectors (see `IndexReader::search`).
    let index = fixture_index();
    let queries = ["history", "the OR of", "history OR chinese OR japanese", "s*", "year:[1900 TO 2000]"];
    for (query, order) in queries.iter().flat_map(|q| [(*q, "relevance"), (*q, "-year")]) {
        let (plain, code) = search(index.path(), query, &["--limit", "7", "--sort", order]);
        assert_eq!(code, 0, "{query}");
        let facets = ["--facet", "type", "--facet", "subject"];
        let (faceted, _) = search(index.path(), query, &[&["--limit", "7", "--sort", order][..], &facets].concat());
        assert!(plain["total"].as_u64().expect("total") > 1, "{query} matches several records");
        assert_eq!(plain["total"], faceted["total"], "{query}");
        assert_eq!(ids(&plain), ids(&faceted), "{query}");
        let scores =
            |r: &Value| r["hits"].as_array().expect("hits").iter().map(|h| h["score"].clone()).collect::<Vec<_>>();
        assert_eq!(scores(&plain), scores(&faceted), "{query}");
        assert_eq!(plain["facets"], serde_json::json!({}), "{query}");
        let types: u64 =
            faceted["facets"]["type"].as_array().expect("type").iter().map(|b| b["count"].as_u64().expect("n")).sum();
        assert_eq!(types, faceted["total"].as_u64().expect("total"), "{query}");
    }
}

#[test]
fn sorting_and_paging() {
    let index = fixture_index();
    let (newest, _) = search(index.path(), "", &["--sort", "-year", "--limit", "20"]);
    let years: Vec<i64> = newest["hits"].as_array().expect("hits").iter().filter_map(|h| h["year"].as_i64()).collect();
    assert!(years.windows(2).all(|w| w[0] >= w[1]), "newest first: {years:?}");
    let (two, _) = search(index.path(), "", &["--sort", "year", "--limit", "2"]);
    let (second, _) = search(index.path(), "", &["--sort", "year", "--limit", "1", "--offset", "1"]);
    assert_eq!(ids(&two)[1], ids(&second)[0]);
}

#[test]
fn the_json_contract_has_the_documented_keys() {
    let index = fixture_index();
    let (results, _) = search(index.path(), "Chabon", &["--facet", "type"]);
    let hit = &results["hits"][0];
    for key in ["id", "score", "type", "title", "year", "contributors", "venue", "snippet"] {
        assert!(hit.get(key).is_some(), "hit has {key}: {hit}");
    }
    assert!(hit["contributors"][0].as_str().expect("name").contains("Chabon"));
    assert_eq!(results["facets"]["type"][0]["value"], "book");
    let (stats, _) = util::json_of(acadex(index.path()).args(["stats", "--json"]));
    assert_eq!(stats["records"], 116);
    assert_eq!(stats["types"].as_object().expect("types").values().map(|v| v.as_u64().expect("n")).sum::<u64>(), 116);
    let (record, code) = util::json_of(acadex(index.path()).args(["show", CHINESE_BOOK]));
    assert_eq!(code, 0);
    assert_eq!(record["id"], CHINESE_BOOK);
    let original = acadex(index.path()).args(["show", "--original", CHINESE_BOOK]).output().expect("runs");
    assert!(String::from_utf8_lossy(&original.stdout).starts_with("<record><leader>01685cam a2200421Ia 4500</leader>"));
}

#[test]
fn people_get_a_readable_list_with_snippets_and_facets() {
    let index = fixture_index();
    let output = acadex(index.path()).args(["search", "民俗", "--facet", "language"]).output().expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("1 record found"), "{text}");
    assert!(text.contains("Riben min su"));
    assert!(text.contains("Ye, Hanao · 2005 · book"));
    assert!(text.contains("id: marc:(OCoLC)ocm63111280"));
    assert!(text.contains("… 日本民俗·信仰·藝能·與中國文化"), "snippet: {text}");
    assert!(text.contains("language:\n  chi"));
}

#[test]
fn a_query_that_cannot_parse_says_where() {
    let index = fixture_index();
    let output = acadex(index.path()).args(["search", "title:\"giant panda"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unclosed quote"), "{stderr}");
    assert!(stderr.contains("  title:\"giant panda\n        ^ here"), "{stderr}");
    let output = acadex(index.path()).args(["search", "autor:wu"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown field 'autor'"));
    acadex(index.path()).args(["search", "x", "--filter", "colour=red"]).assert().code(2);
}

/// `fixtures/index-v1` was written by acadex at schema version 1 (commit 96002b8), which stored
/// the record JSON and the original as bytes; version 2 stores them as text. reindex must read
/// the old kind.
#[test]
fn reindex_rebuilds_a_schema_version_1_index_written_by_an_earlier_acadex() {
    let index = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(fixture("index-v1")).expect("fixture index") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, index.path().join(path.file_name().expect("name"))).expect("copy");
    }
    let output = acadex(index.path()).args(["search", "panda"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("acadex reindex"));

    acadex(index.path()).arg("reindex").assert().code(0).stderr(predicates::str::contains("reindexed 3 records"));
    let (all, code) = search(index.path(), "", &["--limit", "10"]);
    assert_eq!(code, 0);
    let mut found = ids(&all);
    found.sort();
    assert_eq!(found, ["marc:(DLC)5637241", "marc:(OCoLC)ocm63111280", "marc:12149120"]);
    // The 880 hanzi title, read again from the stored original, is searchable.
    let (hits, _) = search(index.path(), "日本民俗", &[]);
    assert_eq!(ids(&hits), ["marc:(OCoLC)ocm63111280"]);
    // The original comes back byte for byte: it is the record element of the fixture file.
    let source =
        std::fs::read_to_string(fixture("valid/marcxml/CONVERTED_pymarc_from_marc4j_oclc_63111280_chinese_880.xml"))
            .expect("fixture");
    let record = &source[source.find("<record>").expect("start")..source.rfind("</record>").expect("end") + 9];
    let shown = acadex(index.path()).args(["show", "--original", "marc:(OCoLC)ocm63111280"]).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&shown.stdout).trim_end(), record);
}

#[test]
fn an_index_of_another_schema_version_says_so_and_reindex_rebuilds_it_from_stored_originals() {
    let index = fixture_index();
    let (before, _) = search(index.path(), "", &["--limit", "1000"]);
    std::fs::write(index.path().join("acadex.json"), r#"{"schema_version":0}"#).expect("age the index");
    let output = acadex(index.path()).args(["search", "panda"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("acadex reindex"));

    acadex(index.path()).arg("reindex").assert().code(0).stderr(predicates::str::contains("reindexed 116 records"));
    let (after, code) = search(index.path(), "", &["--limit", "1000"]);
    assert_eq!(code, 0);
    let sorted = |v: &Value| {
        let mut ids = ids(v);
        ids.sort();
        ids
    };
    assert_eq!(sorted(&after), sorted(&before));
    let (found, _) = search(index.path(), "日本民俗", &[]);
    assert_eq!(ids(&found), vec![CHINESE_BOOK]);
    let (record, _) = util::json_of(acadex(index.path()).args(["show", "oai:zenodo.org:8435696"]));
    assert_eq!(record["id"], "doi:10.5281/zenodo.8435696", "show finds a record by any identity key");
    assert!(record["source"]["file"].as_str().expect("file").ends_with("scythe_list_records_i5_oai_dc.xml"));
}

#[test]
fn words_ending_in_a_star_match_as_prefixes() {
    let index = fixture_index();
    let (results, code) = search(index.path(), "Chabon AND (kav* OR summ*)", &[]);
    assert_eq!(code, 0);
    let mut found = ids(&results);
    found.sort();
    assert_eq!(found, vec!["marc:11939876", "marc:12883376"]);
    let (results, _) = search(index.path(), "title:amaz*", &[]);
    assert_eq!(ids(&results), vec!["marc:11939876"]);
    let (results, code) = search(index.path(), "zzzq*", &[]);
    assert_eq!((code, results["total"].as_u64()), (1, Some(0)));
}

/// Facet counts are exact over several segments with deleted (re-imported) records: each value
/// shown counts what filtering on it finds, whether the query matches everything (counted from
/// the columns) or some records (counted document by document).
#[test]
fn facet_counts_equal_what_filtering_on_each_value_finds() {
    let index = tempfile::tempdir().expect("tempdir");
    for folder in ["marcxml", "oai_dc", "http/oai_pmh", "marcxml"] {
        import(index.path(), &[util::corpus(folder)]);
    }
    // Each small import leaves its own segment: counts must add up across them.
    assert!(util::segment_count(index.path()) >= 3, "several segments");
    let facets = ["type", "year", "language", "country", "subject", "source"];
    for query in ["", "history OR china OR data"] {
        let mut args = vec!["--limit", "0", "--facet-size", "5"];
        for facet in facets {
            args.extend(["--facet", facet]);
        }
        let (results, _) = search(index.path(), query, &args);
        let mut checked = 0;
        for facet in facets {
            let counts = results["facets"][facet].as_array().expect("facet counts");
            assert!(!counts.is_empty(), "{query:?}: {facet} has values");
            for bucket in counts {
                let value = bucket["value"].as_str().expect("value");
                let filter = format!("{facet}={value}");
                let (filtered, _) = search(index.path(), query, &["--limit", "0", "--filter", &filter]);
                assert_eq!(bucket["count"], filtered["total"], "{query:?}: {filter}");
                checked += 1;
            }
        }
        assert!(checked >= 15, "{checked} values checked");
    }
}

/// Found by the query fuzz target: excluding a phrase that has run out of matches tripped a
/// debug assertion inside tantivy. The answer must be the same as without the exclusion when
/// no record holds the phrase.
#[test]
fn excluding_a_phrase_no_record_holds_changes_nothing() {
    let index = tempfile::tempdir().expect("tempdir");
    import(index.path(), &[fixture("valid/oai_marc/vufindharvest_marc.xml")]);
    let (plain, _) = search(index.path(), "b", &["--limit", "100"]);
    let (excluding, code) = search(index.path(), "b -L-u-j", &["--limit", "100"]);
    assert_eq!(code, 0);
    assert!(plain["total"].as_u64() > Some(0));
    assert_eq!(ids(&excluding), ids(&plain));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_with_success() {
    let index = fixture_index();
    let id = ids(&search(index.path(), "history", &[]).0)[0].clone();
    let commands: [&[&str]; 9] = [
        &["search", "history"],
        &["search", "--json", "history"],
        &["stats"],
        &["stats", "--json"],
        &["show", &id],
        &["show", "--json", &id],
        &["show", "--original", &id],
        &["check"],
        &["completions", "bash"],
    ];
    for args in commands {
        // The reading end is closed before acadex starts, so its first write fails with EPIPE,
        // as when `acadex ... | head` has read what it wanted.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("acadex"))
            .env_clear()
            .arg("--index")
            .arg(index.path())
            .args(args)
            .stdout(writer)
            .output()
            .expect("acadex runs");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "acadex {args:?} says nothing");
        assert_eq!(output.status.code(), Some(0), "acadex {args:?}");
    }
}

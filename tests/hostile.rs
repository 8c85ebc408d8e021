//! Hostile and broken input, through the built binary: no panic, no hang, no entity expansion,
//! nothing fetched, bounded memory, the documented exit code, an error naming file and line.

mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use util::{acadex, all_ids, fixture, import, search};

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A real record (Chabon's Summerland) with its control number replaced.
fn real_record(number: usize) -> String {
    let source = std::fs::read_to_string(fixture("valid/marcxml/marc4j_chabon.xml")).expect("fixture");
    let start = source.rfind("<record>").expect("second record");
    let end = source.rfind("</record>").expect("end") + "</record>".len();
    source[start..end].replace("12883376", &format!("hostile{number:05}"))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Imports a file with a time bound and returns the report and exit code.
fn import_within(index: &Path, file: &Path, limit: Duration) -> (serde_json::Value, i32) {
    let started = Instant::now();
    let outcome = import(index, &[file.to_path_buf()]);
    assert!(started.elapsed() < limit, "{} took {:?}", file.display(), started.elapsed());
    outcome
}

fn first_reason(report: &serde_json::Value) -> String {
    report["errors"][0]["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn billion_laughs_is_harmless() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut doctype = String::from("<!DOCTYPE collection [<!ENTITY lol \"lol\">");
    for level in 1..10 {
        let previous = if level == 1 { "lol".to_string() } else { format!("lol{}", level - 1) };
        doctype.push_str(&format!("<!ENTITY lol{level} \"{}\">", format!("&{previous};").repeat(10)));
    }
    doctype.push_str("]>");
    let bomb = real_record(1).replace("Summerland", "&lol9;");
    let file = write(
        work.path(),
        "laughs.xml",
        format!(
            "{HEADER}{doctype}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">{bomb}{}</collection>",
            real_record(2)
        ),
    );
    let (report, code) = import_within(&work.path().join("index"), &file, Duration::from_secs(10));
    assert_eq!((code, report["indexed"].as_u64(), report["rejected"].as_u64()), (3, Some(1), Some(1)), "{report}");
    assert!(first_reason(&report).contains("undefined entity &lol9;"), "{report}");
    assert_eq!(report["errors"][0]["record"], 1);
}

#[test]
fn external_entities_are_never_fetched() {
    let work = tempfile::tempdir().expect("tempdir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();
    let secret = write(work.path(), "secret.txt", "TOPSECRETWORD");
    let doctype = format!(
        "<!DOCTYPE collection [<!ENTITY file SYSTEM \"file://{}\"><!ENTITY web SYSTEM \"http://127.0.0.1:{port}/x\">]>",
        secret.display()
    );
    let records = [real_record(1).replace("Summerland", "&file;"), real_record(2).replace("Summerland", "&web;")];
    let file = write(
        work.path(),
        "xxe.xml",
        format!(
            "{HEADER}{doctype}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">{}</collection>",
            records.concat()
        ),
    );
    let index = work.path().join("index");
    let (report, code) = import_within(&index, &file, Duration::from_secs(10));
    assert_eq!((code, report["rejected"].as_u64()), (3, Some(2)), "{report}");
    assert!(listener.accept().is_err(), "nothing connected to the local port");
    let (results, code) = search(&index, "TOPSECRETWORD", &[]);
    assert_eq!((code, results["total"].as_u64()), (1, Some(0)));
}

#[test]
fn deep_nesting_wide_tags_and_huge_text_are_refused_in_bounded_time() {
    let work = tempfile::tempdir().expect("tempdir");
    let index = work.path().join("index");

    let deep = format!("{HEADER}<collection>{}{}</collection>", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let (report, code) = import_within(&index, &write(work.path(), "deep.xml", deep), Duration::from_secs(10));
    assert_eq!(code, 3);
    assert!(first_reason(&report).contains("nested deeper than 256"), "{report}");

    let attributes: String = (0..100_000).map(|n| format!(" a{n}=\"x\"")).collect();
    let wide = real_record(3).replacen("<datafield tag=\"245\"", &format!("<datafield{attributes} tag=\"245\""), 1);
    let wide = format!("{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">{wide}</collection>");
    let (report, code) = import_within(&index, &write(work.path(), "wide.xml", wide), Duration::from_secs(20));
    assert_eq!((code, report["indexed"].as_u64()), (0, Some(1)), "100,000 attributes cost linear time: {report}");

    let huge = real_record(4).replace("Summerland", &"x".repeat(150 << 20));
    let huge =
        format!("{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">{}{huge}</collection>", real_record(5));
    let (report, code) = import_within(&index, &write(work.path(), "huge.xml", huge), Duration::from_secs(30));
    assert_eq!((code, report["indexed"].as_u64()), (3, Some(1)), "{report}");
    assert!(first_reason(&report).contains("larger than 64 MiB"), "{report}");
}

/// A record as `show --json` prints it, without where it was read from.
fn shown_without_source(index: &Path, id: &str) -> serde_json::Value {
    let (mut shown, code) = util::json_of(acadex(index).args(["show", id]));
    assert_eq!(code, 0, "{id} is in {}", index.display());
    shown.as_object_mut().expect("a record").remove("source");
    shown
}

#[test]
fn utf16_and_declared_encodings_are_converted_into_the_same_records() {
    let work = tempfile::tempdir().expect("tempdir");
    let chinese = fixture("valid/marcxml/CONVERTED_pymarc_from_marc4j_oclc_63111280_chinese_880.xml");
    let accented = util::corpus("marcxml/pymarc_utf8.xml");
    let cases = [
        ("chinese_880.gbk.xml", &chinese, "marc:(OCoLC)ocm63111280"),
        ("chinese_880.big5.xml", &chinese, "marc:(OCoLC)ocm63111280"),
        ("chinese_880.utf16le-bom.xml", &chinese, "marc:(OCoLC)ocm63111280"),
        ("chinese_880.utf16be-no-bom.xml", &chinese, "marc:(OCoLC)ocm63111280"),
        ("pymarc_utf8.latin1.xml", &accented, "marc:ASP925318/clmu"),
    ];
    for (name, utf8_source, id) in cases {
        let utf8_index = work.path().join(format!("utf8-{name}"));
        let converted_index = work.path().join(name);
        let (_, code) = import(&utf8_index, &[utf8_source.to_path_buf()]);
        assert_eq!(code, 0);
        let (report, code) =
            import_within(&converted_index, &fixture(&format!("encodings/{name}")), Duration::from_secs(10));
        assert_eq!((code, report["indexed"].as_u64()), (0, Some(1)), "{name}: {report}");
        let expected = shown_without_source(&utf8_index, id);
        assert_eq!(shown_without_source(&converted_index, id), expected, "{name} reads as its UTF-8 source");
    }
    let (found, _) = search(&work.path().join("chinese_880.gbk.xml"), "日本民俗", &[]);
    assert_eq!(found["total"], 1, "the hanzi of a GBK file are searchable");
}

#[test]
fn unknown_and_violated_encodings_are_refused_clearly() {
    let work = tempfile::tempdir().expect("tempdir");
    let index = work.path().join("index");
    let marc8 = format!(
        "<?xml version=\"1.0\" encoding=\"MARC-8\"?><collection xmlns=\"http://www.loc.gov/MARC21/slim\">{}</collection>",
        real_record(1)
    );
    let (report, code) = import_within(&index, &write(work.path(), "marc8.xml", marc8), Duration::from_secs(10));
    assert_eq!((code, report["indexed"].as_u64()), (3, Some(0)));
    assert!(first_reason(&report).contains("declares encoding MARC-8, which acadex does not know"), "{report}");

    // A byte that Shift_JIS does not have, in the second record of a file that declares it.
    let mut shift_jis = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n{}\n",
        real_record(1)
    )
    .into_bytes();
    let bad_at = shift_jis.len() + real_record(2).find("Summerland").expect("title");
    shift_jis.extend_from_slice(real_record(2).replace("Summerland", "Summer\u{7f}land").as_bytes());
    shift_jis[bad_at + 6] = 0xFF;
    shift_jis.extend_from_slice(b"\n</collection>");
    let (report, code) = import_within(&index, &write(work.path(), "sjis.xml", shift_jis), Duration::from_secs(10));
    assert_eq!((code, report["indexed"].as_u64()), (3, Some(1)), "the record before the bad byte is kept: {report}");
    assert!(first_reason(&report).contains(&format!("byte {} is not valid Shift_JIS", bad_at + 6)), "{report}");

    // Latin-1 bytes in a file that says UTF-8: the record before them is kept.
    let mut latin1 =
        format!("{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n{}\n", real_record(1)).into_bytes();
    let second_record_line = latin1.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    latin1.extend_from_slice(real_record(2).replace("Summerland", "Sommerl\u{e4}nd").as_bytes());
    let at = latin1.windows(2).position(|w| w == "ä".as_bytes()).expect("ä");
    latin1.splice(at..at + 2, [0xE4]);
    latin1.extend_from_slice(b"</collection>");
    let (report, code) = import_within(&index, &write(work.path(), "latin1.xml", latin1), Duration::from_secs(10));
    assert_eq!((code, report["indexed"].as_u64()), (3, Some(1)), "{report}");
    assert!(first_reason(&report).contains("invalid UTF-8"), "{report}");
    assert_eq!(report["errors"][0]["line"].as_u64(), Some(second_record_line), "the bad record's line");

    let nul = format!(
        "{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">{}</collection>",
        real_record(4).replace("Summerland", "Summer\0land")
    );
    let (report, code) = import_within(&index, &write(work.path(), "nul.xml", nul), Duration::from_secs(10));
    assert_eq!((code, report["rejected"].as_u64()), (3, Some(1)), "XML does not allow NUL: {report}");
    assert!(first_reason(&report).contains("NUL"), "{report}");
}

#[test]
fn a_thousand_records_with_ten_bad_ones_index_exactly_990() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut body = String::new();
    for n in 0..1000 {
        let record = real_record(n);
        body.push_str(&if n % 100 == 7 { record.replacen("<subfield code=\"a\">", "<subfield>", 1) } else { record });
        body.push('\n');
    }
    let file = write(
        work.path(),
        "thousand.xml",
        format!("{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n{body}</collection>"),
    );
    let index = work.path().join("index");
    let (report, code) = import_within(&index, &file, Duration::from_secs(60));
    assert_eq!((code, report["indexed"].as_u64(), report["rejected"].as_u64()), (3, Some(990), Some(10)));
    let records: Vec<u64> =
        report["errors"].as_array().expect("errors").iter().map(|e| e["record"].as_u64().expect("n")).collect();
    assert_eq!(records, (0..10).map(|k| k * 100 + 8).collect::<Vec<u64>>());
    assert_eq!(all_ids(&index).len(), 990);
    acadex(&index).arg("check").assert().code(0);
}

/// The CDATA pieces of a rejects file: the verbatim bytes of records that were not well-formed.
fn rejected_pieces(report: &serde_json::Value) -> Vec<String> {
    let rejects = std::fs::read_to_string(report["rejects_file"].as_str().expect("a rejects file")).expect("read");
    let pattern = regex::Regex::new(r"(?s)<!\[CDATA\[(.*?)\]\]></reject>").expect("re");
    pattern.captures_iter(&rejects).map(|c| c[1].to_string()).collect()
}

fn error_records(report: &serde_json::Value) -> Vec<u64> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["record"].as_u64().unwrap_or(0)).collect()
}

#[test]
fn broken_xml_inside_a_record_costs_only_that_record() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut body = String::new();
    for n in 0..30 {
        let record = real_record(n);
        let damaged = match n {
            3 => record.replacen("</subfield>", "</subfeld>", 1),
            10 => record[..record.len() / 2].to_string(),
            19 => record.replacen("Summerland", "Summer < land", 1),
            _ => record,
        };
        body.push_str(&damaged);
        body.push('\n');
    }
    let text = format!("{HEADER}<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n{body}</collection>\n");
    let file = write(work.path(), "damaged.xml", &text);
    let index = work.path().join("index");
    let (report, code) = import_within(&index, &file, Duration::from_secs(30));
    assert_eq!((code, report["indexed"].as_u64(), report["rejected"].as_u64()), (3, Some(27), Some(3)), "{report}");
    assert_eq!(error_records(&report), vec![4, 11, 20]);
    let expected: Vec<String> =
        (0..30).filter(|n| ![3, 10, 19].contains(n)).map(|n| format!("marc:hostile{n:05}")).collect();
    assert_eq!(all_ids(&index), expected);
    let pieces = rejected_pieces(&report);
    assert_eq!(pieces.len(), 3);
    for piece in &pieces {
        assert!(piece.starts_with("<record>") && text.contains(piece.as_str()), "verbatim: {piece}");
    }
    // A line after the breaks is still reported where it is.
    let line_of_record_20 = text[..text.find("hostile00019").expect("record 20")].lines().count() as u64;
    assert!(report["errors"][2]["line"].as_u64().expect("line") <= line_of_record_20);
}

#[test]
fn broken_xml_inside_an_oai_pmh_record_costs_only_that_record() {
    let work = tempfile::tempdir().expect("tempdir");
    let source = fixture("valid/oai_marc/vufindharvest_marc.xml");
    let clean_index = work.path().join("clean");
    let (clean, _) = import(&clean_index, std::slice::from_ref(&source));
    let text = std::fs::read_to_string(&source).expect("fixture");
    // Break the 10th OAI record in its header and the 50th inside its MARC record.
    let starts: Vec<usize> = text.match_indices("<record><header>").map(|(at, _)| at).collect();
    let mut damaged = text.clone();
    let inner = starts[49] + text[starts[49]..].find("</subfield>").expect("subfield");
    damaged.replace_range(inner..inner + "</subfield>".len(), "</subfield");
    let header = starts[9] + text[starts[9]..].find("</datestamp>").expect("datestamp");
    damaged.replace_range(header..header + "</datestamp>".len(), "</datestump>");
    let file = write(work.path(), "damaged-oai.xml", &damaged);
    let index = work.path().join("index");
    let (report, code) = import_within(&index, &file, Duration::from_secs(30));
    assert_eq!(code, 3);
    assert_eq!(report["rejected"].as_u64(), Some(2), "{report}");
    assert_eq!(report["indexed"].as_u64().expect("n"), clean["indexed"].as_u64().expect("n") - 2, "{report}");
    assert_eq!(error_records(&report), vec![10, 50]);
    assert_eq!(all_ids(&index).len(), all_ids(&clean_index).len() - 2);
    for piece in rejected_pieces(&report) {
        assert!(piece.starts_with("<record><header>") && damaged.contains(piece.as_str()), "verbatim: {piece}");
    }
}

//! Stable record identities: what makes a re-import an update rather than a duplicate.
//!
//! The id is derived from the best identifier a record carries, in the order the core issue
//! fixes: DOI, then OAI identifier, then the MARC control number (001 qualified by 003, the
//! cataloguing agency). Records with none of these fall back to other identifiers and finally
//! to a hash of their descriptive content, so that importing the same file twice is still
//! idempotent. Ids are readable (`doi:10.1000/xyz`, `oai:zenodo.org:1`, `marc:(OCoLC)ocm1`)
//! because users type them into `acadex show`.

use super::{IdScheme, Record};

/// Schemes that identify one record, best first, with the prefix their ids carry.
const IDENTITY_SCHEMES: [(IdScheme, &str); 6] = [
    (IdScheme::Doi, "doi:"),
    (IdScheme::Oai, ""),
    (IdScheme::ControlNumber, "marc:"),
    (IdScheme::SystemNumber, "marc:"),
    (IdScheme::Isbn, "isbn:"),
    (IdScheme::Handle, "hdl:"),
];

/// The stable id of a record.
pub fn stable_id(record: &Record) -> String {
    identity_keys(record).into_iter().next().unwrap_or_else(|| content_id(record))
}

/// Every identity key of a record, best first. The index keeps them all, so that a deletion
/// that names a record by its OAI identifier finds it even when its id is a DOI.
pub fn identity_keys(record: &Record) -> Vec<String> {
    let mut keys = Vec::new();
    for (scheme, prefix) in IDENTITY_SCHEMES {
        if let Some(value) = record.identifier(scheme) {
            let key = match scheme {
                IdScheme::Doi => [prefix, &normalise_doi(value)].concat(),
                IdScheme::Oai => oai_key(value),
                _ => [prefix, value].concat(),
            };
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// The identity key of an OAI identifier (OAI identifiers already start with `oai:`).
pub fn oai_key(identifier: &str) -> String {
    let identifier = identifier.trim();
    if identifier.starts_with("oai:") { identifier.to_string() } else { ["oai:", identifier].concat() }
}

/// DOIs are case-insensitive and often written as resolver URLs; `10.1000/ABC`,
/// `https://doi.org/10.1000/abc` and `doi:10.1000/abc` are the same DOI.
pub fn normalise_doi(doi: &str) -> String {
    let doi = doi.trim();
    let lower = doi.to_lowercase();
    let start = lower.find("10.").unwrap_or(0);
    lower[start..].trim_end_matches(['.', ',', ';']).to_string()
}

/// A hash of what describes the record, for records with no identifier at all.
fn content_id(record: &Record) -> String {
    let first_contributor = record.contributors.first().map(|c| c.display_name()).unwrap_or_default();
    let year = record.year().map(|y| y.to_string()).unwrap_or_default();
    let title = record.title.as_deref().unwrap_or_default();
    let url = record.identifier(IdScheme::Url).unwrap_or_default();
    let mut hash = Fnv64::default();
    for part in [title, year.as_str(), first_contributor.as_str(), url] {
        hash.write(part.as_bytes());
        hash.write(&[0x1f]);
    }
    format!("hash:{:016x}", hash.0)
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`, which
/// matters because these ids live on disk.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_with(ids: &[(IdScheme, &str)]) -> Record {
        let mut record = Record { title: Some("Giant panda".into()), ..Record::default() };
        for (scheme, value) in ids {
            record.add_identifier(*scheme, *value);
        }
        record
    }

    #[test]
    fn doi_wins_over_oai_and_control_number() {
        let record = record_with(&[
            (IdScheme::ControlNumber, "(OCoLC)ocm1"),
            (IdScheme::Oai, "oai:x.org:1"),
            (IdScheme::Doi, "https://doi.org/10.1000/ABC"),
        ]);
        assert_eq!(stable_id(&record), "doi:10.1000/abc");
        assert_eq!(identity_keys(&record), vec!["doi:10.1000/abc", "oai:x.org:1", "marc:(OCoLC)ocm1"]);
    }

    #[test]
    fn control_number_is_used_when_nothing_better() {
        let record = record_with(&[(IdScheme::ControlNumber, "(DLC)123"), (IdScheme::Isbn, "978")]);
        assert_eq!(stable_id(&record), "marc:(DLC)123");
    }

    #[test]
    fn records_without_identifiers_hash_their_content_stably() {
        let a = record_with(&[]);
        let b = record_with(&[]);
        assert_eq!(stable_id(&a), stable_id(&b));
        assert!(stable_id(&a).starts_with("hash:"));
        let other = Record { title: Some("Red panda".into()), ..Record::default() };
        assert_ne!(stable_id(&a), stable_id(&other));
    }

    #[test]
    fn oai_keys_get_their_prefix_once() {
        assert_eq!(oai_key("oai:a:1"), "oai:a:1");
        assert_eq!(oai_key("a:1"), "oai:a:1");
    }
}

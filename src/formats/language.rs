//! Language codes to one vocabulary, ISO 639-2/B (what MARC uses), so the language facet does
//! not split `en`, `eng` and `English` into three buckets.

/// Normalises a language code or English name to lower-case ISO 639-2/B. Unknown three-letter
/// codes pass through; anything else unrecognised is `None`.
pub(crate) fn normalise(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('.');
    // `en-US`, `zh_CN`: the language is before the region.
    let base = value.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    let mapped = match base.as_str() {
        "" | "|||" | "   " | "und" | "zxx" | "mul" => return None,
        "en" | "english" => "eng",
        "zh" | "zho" | "chinese" | "中文" | "汉语" | "漢語" => "chi",
        "ja" | "jpn" | "japanese" => "jpn",
        "ko" | "kor" | "korean" => "kor",
        "de" | "deu" | "german" => "ger",
        "fr" | "fra" | "french" => "fre",
        "es" | "spa" | "spanish" => "spa",
        "it" | "ita" | "italian" => "ita",
        "pt" | "por" | "portuguese" => "por",
        "ru" | "rus" | "russian" => "rus",
        "ar" | "ara" | "arabic" => "ara",
        "nl" | "nld" | "dutch" => "dut",
        "sv" | "swe" | "swedish" => "swe",
        "pl" | "pol" | "polish" => "pol",
        "cs" | "ces" | "czech" => "cze",
        "el" | "ell" | "greek" => "gre",
        "he" | "heb" | "hebrew" => "heb",
        "yi" | "yid" | "yiddish" => "yid",
        "hi" | "hin" | "hindi" => "hin",
        "tr" | "tur" | "turkish" => "tur",
        "vi" | "vie" | "vietnamese" => "vie",
        "th" | "tha" | "thai" => "tha",
        "la" | "lat" | "latin" => "lat",
        "fa" | "fas" | "persian" => "per",
        "ro" | "ron" | "romanian" => "rum",
        "da" | "dan" | "danish" => "dan",
        "fi" | "fin" | "finnish" => "fin",
        "no" | "nor" | "norwegian" => "nor",
        "hu" | "hun" | "hungarian" => "hun",
        "uk" | "ukr" | "ukrainian" => "ukr",
        "id" | "ind" | "indonesian" => "ind",
        "ms" | "msa" | "malay" => "may",
        code if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) => return Some(code.to_string()),
        _ => return None,
    };
    Some(mapped.to_string())
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn codes_and_names_meet_in_iso_639_2b() {
        assert_eq!(normalise("en").as_deref(), Some("eng"));
        assert_eq!(normalise("en-US").as_deref(), Some("eng"));
        assert_eq!(normalise("zh_CN").as_deref(), Some("chi"));
        assert_eq!(normalise("zho").as_deref(), Some("chi"));
        assert_eq!(normalise("English").as_deref(), Some("eng"));
        assert_eq!(normalise("yid").as_deref(), Some("yid"));
        assert_eq!(normalise("   "), None);
        assert_eq!(normalise("|||"), None);
        assert_eq!(normalise("x"), None);
    }
}

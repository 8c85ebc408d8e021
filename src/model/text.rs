//! Text clean-up shared by every importer, so that the same name or title reads and indexes
//! the same whatever format it came in.

use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

/// NFC-normalises and collapses runs of whitespace. MARC data (and anything converted from
/// MARC-8) is often in decomposed form (NFD); without this, `Müller` typed by a user would not
/// match `Mu\u{308}ller` in the record.
pub fn clean_text(text: &str) -> String {
    // Most catalogue text is already clean ASCII: skip the character-by-character rebuild.
    if is_tidy_ascii(text) { text.to_string() } else { rebuilt(text) }
}

/// [`clean_text`] of a string the caller built and owns: clean text is given back as it is,
/// not copied.
pub fn clean_owned_text(text: String) -> String {
    if is_tidy_ascii(&text) { text } else { rebuilt(&text) }
}

/// ASCII with words one space apart and no space at either end: what [`clean_text`] would
/// give back unchanged.
fn is_tidy_ascii(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.is_ascii()
        && !bytes.first().is_some_and(u8::is_ascii_whitespace)
        && !bytes.last().is_some_and(u8::is_ascii_whitespace)
        && !bytes.windows(2).any(|w| w[0].is_ascii_whitespace() && (w[1].is_ascii_whitespace() || w[0] != b' '))
}

/// The text rebuilt character by character: composed, and its whitespace collapsed.
fn rebuilt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    };
    if is_nfc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes {
        text.chars().for_each(|c| push(c, &mut out));
    } else {
        text.nfc().for_each(|c| push(c, &mut out));
    }
    out
}

/// Strips the ISBD punctuation that MARC cataloguers put at the end of subfields
/// (`Riben min su /`, `Taibei Shi :`, `Da xin shu ju,`), keeping a final period that ends an
/// abbreviation or initial (`Jr.`, `J.`, `ed.` keeps nothing special: only single capitals).
pub fn trim_punctuation(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        let before = text;
        text = text.trim_end_matches([' ', '/', ':', ';', '=', ',']).trim_end();
        if let Some(stripped) = text.strip_suffix('.') {
            let last_word = stripped.rsplit([' ', '.']).next().unwrap_or_default();
            let is_initial = last_word.chars().count() == 1 && last_word.chars().all(char::is_uppercase);
            if !is_initial && !stripped.ends_with('.') {
                text = stripped.trim_end();
            }
        }
        if text == before {
            return text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposed_text_is_composed_and_spaces_collapsed() {
        assert_eq!(clean_text("  Mu\u{308}ller \n  und   Sohn "), "Müller und Sohn");
        assert_eq!(clean_text("大熊猫研究"), "大熊猫研究");
        assert_eq!(clean_owned_text("Giant panda".to_string()), "Giant panda");
        assert_eq!(clean_owned_text(" Mu\u{308}ller  und Sohn".to_string()), "Müller und Sohn");
    }

    #[test]
    fn isbd_punctuation_is_trimmed() {
        assert_eq!(trim_punctuation("Riben min su, xin yang /"), "Riben min su, xin yang");
        assert_eq!(trim_punctuation("Taibei Shi :"), "Taibei Shi");
        assert_eq!(trim_punctuation("Da xin shu ju,"), "Da xin shu ju");
        assert_eq!(trim_punctuation("Social life and customs."), "Social life and customs");
        assert_eq!(trim_punctuation("Smith, J."), "Smith, J.");
        assert_eq!(trim_punctuation("日本民俗 /"), "日本民俗");
        assert_eq!(trim_punctuation(""), "");
    }
}

//! The text analysis of acadex: words for alphabetic scripts, overlapping bigrams for CJK.
//!
//! Why bigrams and not a dictionary segmenter (jieba, lindera): a search for `熊猫` must find
//! `大熊猫研究`, and a dictionary segmenter that cuts `大熊猫` as one word would miss it, while
//! bigrams (`大熊 熊猫 猫研 研究`) find every substring of two or more characters, which is what
//! librarians expect from a catalogue. Bigrams need no dictionary, so a one-shot `acadex search`
//! pays no 66–80 ms dictionary load, and they tokenise at hundreds of MB/s. This is what
//! Lucene's `CJKAnalyzer` and Elasticsearch's `cjk` analyzer do. A run of a single CJK character
//! is kept as a unigram so it can still be found; a one-character query only finds those.
//!
//! Words are lower-cased and folded to ASCII (`Xióngmāo` → `xiongmao`, `Müller` → `muller`), so
//! pinyin with or without tone marks and names with or without diacritics meet.

use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RawTokenizer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// Name of the analyzer for full-text fields.
pub const TEXT: &str = "acadex_text";
/// Name of the analyzer for exact values (codes, facets): the whole value, lower-cased.
pub const KEYWORD: &str = "acadex_keyword";

pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CjkBigramTokenizer).filter(LowerCaser).filter(AsciiFoldingFilter).build()
}

pub fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build()
}

/// Registers acadex's analyzers on an index; tantivy does not persist them, so every open must.
pub fn register(index: &tantivy::Index) {
    index.tokenizers().register(TEXT, text_analyzer());
    index.tokenizers().register(KEYWORD, keyword_analyzer());
}

/// True for characters of scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}' // CJK Extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK Unified Ideographs
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}' // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2FFFF}' // Extensions B–F
    )
}

#[derive(Clone, Copy, Default)]
pub struct CjkBigramTokenizer;

pub struct CjkBigramStream<'a> {
    text: &'a str,
    /// Byte position of the next character to look at.
    cursor: usize,
    /// Inside a CJK run: the byte offset of the previous character, to pair with the next.
    previous_cjk: Option<usize>,
    /// Whether the current CJK run has emitted a bigram yet (else its last char is a unigram).
    run_emitted: bool,
    token: Token,
}

impl Tokenizer for CjkBigramTokenizer {
    type TokenStream<'a> = CjkBigramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CjkBigramStream<'a> {
        CjkBigramStream { text, cursor: 0, previous_cjk: None, run_emitted: false, token: Token::default() }
    }
}

impl CjkBigramStream<'_> {
    fn emit(&mut self, from: usize, to: usize) -> bool {
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.token.position.wrapping_add(1);
        self.token.position_length = 1;
        true
    }
}

/// Where the word starting at byte `start` ends: at the first character that is neither a
/// letter nor a digit, or is CJK. Most catalogue text is ASCII, so ASCII bytes are stepped over
/// without decoding characters; the first other byte hands over to the character-wise scan.
fn word_end(text: &str, start: usize) -> usize {
    let ascii_run = text.as_bytes()[start..].iter().position(|b| !b.is_ascii_alphanumeric());
    let from = match ascii_run {
        None => return text.len(),
        Some(at) if text.as_bytes()[start + at].is_ascii() => return start + at,
        Some(at) => start + at,
    };
    text[from..]
        .char_indices()
        .find(|&(_, c)| !c.is_alphanumeric() || is_cjk(c))
        .map_or(text.len(), |(at, _)| from + at)
}

impl TokenStream for CjkBigramStream<'_> {
    fn advance(&mut self) -> bool {
        while let Some(c) = self.text[self.cursor..].chars().next() {
            let start = self.cursor;
            let end = start + c.len_utf8();
            if is_cjk(c) {
                self.cursor = end;
                if let Some(previous) = self.previous_cjk.replace(start) {
                    self.run_emitted = true;
                    return self.emit(previous, end);
                }
                continue;
            }
            // A non-CJK character ends any CJK run; a run of one character is a unigram.
            if let Some(previous) = self.previous_cjk.take() {
                let single = !self.run_emitted;
                self.run_emitted = false;
                if single {
                    return self.emit(previous, start);
                }
            }
            if c.is_alphanumeric() {
                let word_end = word_end(self.text, start);
                self.cursor = word_end;
                return self.emit(start, word_end);
            }
            self.cursor = end;
        }
        if let Some(previous) = self.previous_cjk.take() {
            let single = !self.run_emitted;
            self.run_emitted = false;
            if single {
                return self.emit(previous, self.text.len());
            }
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = text_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn cjk_runs_become_overlapping_bigrams() {
        assert_eq!(tokens("大熊猫研究"), vec!["大熊", "熊猫", "猫研", "研究"]);
        assert_eq!(tokens("熊猫"), vec!["熊猫"]);
    }

    #[test]
    fn mixed_scripts_split_at_script_boundaries() {
        assert_eq!(tokens("Giant panda 大熊猫 (2019)"), vec!["giant", "panda", "大熊", "熊猫", "2019"]);
        assert_eq!(tokens("COVID-19疫情"), vec!["covid", "19", "疫情"]);
    }

    #[test]
    fn single_cjk_characters_are_kept() {
        assert_eq!(tokens("葉 漢"), vec!["葉", "漢"]);
        assert_eq!(tokens("日本民俗·信仰"), vec!["日本", "本民", "民俗", "信仰"]);
    }

    #[test]
    fn words_end_where_letters_and_digits_end_in_any_script() {
        assert_eq!(tokens("abc-déf_ghi Straße2x"), vec!["abc", "def", "ghi", "strasse2x"]);
        assert_eq!(tokens("école naïve, Ωmega 42"), vec!["ecole", "naive", "ωmega", "42"]);
        assert_eq!(tokens("panda大熊猫 x"), vec!["panda", "大熊", "熊猫", "x"]);
    }

    #[test]
    fn the_ascii_fast_path_ends_words_where_the_character_scan_does() {
        let by_chars = |text: &str, start: usize| {
            text[start..]
                .char_indices()
                .find(|&(_, c)| !c.is_alphanumeric() || is_cjk(c))
                .map_or(text.len(), |(at, _)| start + at)
        };
        let texts = [
            "a",
            "ab1 c",
            "Müller-Lüdenscheidt",
            "x²y",
            "ǅemal",
            "abc中文",
            "9\u{300}a",
            "e\u{301}t\u{e9}",
            "tail\u{2003}",
        ];
        for text in texts {
            for (start, _) in text.char_indices() {
                assert_eq!(word_end(text, start), by_chars(text, start), "{text:?} from {start}");
            }
        }
    }

    #[test]
    fn words_are_folded_to_ascii_lowercase() {
        assert_eq!(tokens("Xióngmāo Müller"), vec!["xiongmao", "muller"]);
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let mut analyzer = text_analyzer();
        let text = "Ye 葉漢鰲";
        let mut stream = analyzer.token_stream(text);
        let mut spans = Vec::new();
        while stream.advance() {
            let token = stream.token();
            spans.push(&text[token.offset_from..token.offset_to]);
        }
        assert_eq!(spans, vec!["Ye", "葉漢", "漢鰲"]);
    }
}

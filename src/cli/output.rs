//! Output shared by the subcommands: JSON for scripts, and the layout of hits for people.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use super::CliError;
use crate::index::{Hit, SearchResults};

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    // Keeps an I/O error as it is, so that a closed pipe ends the command quietly.
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// Bold on a terminal, nothing on a pipe (like grep's colours).
struct Style {
    terminal: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.terminal { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// Prints hits and facets for people:
///
/// ```text
///  1. Riben min su, xin yang, yi neng, yu Zhongguo wen hua
///     Ye, Hanao · 2005 · book · Taibei Shi
///     id: marc:(OCoLC)ocm63111280
///     … 日本民俗·信仰·藝能·與中國文化
/// ```
pub fn hits_for_people(results: &SearchResults, offset: usize) -> Result<(), CliError> {
    let style = Style { terminal: io::stdout().is_terminal() };
    let mut out = io::stdout().lock();
    let shown = results.hits.len();
    let plural = if results.total == 1 { "" } else { "s" };
    writeln!(
        out,
        "{} record{plural} found{}",
        results.total,
        if shown > 0 && shown < results.total {
            format!(", showing {}–{}", offset + 1, offset + shown)
        } else {
            String::new()
        }
    )?;
    for (number, hit) in results.hits.iter().enumerate() {
        writeln!(out)?;
        write_hit(&mut out, &style, offset + number + 1, hit)?;
    }
    for (facet, counts) in &results.facets {
        writeln!(out)?;
        writeln!(out, "{}", style.paint("1", &format!("{facet}:")))?;
        let width = counts.iter().map(|c| c.value.chars().count()).max().unwrap_or(0).min(60);
        for count in counts {
            let value = truncate(&count.value, 60);
            let pad = width.saturating_sub(value.chars().count());
            writeln!(out, "  {value}{} {:>7}", " ".repeat(pad), count.count)?;
        }
    }
    Ok(())
}

fn write_hit(out: &mut impl Write, style: &Style, number: usize, hit: &Hit) -> io::Result<()> {
    let title = hit.title.as_deref().unwrap_or("[no title]");
    writeln!(out, "{number:>3}. {}", style.paint("1", title))?;
    let mut facts: Vec<String> = Vec::new();
    if !hit.contributors.is_empty() {
        facts.push(hit.contributors.join("; "));
    }
    if let Some(year) = hit.year {
        facts.push(year.to_string());
    }
    facts.push(hit.item_type.clone());
    if let Some(venue) = &hit.venue {
        facts.push(truncate(venue, 70));
    }
    writeln!(out, "     {}", facts.join(" · "))?;
    writeln!(out, "     id: {}", hit.id)?;
    if let Some(snippet) = &hit.snippet {
        let mut text = String::new();
        let mut at = 0;
        for [start, end] in &snippet.highlights {
            let (Some(before), Some(word)) = (snippet.text.get(at..*start), snippet.text.get(*start..*end)) else {
                continue;
            };
            text.push_str(before);
            text.push_str(&style.paint("1;33", word));
            at = *end;
        }
        text.push_str(snippet.text.get(at..).unwrap_or_default());
        let text = text.replace('\n', " ");
        if !text.trim().is_empty() {
            writeln!(out, "     … {}", text.trim())?;
        }
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

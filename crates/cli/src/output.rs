//! Rendering results: aligned tables for people, CSV and JSON for tools.

use std::io::{self, Write};

use anyhow::Context;
use prost_reflect::{DescriptorPool, DynamicMessage};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with headings.
    Table,
    /// The full response as proto3 JSON.
    Json,
    /// The table's rows as CSV with a header line.
    Csv,
}

/// A result table: headings and rows of already formatted cells.
#[derive(Debug, Default)]
pub struct Table {
    /// An optional line printed above the table (tables only).
    pub title: Option<String>,
    /// Column headings.
    pub headers: Vec<String>,
    /// Rows; each has one cell per heading.
    pub rows: Vec<Vec<String>>,
    /// Lines printed below the table (tables only): coverage notes, sources.
    pub notes: Vec<String>,
}

impl Table {
    /// A table with these headings.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|&h| h.to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Appends a row. Invisible and direction-override characters (in names stored before
    /// the registry refused them) are shown as `<U+XXXX>`, so what a terminal displays is
    /// what the data holds.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| visible(&c)).collect());
    }

    /// Appends a note line.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        if let Some(title) = &self.title {
            writeln!(out, "{title}")?;
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // A column of numbers is right-aligned, heading included.
        let numeric: Vec<bool> = (0..self.headers.len())
            .map(|c| {
                !self.rows.is_empty()
                    && self.rows.iter().all(|r| {
                        r.get(c)
                            .is_none_or(|cell| cell.is_empty() || looks_numeric(cell))
                    })
            })
            .collect();
        let line = |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
            let mut text = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = width.saturating_sub(cell.chars().count());
                if numeric[i] {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(out, &mut self.headers.iter().map(String::as_str))?;
        for row in &self.rows {
            line(out, &mut row.iter().map(String::as_str))?;
        }
        if self.rows.is_empty() {
            writeln!(out, "(none)")?;
        }
        for note in &self.notes {
            writeln!(out, "{note}")?;
        }
        Ok(())
    }

    fn write_csv(&self, out: impl Write) -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(&self.headers)?;
        for row in &self.rows {
            // Tools want plain numbers: no digit grouping, no percent sign.
            writer.write_record(row.iter().map(|cell| {
                if looks_numeric(cell) {
                    cell.replace(',', "").trim_end_matches('%').to_owned()
                } else {
                    cell.clone()
                }
            }))?;
        }
        writer.flush()?;
        Ok(())
    }
}

/// `text` with every hidden character spelled out.
pub fn visible(text: &str) -> String {
    if !text.chars().any(autointel_domain::text::is_hidden) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if autointel_domain::text::is_hidden(c) {
                format!("<U+{:04X}>", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn looks_numeric(cell: &str) -> bool {
    !cell.is_empty()
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '+' | '%' | '−'))
}

/// Prints a response: the table, or the whole message as JSON.
pub fn print<M: prost::Message>(
    format: Format,
    message: &M,
    full_name: &str,
    table: impl FnOnce(&M) -> Table,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Table => table(message).write_text(&mut out)?,
        Format::Csv => table(message).write_csv(&mut out)?,
        Format::Json => {
            let json = to_json(message, full_name)?;
            writeln!(out, "{json}")?;
        }
    }
    Ok(())
}

/// Prints a result that is no proto message: the table, its CSV, or `json` (whose keys are
/// lowerCamelCase, as the proto3 JSON of every other command).
pub fn print_value(format: Format, table: &Table, json: &serde_json::Value) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Table => table.write_text(&mut out)?,
        Format::Csv => table.write_csv(&mut out)?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(json)?)?,
    }
    Ok(())
}

/// Renders any autointel message as proto3 JSON, through the descriptor set.
pub fn to_json<M: prost::Message>(message: &M, full_name: &str) -> anyhow::Result<String> {
    let pool = DescriptorPool::decode(autointel_proto::FILE_DESCRIPTOR_SET)
        .context("the built-in descriptor set does not decode")?;
    let descriptor = pool
        .get_message_by_name(full_name)
        .with_context(|| format!("no message {full_name} in the descriptor set"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?;
    Ok(serde_json::to_string_pretty(&dynamic)?)
}

/// `694900` → `694,900`; negative numbers keep their sign.
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed number with an explicit `+` for growth.
pub fn signed_thousands(value: i64) -> String {
    if value > 0 {
        format!("+{}", thousands(value))
    } else {
        thousands(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_spelled_out() {
        assert_eq!(visible("Nissan"), "Nissan");
        assert_eq!(visible("Nis\u{202E}san"), "Nis<U+202E>san");
    }

    #[test]
    fn thousands_groups_digits_and_keeps_sign() {
        assert_eq!(thousands(694_900), "694,900");
        assert_eq!(thousands(-279_800), "-279,800");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(signed_thousands(5), "+5");
        assert_eq!(signed_thousands(0), "0");
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let mut t = Table::new(&["org", "units"]);
        t.row(vec!["nissan-china".into(), "694,900".into()]);
        t.row(vec!["byd".into(), "5".into()]);
        let mut out = Vec::new();
        t.write_text(&mut out).unwrap_or_default();
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(
            text,
            "org             units\nnissan-china  694,900\nbyd                 5\n"
        );
    }
}

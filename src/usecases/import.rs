//! Importing applicants from another ATS: a CSV file whose header row holds the signup form's
//! field names. Each row goes through the same validation as the form and is written whole or
//! not at all; the good rows are imported even when others are refused, and every refused row
//! is reported by its line in the file (the header is line 1) and its field.

use std::io::Read;
use std::sync::{Arc, Mutex};

use crate::domain::application::{RawApplication, FORM_FIELDS};
use crate::domain::FieldErrors;
use crate::store::Db;
use crate::usecases::intake::{Channel, Intake};

/// A row that was not imported: its line in the file, the field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    /// Rows whose address already had an application: nothing was changed.
    pub already_applied: usize,
    pub refused: Vec<Refusal>,
}

/// The booleans of the form, which the file writes as `true` or `false`.
const BOOLEANS: &[&str] = &["student", "customer", "adult", "equipment", "consent"];

/// Reads every row into a form, or the reasons it cannot be one.
fn row_to_form(
    header: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<RawApplication, FieldErrors> {
    let mut pairs: Vec<(String, Result<String, ()>)> = Vec::new();
    let mut errors = FieldErrors::new();
    for (name, value) in header.iter().zip(row.iter()) {
        let name = name.trim();
        if BOOLEANS.contains(&name) {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" => pairs.push((name.into(), Ok("on".into()))),
                "false" | "" => {}
                _ => crate::domain::add_error(&mut errors, name, "Write true or false."),
            }
        } else if name == "languages" {
            for l in value
                .split([';', ','])
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                pairs.push((name.into(), Ok(l.into())));
            }
        } else {
            pairs.push((name.into(), Ok(value.into())));
        }
    }
    let (raw, more) = RawApplication::from_pairs(pairs);
    errors.extend(more);
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}

/// Counts the lines of what a CSV reader reads, so a row is named by its real line whether
/// the file ends lines with LF or with CRLF (RFC 4180's own line end, which spreadsheet
/// programs write, and which the csv crate's own line count gets wrong).
struct Lines<R> {
    inner: R,
    read: u64,
    newlines: Newlines,
}

/// Where a file's newlines are (their byte offsets), shared with the reader that finds them.
type Newlines = Arc<Mutex<Vec<u64>>>;

/// The line (1-based) that byte `at` of the file is on, from where the newlines are.
fn line_at(newlines: &Newlines, at: u64) -> u64 {
    // A record after a CRLF starts at that line's LF (the reader stops at the CR), so a
    // newline at `at` itself ends the line before.
    newlines
        .lock()
        .expect("not poisoned")
        .partition_point(|&n| n <= at) as u64
        + 1
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.lock().expect("not poisoned");
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                newlines.push(self.read + i as u64);
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// A CSV reader over `input` and where its newlines are.
fn line_counting_reader<R: Read>(input: R, flexible: bool) -> (csv::Reader<Lines<R>>, Newlines) {
    let newlines = Newlines::default();
    let lines = Lines {
        inner: input,
        read: 0,
        newlines: newlines.clone(),
    };
    let reader = csv::ReaderBuilder::new()
        .flexible(flexible)
        .from_reader(lines);
    (reader, newlines)
}

/// Imports (or with `dry_run`, only checks) every row of `input`. `progress` is called after
/// each row with the number of bytes read so far. A dry run predicts the real run: a row whose
/// address already applied, in the database or earlier in the file, counts as already applied.
pub async fn import_csv(
    intake: &Intake,
    db: &Db,
    input: impl Read,
    dry_run: bool,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Report> {
    let (mut reader, newlines) = line_counting_reader(input, false);
    let mut seen = std::collections::HashSet::new();
    let header = reader.headers()?.clone();
    if let Some(unknown) = header.iter().find(|h| !FORM_FIELDS.contains(&h.trim())) {
        anyhow::bail!(
            "line 1: {unknown:?} is not a field of the signup form; use: {}",
            FORM_FIELDS.join(", ")
        );
    }
    let mut report = Report::default();
    let mut record = csv::StringRecord::new();
    loop {
        let line = line_at(&newlines, reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                report.refused.push(Refusal {
                    line,
                    field: "row".into(),
                    message: format!("could not be read: {e}"),
                });
                continue;
            }
        }
        let line = record
            .position()
            .map_or(line, |p| line_at(&newlines, p.byte()));
        let parsed = row_to_form(&header, &record).and_then(|raw| raw.parse());
        match parsed {
            Err(errors) => {
                for (field, messages) in errors {
                    for message in messages {
                        report.refused.push(Refusal {
                            line,
                            field: field.clone(),
                            message,
                        });
                    }
                }
            }
            Ok(app) if dry_run => {
                let email = app.email.as_str();
                if seen.insert(email.to_string())
                    && !crate::store::applications::email_taken(db, email).await?
                {
                    report.imported += 1;
                } else {
                    report.already_applied += 1;
                }
            }
            Ok(app) => {
                let done = intake.submit(app, Channel::Import).await?;
                if done.created {
                    report.imported += 1;
                } else {
                    report.already_applied += 1;
                }
            }
        }
        progress(reader.position().byte());
    }
    Ok(report)
}

/// The rows a CSV file gave, each with its line, and the refusals.
pub type Rows<T> = (Vec<(u64, T)>, Vec<Refusal>);

/// Reads a CSV file whose header row names `fields` (any order, any case; no other columns)
/// and parses each row with `parse`, given the cells in `fields` order. Returns the parsed rows
/// with their line in the file, and every refusal by line (the header is line 1) and field. A
/// header without the columns fails whole, naming line 1.
pub fn csv_rows<T>(
    input: impl Read,
    fields: &[&str],
    mut parse: impl FnMut(&[String]) -> Result<T, FieldErrors>,
) -> anyhow::Result<Rows<T>> {
    let (mut reader, newlines) = line_counting_reader(input, true);
    let header: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(unknown) = header.iter().find(|h| !fields.contains(&h.as_str())) {
        anyhow::bail!(
            "line 1: {unknown:?} is not a column of this file; use: {}",
            fields.join(",")
        );
    }
    let columns: Vec<usize> = fields
        .iter()
        .map(|f| {
            header.iter().position(|h| h == f).ok_or_else(|| {
                anyhow::anyhow!(
                    "line 1: the header has no {f:?} column; use: {}",
                    fields.join(",")
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut good = Vec::new();
    let mut refused = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = line_at(&newlines, reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                refused.push(Refusal {
                    line,
                    field: "row".into(),
                    message: format!("could not be read: {e}"),
                });
                continue;
            }
        }
        let line = record
            .position()
            .map_or(line, |p| line_at(&newlines, p.byte()));
        if record.len() != header.len() {
            refused.push(Refusal {
                line,
                field: "row".into(),
                message: format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        let cells: Vec<String> = columns
            .iter()
            .map(|c| record.get(*c).unwrap_or("").to_string())
            .collect();
        match parse(&cells) {
            Ok(t) => good.push((line, t)),
            Err(errors) => {
                for (field, messages) in errors {
                    for message in messages {
                        refused.push(Refusal {
                            line,
                            field: field.clone(),
                            message,
                        });
                    }
                }
            }
        }
    }
    Ok((good, refused))
}

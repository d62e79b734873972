//! `autointel import FILE`: CSV or JSON sales figures, checked locally line by
//! line, then sent in one atomic, idempotent import.

use std::path::Path;

use autointel_figure_file::{self as figure_file, JsonError, Located, read_located_figures};
use autointel_proto::stats as wire;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::args::ImportArgs;
use crate::client::{self, BearerToken, Stats};
use crate::failure::{ExitCode, Failure};

/// Figures per streamed message.
const BATCH: usize = 500;
/// Namespace of import request ids derived from file contents (UUID v5).
const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x5a1e_5f16_0000_4d1b_9c3e_a07d_e1f0_0001);

/// The idempotency key of an import: given, or derived from the content so
/// that re-running the same file imports nothing twice.
pub fn request_id(given: Option<&str>, content: &[u8]) -> Result<String, Failure> {
    match given {
        Some(id) => Uuid::parse_str(id)
            .map(|u| u.to_string())
            .map_err(|_| Failure::invalid(format!("error: --request-id {id:?} is not a UUID"))),
        None => Ok(Uuid::new_v5(&IMPORT_NAMESPACE, content).to_string()),
    }
}

/// Where a problem is, in the words of the file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Csv,
    Json,
}

impl Kind {
    /// `line 4` for CSV (header is line 1), `record 3` for JSON (1-based).
    fn locate(self, line: u64, record: u64) -> String {
        match self {
            Self::Csv => format!("line {line}"),
            Self::Json => format!("record {record}"),
        }
    }
}

fn kind_of(path: &Path) -> Result<Kind, Failure> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Kind::Csv),
        Some("json") => Ok(Kind::Json),
        _ => Err(Failure::invalid(format!(
            "error: {}: expected a .csv or .json file",
            path.display()
        ))),
    }
}

/// Turns a JSON array of objects into CSV text with the import columns, so
/// both formats go through one parser. Record `i` becomes line `i + 1`.
fn json_to_csv(content: &[u8]) -> Result<Vec<u8>, Failure> {
    figure_file::json_to_csv(content).map_err(|e| match e {
        JsonError::UnknownFields(fields) => Failure::invalid(format!(
            "error: nothing imported; fix these records:\n{}",
            fields
                .iter()
                .map(|(i, key)| format!("  record {i}: unknown field {key:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
        other => Failure::invalid(format!("error: {other}")),
    })
}

/// Reads and checks every row of a file; every bad row is reported with its
/// line (or record) number and reason. Each figure keeps its place in the file.
pub fn read(path: &Path, content: &[u8]) -> Result<Vec<Located>, Failure> {
    let kind = kind_of(path)?;
    let csv = match kind {
        Kind::Csv => content.to_vec(),
        Kind::Json => json_to_csv(content)?,
    };
    read_located_figures(csv.as_slice()).map_err(|figure_file::Error { problems }| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| {
                if p.column.is_empty() {
                    format!("  {}: {}", kind.locate(p.line, p.record), p.description)
                } else {
                    format!(
                        "  {}, {}: {}",
                        kind.locate(p.line, p.record),
                        p.column,
                        p.description
                    )
                }
            })
            .collect();
        Failure::invalid(format!(
            "error: {}: nothing imported; {} problem(s):\n{}",
            path.display(),
            problems.len(),
            lines.join("\n")
        ))
    })
}

/// Streams figures to the stats service in one import; returns (imported, revisions).
pub async fn send(
    client: &mut Stats,
    figures: Vec<wire::SalesFigure>,
    request_id: &str,
    progress: &ProgressBar,
) -> Result<wire::ImportSalesFiguresResponse, tonic::Status> {
    let batches: Vec<wire::ImportSalesFiguresRequest> = figures
        .chunks(BATCH)
        .map(|chunk| wire::ImportSalesFiguresRequest {
            request_id: request_id.to_owned(),
            figures: chunk.to_vec(),
        })
        .collect();
    let ticker = progress.clone();
    let stream = futures_util::stream::iter(batches.into_iter().inspect(move |batch| {
        ticker.inc(batch.figures.len() as u64);
    }));
    let response = client.import_sales_figures(stream).await?.into_inner();
    Ok(response)
}

/// Names every `figures[i]` in `text` by the file's own place of figure `i`: `line 7`
/// (CSV) or `record 6` (JSON); a following `.field` becomes `, field`.
fn locate(text: &str, kind: Kind, figures: &[Located]) -> String {
    const MARK: &str = "figures[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let parsed = after
            .split_once(']')
            .and_then(|(index, tail)| Some((index.parse::<usize>().ok()?, tail)));
        match parsed {
            Some((index, tail)) => {
                let (line, record) = figures
                    .get(index)
                    .map_or((index as u64 + 2, index as u64 + 1), |f| (f.line, f.record));
                out.push_str(&kind.locate(line, record));
                rest = match tail.strip_prefix('.') {
                    Some(field) => {
                        out.push_str(", ");
                        field
                    }
                    None => tail,
                };
            }
            None => {
                out.push_str(MARK);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `autointel import FILE`.
///
/// The file is read and every row checked before the service is contacted: bad rows
/// are reported (exit code 3) whether or not the service is reachable.
pub async fn run(endpoint: &str, token: &BearerToken, args: ImportArgs) -> Result<(), Failure> {
    let content = std::fs::read(&args.file).map_err(|e| Failure {
        code: ExitCode::InvalidInput,
        message: format!("error: cannot read {}: {e}", args.file.display()),
    })?;
    let kind = kind_of(&args.file)?;
    let located = read(&args.file, &content)?;
    let request_id = request_id(args.request_id.as_deref(), &content)?;
    let mut client = client::stats(endpoint, token).await?;
    let progress = if located.len() >= 5_000 {
        let bar = ProgressBar::new(located.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} figures sent {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let count = located.len();
    let figures = located.iter().map(|l| l.figure.clone()).collect();
    let result = send(&mut client, figures, &request_id, &progress).await;
    progress.finish_and_clear();
    let response = result.map_err(|status| {
        Failure::from_status_located(&status, endpoint, |text| locate(text, kind, &located))
    })?;
    println!(
        "Imported {} figures ({} revising earlier ones) from {} [request id {request_id}]",
        response.imported_count,
        response.revision_count,
        args.file.display()
    );
    if (response.imported_count as usize) < count {
        println!(
            "(this file was imported before under the same request id; nothing was written twice)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_csv_row_is_reported_with_its_line_number() {
        let csv = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n\
nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article,final,2023-12-17,\n\
nissan-china,company_reported,total,CN,all,all,2023-11..2023-01,-5,,,article,final,2023-12-17,\n";
        let failure = read(Path::new("figures.csv"), csv.as_bytes()).err();
        let message = failure.map(|f| f.message).unwrap_or_default();
        assert!(message.contains("line 3, period"), "{message}");
        assert!(message.contains("line 3, units"), "{message}");
        assert!(!message.contains("line 2"), "{message}");
    }

    #[test]
    fn json_records_are_read_like_csv_rows_and_numbered_from_one() {
        let json = r#"[
            {"organization": "nissan-china", "basis": "company_reported", "flow": "total", "market": "CN",
             "scope": "all", "powertrain": "all", "period": "2023-01..2023-11", "units": 694900,
             "source": "article", "stage": "final", "as_of_date": "2023-12-17"},
            {"organization": "nissan-china", "basis": "retail", "flow": "total", "market": "CN",
             "scope": "all", "powertrain": "all", "period": "2023-01", "ten_thousand_units": "1.23456",
             "source": "article", "stage": "final", "as_of_date": "2023-12-17"}
        ]"#;
        let message = read(Path::new("figures.json"), json.as_bytes())
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(
            message.contains("record 2, ten_thousand_units"),
            "{message}"
        );
        assert!(!message.contains("record 1"), "{message}");
    }

    #[test]
    fn a_multi_line_json_note_does_not_shift_later_record_numbers() {
        // Found by the import_json fuzz target (fuzz/regressions/import_json/).
        let json = r#"[
            {"basis": "retail", "flow": "domestic", "market": "CN", "scope": "all",
             "powertrain": "all", "period": "2023-10", "units": 1, "source": "cpca",
             "stage": "final", "as_of_date": "2023-11-09", "note": "first line\nsecond line"},
            {"basis": "retail", "flow": "domestic", "market": "CN", "scope": "all",
             "powertrain": "all", "period": "2023-10", "units": "x", "source": "cpca",
             "stage": "final", "as_of_date": "2023-11-09"}
        ]"#;
        let message = read(Path::new("figures.json"), json.as_bytes())
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(message.contains("record 2, units"), "{message}");
        assert!(!message.contains("record 3"), "{message}");
    }

    #[test]
    fn derived_request_ids_depend_only_on_content() {
        let a = request_id(None, b"x").unwrap_or_default();
        assert_eq!(a, request_id(None, b"x").unwrap_or_default());
        assert_ne!(a, request_id(None, b"y").unwrap_or_default());
        assert!(request_id(Some("not-a-uuid"), b"x").is_err());
    }

    #[test]
    fn server_row_indexes_become_line_numbers() {
        assert_eq!(
            locate("figures[1].source", Kind::Csv, &[]),
            "line 3, source"
        );
    }

    #[test]
    fn row_indexes_anywhere_in_a_message_follow_multi_line_records() {
        let csv = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n\
nissan-china,company_reported,total,CN,all,all,2023-01,1,,,article,final,2023-12-17,\"two\nlines\"\n\
zz,company_reported,total,CN,all,all,2023-02,1,,,article,final,2023-12-17,\n";
        let located = read(Path::new("figures.csv"), csv.as_bytes()).unwrap_or_default();
        let lines: Vec<u64> = located.iter().map(|l| l.line).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(
            locate(
                "organizations/zz does not exist (first cited by figures[1].series.organization)",
                Kind::Csv,
                &located
            ),
            "organizations/zz does not exist (first cited by line 4, series.organization)"
        );
    }
}

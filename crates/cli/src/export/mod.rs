//! `autointel export`: every figure a `ListSalesFigures` request lists (its filters,
//! `as_of_date`, with or without superseded figures) written as CSV (the import format),
//! JSON Lines or Parquet, with a progress bar on a terminal.
//!
//! The figures come from stats' Arrow Flight service (`DoGet` with a `FlightQuery` of the
//! listing), as record batches read at one sequence mark: figures imported while an export
//! runs are not in it, and figures they revise appear as they were. Parquet writes the
//! batches as they come; CSV and JSON Lines turn each row back into a `SalesFigure`
//! (`rows`).
//!
//! Figures come in list order (series, period, then revision order: stage, as-of date,
//! import order), so each source's revisions of a period come oldest first: an import of
//! the CSV links every revision to the one it followed, as the chain was.

mod csv;
mod jsonl;
mod parquet;
mod rows;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use arrow_array::RecordBatch;
use arrow_flight::Ticket;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use autointel_domain::MonthRange;
use autointel_proto::convert::WireEnum;
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::stats as wire;
use autointel_proto::stats::flight_query::Query;
use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use prost::Message as _;

use crate::args::{ExportFiguresArgs, FigureFilter, FigureFormat};
use crate::client::Flight;
use crate::failure::Failure;

/// Where exported figures go, one record batch at a time.
trait Sink {
    /// Writes a batch of figures (the Flight figures schema), in order.
    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()>;
    /// Writes what is buffered and closes the output.
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// The `ListSalesFigures` request of a figure filter's flags: the one conversion of
/// `--organization` … `--overlapping`, which `diff` and `watch` copy from too.
pub(crate) fn filter_request(f: &FigureFilter) -> Result<wire::ListSalesFiguresRequest, Failure> {
    Ok(wire::ListSalesFiguresRequest {
        organization: f.organization_name().map_err(Failure::invalid)?,
        basis: f.basis.map_or(0, WireEnum::to_wire),
        flow: f.flow.map_or(0, WireEnum::to_wire),
        market: f
            .market
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
        scope: f.scope.map_or(0, WireEnum::to_wire),
        powertrain: f.powertrain.map_or(0, WireEnum::to_wire),
        overlapping: f.overlapping.map(|r: MonthRange| month_range_to_wire(r)),
        ..Default::default()
    })
}

/// The `ListSalesFigures` request of the export's flags (the whole listing).
pub(crate) fn request(args: &ExportFiguresArgs) -> Result<wire::ListSalesFiguresRequest, Failure> {
    Ok(wire::ListSalesFiguresRequest {
        as_of_date: args.as_of_date.map(date_to_wire),
        include_superseded: args.include_superseded,
        ..filter_request(&args.filter)?
    })
}

/// Runs `autointel export`.
pub(crate) async fn run(mut client: Flight, args: ExportFiguresArgs) -> anyhow::Result<()> {
    let request = request(&args)?;
    let (sink, partial) = open(&args)?;
    let progress = progress_bar();
    let result = export(&mut client, request, sink, &progress).await;
    progress.finish_and_clear();
    match (result, partial) {
        (Ok(count), Some((partial, file))) => {
            std::fs::rename(&partial, &file).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), file.display())
            })?;
            eprintln!("exported {count} figures to {}", file.display());
            Ok(())
        }
        (Ok(_), None) => Ok(()),
        (Err(e), partial) => {
            if let Some((partial, _)) = partial {
                let _ = std::fs::remove_file(partial);
            }
            Err(e)
        }
    }
}

/// A Flight failure as the CLI reports it: the service's status as such.
fn flight_error(e: FlightError) -> anyhow::Error {
    match e {
        FlightError::Tonic(status) => anyhow::Error::new(*status),
        other => anyhow::anyhow!("reading the figures stream: {other}"),
    }
}

/// Streams every figure into `sink`; returns how many it wrote.
async fn export(
    client: &mut Flight,
    request: wire::ListSalesFiguresRequest,
    mut sink: Box<dyn Sink>,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    let query = wire::FlightQuery {
        query: Some(Query::Figures(request)),
        sequence_mark: 0,
    };
    let stream = client
        .do_get(Ticket::new(query.encode_to_vec()))
        .await?
        .into_inner();
    let mut batches =
        FlightRecordBatchStream::new_from_flight_data(stream.map_err(FlightError::from));
    let mut count = 0u64;
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(flight_error)?;
        sink.write(&batch)?;
        count += batch.num_rows() as u64;
        progress.set_position(count);
    }
    sink.finish()?;
    Ok(count)
}

/// The sink of the chosen format, and, when writing a file, (the partial file written,
/// the file it becomes once complete).
#[allow(clippy::type_complexity)]
fn open(args: &ExportFiguresArgs) -> anyhow::Result<(Box<dyn Sink>, Option<(PathBuf, PathBuf)>)> {
    let Some(file) = &args.file else {
        if args.format == FigureFormat::Parquet {
            return Err(Failure::invalid(
                "--format parquet needs a file (-f FILE): Parquet is not written to stdout",
            )
            .into());
        }
        let out: Box<dyn Write + Send> = Box::new(BufWriter::new(io::stdout()));
        return Ok((sink(args.format, out, None)?, None));
    };
    let partial = partial_path(file);
    let handle =
        File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let out: Box<dyn Write + Send> = Box::new(BufWriter::new(handle.try_clone()?));
    let sink = sink(args.format, out, Some(handle))?;
    Ok((sink, Some((partial, file.clone()))))
}

fn sink(
    format: FigureFormat,
    out: Box<dyn Write + Send>,
    file: Option<File>,
) -> anyhow::Result<Box<dyn Sink>> {
    Ok(match format {
        FigureFormat::Csv => Box::new(csv::CsvSink::new(out)?),
        FigureFormat::Jsonl => Box::new(jsonl::JsonLinesSink::new(out)?),
        FigureFormat::Parquet => {
            drop(out);
            let file = file.context("Parquet is written to a file only")?;
            Box::new(parquet::ParquetSink::new(file)?)
        }
    })
}

/// `FILE.partial` beside `FILE`: written first, renamed once complete, so a failed export
/// never leaves a file that looks whole.
fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    file.with_file_name(name)
}

/// A figure counter on stderr when it is a terminal; hidden otherwise.
fn progress_bar() -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} figures exported {elapsed} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

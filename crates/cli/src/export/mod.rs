//! `autointel export`: every figure a `ListSalesFigures` request lists (its filters,
//! `as_of_date`, with or without superseded figures) written as CSV (the import format),
//! JSON Lines or Parquet, page after page, with a progress bar on a terminal.
//!
//! One export reads one state: the service pins the listing's first page to its sequence
//! mark and every later page token carries it, so figures imported while an export runs
//! are not in it, and figures they revise appear as they were.
//!
//! Figures come in list order (series, period, then revision order: stage, as-of date,
//! import order), so each source's revisions of a period come oldest first: an import of
//! the CSV links every revision to the one it followed, as the chain was.

mod csv;
mod jsonl;
mod parquet;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use autointel_domain::{MonthRange, ValueError};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::stats as wire;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{ExportFiguresArgs, FigureFormat};
use crate::client::Stats;
use crate::failure::Failure;

/// Figures asked for per page (the service's largest page).
const PAGE_SIZE: i32 = 1000;

/// Where exported figures go, one page at a time.
trait Sink {
    /// Writes a page of figures, in order.
    fn write(&mut self, figures: &[wire::SalesFigure]) -> anyhow::Result<()>;
    /// Writes what is buffered and closes the output.
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// The `ListSalesFigures` request of the export's flags (the first page).
pub(crate) fn request(args: &ExportFiguresArgs) -> Result<wire::ListSalesFiguresRequest, Failure> {
    let organization = match &args.organization {
        Some(id) => autointel_domain::OrganizationId::parse(id)
            .map_err(|e: ValueError| Failure::invalid(format!("--organization: {}", e.0)))?
            .resource_name(),
        None => String::new(),
    };
    Ok(wire::ListSalesFiguresRequest {
        page_size: PAGE_SIZE,
        page_token: String::new(),
        organization,
        basis: args.basis.map_or(0, WireEnum::to_wire),
        flow: args.flow.map_or(0, WireEnum::to_wire),
        market: args
            .market
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
        scope: args.scope.map_or(0, WireEnum::to_wire),
        powertrain: args.powertrain.map_or(0, WireEnum::to_wire),
        overlapping: args.overlapping.map(|r: MonthRange| month_range_to_wire(r)),
        as_of_date: args.as_of_date.map(date_to_wire),
        include_superseded: args.include_superseded,
    })
}

/// Runs `autointel export`.
pub(crate) async fn run(mut client: Stats, args: ExportFiguresArgs) -> anyhow::Result<()> {
    let mut request = request(&args)?;
    let (sink, partial) = open(&args)?;
    let progress = progress_bar();
    let result = export(&mut client, &mut request, sink, &progress).await;
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

/// Reads every page into `sink`; returns how many figures it wrote.
async fn export(
    client: &mut Stats,
    request: &mut wire::ListSalesFiguresRequest,
    mut sink: Box<dyn Sink>,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    loop {
        let page = client
            .list_sales_figures(request.clone())
            .await?
            .into_inner();
        sink.write(&page.sales_figures)?;
        count += page.sales_figures.len() as u64;
        progress.set_position(count);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
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

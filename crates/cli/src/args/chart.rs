//! Options of `chart`.

use super::*;

/// `chart …`
#[derive(Debug, Subcommand)]
pub enum ChartCommand {
    /// A series by month, quarter or year (the flags of `series`): the line breaks at gaps,
    /// figures over several months are bars across their span, events are marked.
    Series(ChartSeriesArgs),
    /// One series over another per period (the flags of `share`).
    Share(ChartShareArgs),
    /// Top organisations of a series as bars (the flags of `rank`).
    Rank(ChartRankArgs),
}

impl ChartCommand {
    /// Where and how to draw.
    pub fn draw(&self) -> &ChartDraw {
        match self {
            Self::Series(a) => &a.draw,
            Self::Share(a) => &a.draw,
            Self::Rank(a) => &a.draw,
        }
    }
}

/// Options of `chart series`.
#[derive(Debug, Args)]
pub struct ChartSeriesArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// Grain of the points: month, quarter, year.
    #[arg(long, value_parser = token::<Granularity>, default_value = "month")]
    pub granularity: Granularity,
    /// Draw year-to-date totals.
    #[arg(long)]
    pub cumulative_within_year: bool,
    #[command(flatten)]
    pub draw: ChartDraw,
}

/// Options of `chart share`.
#[derive(Debug, Args)]
pub struct ChartShareArgs {
    #[command(flatten)]
    pub share: ShareArgs,
    #[command(flatten)]
    pub draw: ChartDraw,
}

/// Options of `chart rank`.
#[derive(Debug, Args)]
pub struct ChartRankArgs {
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub draw: ChartDraw,
}

/// Where and how a chart is drawn.
#[derive(Debug, Args)]
pub struct ChartDraw {
    /// The file to write: `.svg` or `.png`, the format following the extension; repeat it
    /// for both (`-f chart.svg -f chart.png`). (`-o` is the output format of every command.)
    #[arg(long, short = 'f', value_name = "FILE", required = true)]
    pub file: Vec<PathBuf>,
    /// The font to draw with: a TrueType/OpenType font or collection with a glyph for every
    /// character drawn, Chinese names included (a chart that needs a missing glyph is refused).
    /// The default is installed by Debian's fonts-wqy-microhei.
    #[arg(
        long,
        env = "AUTOINTEL_CHART_FONT",
        value_name = "FILE",
        default_value = crate::chart::DEFAULT_FONT
    )]
    pub font: PathBuf,
    /// Width in pixels, 480 to 4000.
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(480..=4000))]
    pub width: u32,
    /// Height in pixels, 360 to 4000.
    #[arg(long, default_value_t = 720, value_parser = clap::value_parser!(u32).range(360..=4000))]
    pub height: u32,
}

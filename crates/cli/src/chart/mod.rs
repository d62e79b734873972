//! `autointel chart`: a series, a share or a ranking drawn to SVG or PNG.
//!
//! - `fetch`: the services' answers a chart needs;
//! - `model`: what the chart shows;
//! - `build`: the model from those answers (pure);
//! - `axis`: positions and ticks (pure);
//! - `render`: the drawing, on any plotters backend;
//! - `file`: SVG or PNG by the file's extension, written out;
//! - `font`: the font file, checked to draw every character (never boxes);
//! - `text`: text on bitmaps, glyph by glyph.

mod axis;
mod build;
mod fetch;
mod file;
mod font;
mod model;
mod render;
#[cfg(test)]
mod tests;
mod text;

use crate::args::ChartCommand;
use crate::client::BearerToken;
use crate::failure::{ExitCode, Failure};

pub use font::DEFAULT_FONT;

/// `autointel chart …`: checks the files and the font before calling a service, fetches the
/// answers, then writes each file.
pub async fn run(
    stats: &str,
    registry: &str,
    token: &BearerToken,
    command: ChartCommand,
) -> Result<(), Failure> {
    let draw = command.draw();
    let formats = draw
        .file
        .iter()
        .map(|f| file::format_of(f))
        .collect::<Result<Vec<_>, _>>()?;
    let font = font::Font::load(&draw.font)?;
    let services = fetch::Services {
        stats,
        registry,
        token,
    };
    let chart = match &command {
        ChartCommand::Series(a) => fetch::series(&services, a).await?,
        ChartCommand::Share(a) => fetch::share(&services, a).await?,
        ChartCommand::Rank(a) => fetch::rank(&services, a).await?,
    };
    font.check(chart.texts().into_iter().chain(render::FIXED_TEXTS))?;
    let size = file::Size {
        width: draw.width,
        height: draw.height,
    };
    for (path, format) in draw.file.iter().zip(formats) {
        let bytes = file::render(&chart, &font, size, format).map_err(|e| Failure {
            code: ExitCode::Failure,
            message: format!("error: {e:#}"),
        })?;
        file::write(path, &bytes)?;
        println!("Wrote {} ({}×{})", path.display(), size.width, size.height);
    }
    Ok(())
}

//! Chart files: the format from the file's extension, the drawing rendered to SVG text or to
//! a PNG image, and the file written.

use std::path::Path;

use anyhow::anyhow;
use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::prelude::IntoDrawingArea;

use super::font::Font;
use super::model::Chart;
use super::render;
use super::text::GlyphText;
use crate::failure::{ExitCode, Failure};

/// A chart file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics; text stays text.
    Svg,
    /// A PNG image.
    Png,
}

/// The format `path` names by its extension (`.svg` or `.png`, any case).
pub fn format_of(path: &Path) -> Result<Format, Failure> {
    match path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .as_deref()
    {
        Some("svg") => Ok(Format::Svg),
        Some("png") => Ok(Format::Png),
        _ => Err(Failure::invalid(format!(
            "error: --file {}: name a .svg or .png file (the format follows the extension)",
            path.display()
        ))),
    }
}

/// Pixel size of a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The chart as SVG text.
pub fn svg(chart: &Chart, font: &Font, size: Size) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (size.width, size.height)).into_drawing_area();
        render::draw(&root, chart, font)?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
    }
    Ok(out)
}

/// The chart as a PNG image (8-bit RGB).
pub fn png(chart: &Chart, font: &Font, size: Size) -> anyhow::Result<Vec<u8>> {
    let pixels = usize::try_from(u64::from(size.width) * u64::from(size.height) * 3)?;
    let mut rgb = vec![0u8; pixels];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, (size.width, size.height));
        let root = GlyphText::new(bitmap, font.face().clone()).into_drawing_area();
        render::draw(&root, chart, font)?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

/// The chart in `format`.
pub fn render(chart: &Chart, font: &Font, size: Size, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Svg => svg(chart, font, size).map(String::into_bytes),
        Format::Png => png(chart, font, size),
    }
}

/// Writes `bytes` to `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| Failure {
        code: ExitCode::Failure,
        message: format!("error: cannot write {}: {e}", path.display()),
    })
}

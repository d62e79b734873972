//! What the chart tests read from SVG and PNG files.

use std::io::BufReader;
use std::path::Path;

/// The contents of an SVG file's text elements (plotters writes each on its own line).
pub fn svg_texts(svg: &str) -> Vec<String> {
    let lines: Vec<&str> = svg.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("<text"))
        .map(|w| w[1].to_owned())
        .collect()
}

/// How many polylines of an SVG file are stroked `#RRGGBB` at `width` pixels.
pub fn polylines(svg: &str, color: &str, width: u32) -> usize {
    let stroke = format!("stroke=\"{color}\" stroke-width=\"{width}\"");
    svg.lines()
        .filter(|l| l.starts_with("<polyline") && l.contains(&stroke))
        .count()
}

/// A PNG file's size and RGB pixels.
pub fn decode_png(path: &Path) -> ((u32, u32), Vec<[u8; 3]>) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(BufReader::new(file)).read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = buffer.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    ((info.width, info.height), pixels)
}

/// How many pixels are exactly `rgb`.
pub fn count(pixels: &[[u8; 3]], rgb: [u8; 3]) -> usize {
    pixels.iter().filter(|p| **p == rgb).count()
}

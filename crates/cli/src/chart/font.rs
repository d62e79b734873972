//! The font charts are drawn with: read from a file (a Debian font package by default), checked
//! to hold a glyph for every character a chart writes, and registered with the renderer.
//!
//! A character the font lacks would be drawn as a box; instead the chart is refused with an
//! error naming the font file and the character.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ab_glyph::{Font as _, FontRef, ScaleFont as _};
use plotters::style::FontStyle;

use crate::failure::Failure;

/// Where `--font` points unless it or `AUTOINTEL_CHART_FONT` says otherwise: WenQuanYi Micro
/// Hei from Debian's `fonts-wqy-microhei`, which has Latin and Chinese (simplified and
/// traditional) glyphs.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// The Debian package that installs [`DEFAULT_FONT`].
pub const FONT_PACKAGE: &str = "fonts-wqy-microhei";

/// A loaded font: its file, the family name the renderer knows it by, and its glyphs.
#[derive(Clone)]
pub struct Font {
    path: PathBuf,
    family: &'static str,
    face: FontRef<'static>,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("path", &self.path)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// Fonts loaded by this process, by file: each is read and registered once (the renderer
/// keeps a font for the life of the process).
fn loaded() -> &'static Mutex<HashMap<PathBuf, Font>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Font>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Font {
    /// Reads the font file at `path` (a TrueType/OpenType font or collection; the first face
    /// of a collection) and registers it for drawing. A missing file is an error naming the
    /// path and how to get the default font.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let mut fonts = loaded()
            .lock()
            .map_err(|_| Failure::invalid("error: chart fonts: a previous load failed"))?;
        if let Some(font) = fonts.get(path) {
            return Ok(font.clone());
        }
        let bytes = std::fs::read(path).map_err(|e| {
            let shown = path.display();
            Failure::invalid(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "error: chart font {shown} not found\n  (install it with `apt-get install {FONT_PACKAGE}`, \
                     or name a TrueType/OpenType font with --font or AUTOINTEL_CHART_FONT)"
                )
            } else {
                format!("error: cannot read chart font {shown}: {e}")
            })
        })?;
        // The renderer keeps fonts for the life of the process; so does this cache.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let not_a_font = || {
            Failure::invalid(format!(
                "error: chart font {} is not a TrueType/OpenType font or collection",
                path.display()
            ))
        };
        let face = FontRef::try_from_slice(bytes).map_err(|_| not_a_font())?;
        // One family name per file, so fonts loaded from different files never replace
        // each other. SVG files name it as their font family, with a generic fallback.
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "font".to_owned());
        let family: &'static str = Box::leak(
            format!("{stem}-{}, sans-serif", fonts.len())
                .replace(['"', '<', '>', '&'], "")
                .into_boxed_str(),
        );
        plotters::style::register_font(family, FontStyle::Normal, bytes)
            .map_err(|_| not_a_font())?;
        let font = Self {
            path: path.to_owned(),
            family,
            face,
        };
        fonts.insert(path.to_owned(), font.clone());
        Ok(font)
    }

    /// The glyphs.
    pub fn face(&self) -> &FontRef<'static> {
        &self.face
    }

    /// The family name to draw with.
    pub fn family(&self) -> &'static str {
        self.family
    }

    /// The characters of `text` the font has no glyph for (whitespace and control characters
    /// need none), each once, in order.
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if !c.is_whitespace()
                && !c.is_control()
                && self.face.glyph_id(c).0 == 0
                && !missing.contains(&c)
            {
                missing.push(c);
            }
        }
        missing
    }

    /// Refuses texts with a character the font cannot draw, naming the font file, the
    /// characters and the text, rather than drawing boxes.
    pub fn check<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Result<(), Failure> {
        for text in texts {
            let missing = self.missing(text);
            if !missing.is_empty() {
                let chars: Vec<String> = missing
                    .iter()
                    .take(5)
                    .map(|c| format!("'{c}' (U+{:04X})", u32::from(*c)))
                    .collect();
                return Err(Failure::invalid(format!(
                    "error: the chart font {} has no glyph for {} in {text:?}\n  (use a font \
                     that has them, e.g. {DEFAULT_FONT} from Debian's {FONT_PACKAGE}, with --font \
                     or AUTOINTEL_CHART_FONT)",
                    self.path.display(),
                    chars.join(", "),
                )));
            }
        }
        Ok(())
    }

    /// The width of `text` in pixels at `size` pixels, measured as the renderer measures it.
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let font = self.face.as_scaled(size as f32);
        let mut width = 0f32;
        let mut previous = None;
        for c in text.chars() {
            let glyph = font.glyph_id(c);
            width += font.h_advance(glyph);
            if let Some(p) = previous {
                width += font.kern(p, glyph);
            }
            previous = Some(glyph);
        }
        f64::from(width)
    }

    /// `text` cut with an ellipsis to at most `max` pixels wide at `size` pixels.
    pub fn fit(&self, text: &str, size: f64, max: f64) -> String {
        if self.width(text, size) <= max {
            return text.to_owned();
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() {
            cut.pop();
            let candidate = format!("{}…", cut.trim_end());
            if self.width(&candidate, size) <= max {
                return candidate;
            }
        }
        "…".to_owned()
    }
}

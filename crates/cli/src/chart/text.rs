//! Text on bitmaps: each glyph at its pen position, with its side bearing and kerning and
//! antialiased coverage, from the chart's font. (The renderer's own bitmap text leaves side
//! bearings out, so letters drift apart.) Everything else goes to the wrapped backend as is.

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

/// A bitmap backend that draws its text itself.
#[derive(Debug)]
pub struct GlyphText<B> {
    inner: B,
    face: FontRef<'static>,
}

impl<B> GlyphText<B> {
    /// `inner`, with text drawn from `face`.
    pub fn new(inner: B, face: FontRef<'static>) -> Self {
        Self { inner, face }
    }
}

type Drawn<B> = Result<(), DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

impl<B: DrawingBackend> DrawingBackend for GlyphText<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn<B> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn<B> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn<B> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn<B> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Drawn<B> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        if !matches!(style.transform(), FontTransform::None) {
            return self.inner.draw_text(text, style, pos);
        }
        #[allow(clippy::cast_possible_truncation)]
        let scale = PxScale::from(style.size() as f32);
        let font = self.face.as_scaled(scale);
        let mut width = 0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        #[allow(clippy::cast_precision_loss)]
        let (x, y) = (pos.0 as f32, pos.1 as f32);
        let left = match style.anchor().h_pos {
            HPos::Left => x,
            HPos::Center => x - width / 2.0,
            HPos::Right => x - width,
        };
        let baseline = match style.anchor().v_pos {
            VPos::Top => y + font.ascent(),
            VPos::Center => y + (font.ascent() + font.descent()) / 2.0,
            VPos::Bottom => y + font.descent(),
        };
        let (w, h) = self.inner.get_size();
        let (w, h) = (i64::from(w), i64::from(h));
        let mut caret = left;
        let mut previous = None;
        let mut failed = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            if let Some(outline) = self.face.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                #[allow(clippy::cast_possible_truncation)]
                let (bx, by) = (bounds.min.x as i64, bounds.min.y as i64);
                let inner = &mut self.inner;
                outline.draw(|gx, gy, coverage| {
                    let (px, py) = (bx + i64::from(gx), by + i64::from(gy));
                    if failed.is_some() || coverage <= 0.0 || px < 0 || py < 0 || px >= w || py >= h
                    {
                        return;
                    }
                    let (Ok(px), Ok(py)) = (i32::try_from(px), i32::try_from(py)) else {
                        return;
                    };
                    let shade = BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    };
                    if let Err(e) = inner.draw_pixel((px, py), shade) {
                        failed = Some(e);
                    }
                });
            }
            caret += font.h_advance(id);
            previous = Some(id);
        }
        failed.map_or(Ok(()), Err)
    }
}

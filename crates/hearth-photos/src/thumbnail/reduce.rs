//! Shrink-on-load for formats without it: rows go in one at a time, are flattened to RGB (alpha
//! over white: a thumbnail is a JPEG) and averaged in k × k boxes, so a 200 MP PNG needs memory
//! for its reduced image and one row of sums, never for itself. The Lanczos resize that follows
//! works from the reduced image, which is kept at least twice the largest thumbnail.

use super::Rgb;

/// Averages `channels`-per-pixel 8-bit rows (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) into an RGB
/// image `factor` times smaller on each side (rounded up).
pub(super) struct BoxReducer {
    width: usize,
    channels: usize,
    factor: usize,
    out_width: usize,
    sums: Vec<u32>,
    rows_in_box: usize,
    out: Vec<u8>,
    out_rows: usize,
}

impl BoxReducer {
    /// For an image of `width` pixels per row; `factor` ≥ 1.
    pub(super) fn new(width: u32, height: u32, channels: usize, factor: u32) -> Self {
        let factor = factor.max(1) as usize;
        let out_width = (width as usize).div_ceil(factor);
        let out_height = (height as usize).div_ceil(factor);
        BoxReducer {
            width: width as usize,
            channels,
            factor,
            out_width,
            sums: vec![0; out_width * 3],
            rows_in_box: 0,
            out: Vec::with_capacity(out_width * out_height * 3),
            out_rows: 0,
        }
    }

    /// The factor that keeps the long edge at least twice `long_edge` (or the image as it is).
    pub(super) fn factor_for(width: u32, height: u32, long_edge: u32) -> u32 {
        (width.max(height) / (2 * long_edge.max(1))).max(1)
    }

    /// Add the next row (shorter rows are an error of the caller's decoder and are padded).
    pub(super) fn push(&mut self, row: &[u8]) {
        let c = self.channels;
        for x in 0..self.width {
            let px = row.get(x * c..x * c + c).unwrap_or(&[]);
            let rgb = match (c, px) {
                (1, [l]) => [*l; 3],
                (2, [l, a]) => [over_white(*l, *a); 3],
                (3, [r, g, b]) => [*r, *g, *b],
                (4, [r, g, b, a]) => [over_white(*r, *a), over_white(*g, *a), over_white(*b, *a)],
                _ => [0; 3],
            };
            let o = (x / self.factor) * 3;
            for (s, v) in self.sums[o..o + 3].iter_mut().zip(rgb) {
                *s += u32::from(v);
            }
        }
        self.rows_in_box += 1;
        if self.rows_in_box == self.factor {
            self.emit();
        }
    }

    fn emit(&mut self) {
        for ox in 0..self.out_width {
            let cols = (self.width - ox * self.factor).min(self.factor);
            let n = (cols * self.rows_in_box) as u32;
            for ch in 0..3 {
                let s = &mut self.sums[ox * 3 + ch];
                self.out.push(((*s + n / 2) / n) as u8);
                *s = 0;
            }
        }
        self.rows_in_box = 0;
        self.out_rows += 1;
    }

    /// The reduced image (a last, partial box of rows included).
    pub(super) fn finish(mut self) -> Rgb {
        if self.rows_in_box > 0 {
            self.emit();
        }
        Rgb { width: self.out_width as u32, height: self.out_rows as u32, pixels: self.out }
    }
}

fn over_white(v: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(v), u32::from(alpha));
    ((v * a + 255 * (255 - a) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_average_and_edges_count_only_what_is_there() {
        // 3 × 3 grey, factor 2: boxes of 2×2, 1×2, 2×1 and 1×1 pixels.
        let mut r = BoxReducer::new(3, 3, 1, 2);
        r.push(&[0, 100, 50]);
        r.push(&[200, 100, 150]);
        r.push(&[10, 20, 30]);
        let out = r.finish();
        assert_eq!((out.width, out.height), (2, 2));
        let reds: Vec<u8> = out.pixels.chunks(3).map(|p| p[0]).collect();
        assert_eq!(reds, vec![100, 100, 15, 30]);
    }

    #[test]
    fn transparency_is_shown_over_white() {
        let mut r = BoxReducer::new(2, 1, 4, 1);
        r.push(&[0, 0, 0, 0, 255, 0, 0, 255]);
        assert_eq!(r.finish().pixels, vec![255, 255, 255, 255, 0, 0]);
        assert_eq!(BoxReducer::factor_for(8000, 6000, 1440), 2);
        assert_eq!(BoxReducer::factor_for(1000, 800, 1440), 1);
    }
}

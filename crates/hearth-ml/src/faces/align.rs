//! Alignment: the similarity transform (rotation, uniform scale, shift; no reflection) that puts
//! a face's five landmarks closest, in least squares, to where SFace's training faces had them in
//! 112×112, then the face resampled through it (bilinear, black outside the photo). The same
//! template and fit as OpenCV's `FaceRecognizerSF::alignCrop`.

use crate::error::{MlError, Result};
use crate::faces::Face;
use crate::image::RgbImage;

/// The aligned face's side.
pub const ALIGNED_SIDE: u32 = 112;

/// Where SFace expects the five landmarks (ArcFace's template), in the aligned 112×112 face.
const TEMPLATE: [[f32; 2]; 5] = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// A similarity transform `q = [[a, -b], [b, a]] p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// The least-squares fit taking `from` onto `to`; `None` when the points are all in one place.
    pub fn fit(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Similarity> {
        if from.len() != to.len() || from.is_empty() {
            return None;
        }
        let n = from.len() as f32;
        let mean = |pts: &[[f32; 2]]| pts.iter().fold([0f32; 2], |m, p| [m[0] + p[0] / n, m[1] + p[1] / n]);
        let (mp, mq) = (mean(from), mean(to));
        let (mut num_a, mut num_b, mut var) = (0f32, 0f32, 0f32);
        for (p, q) in from.iter().zip(to) {
            let (px, py) = (p[0] - mp[0], p[1] - mp[1]);
            let (qx, qy) = (q[0] - mq[0], q[1] - mq[1]);
            num_a += px * qx + py * qy;
            num_b += px * qy - py * qx;
            var += px * px + py * py;
        }
        if var.is_nan() || var <= 1e-6 {
            return None;
        }
        let (a, b) = (num_a / var, num_b / var);
        let tx = mq[0] - (a * mp[0] - b * mp[1]);
        let ty = mq[1] - (b * mp[0] + a * mp[1]);
        [a, b, tx, ty].iter().all(|v| v.is_finite()).then_some(Similarity { a, b, tx, ty })
    }

    /// Where `p` goes.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [self.a * p[0] - self.b * p[1] + self.tx, self.b * p[0] + self.a * p[1] + self.ty]
    }

    /// Where a point came from.
    pub fn invert(&self, q: [f32; 2]) -> [f32; 2] {
        let d = self.a * self.a + self.b * self.b;
        let (x, y) = (q[0] - self.tx, q[1] - self.ty);
        [(self.a * x + self.b * y) / d, (-self.b * x + self.a * y) / d]
    }
}

/// The face cut out of `image` and aligned for SFace.
pub fn aligned(image: &RgbImage, face: &Face) -> Result<RgbImage> {
    let fit = Similarity::fit(&face.landmarks, &TEMPLATE).ok_or_else(|| MlError::Image("the face's landmarks are degenerate".into()))?;
    let side = ALIGNED_SIDE as usize;
    let mut pixels = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            let [sx, sy] = fit.invert([x as f32, y as f32]);
            pixels.extend_from_slice(&bilinear(image, sx, sy));
        }
    }
    RgbImage::new(ALIGNED_SIDE, ALIGNED_SIDE, pixels)
}

fn bilinear(image: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    if !x.is_finite() || !y.is_finite() || x < -1.0 || y < -1.0 || x > image.width as f32 || y > image.height as f32 {
        return [0; 3];
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let p = [image.pixel(x0, y0), image.pixel(x0 + 1, y0), image.pixel(x0, y0 + 1), image.pixel(x0 + 1, y0 + 1)];
    let w = [(1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy];
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let v: f32 = p.iter().zip(w).map(|(px, w)| f32::from(px[c]) * w).sum();
        *o = v.round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_known_similarity() {
        let truth = Similarity { a: 0.8, b: 0.6, tx: 10.0, ty: -4.0 };
        let from = [[1.0, 2.0], [5.0, 1.0], [3.0, 7.0], [-2.0, 4.0], [0.0, 0.0]];
        let to: Vec<[f32; 2]> = from.iter().map(|&p| truth.apply(p)).collect();
        let fit = Similarity::fit(&from, &to).expect("fit");
        for (p, q) in from.iter().zip(&to) {
            let got = fit.apply(*p);
            assert!((got[0] - q[0]).abs() < 1e-3 && (got[1] - q[1]).abs() < 1e-3, "{got:?} vs {q:?}");
            let back = fit.invert(*q);
            assert!((back[0] - p[0]).abs() < 1e-3 && (back[1] - p[1]).abs() < 1e-3);
        }
        assert!(Similarity::fit(&[[1.0, 1.0]; 5], &TEMPLATE).is_none(), "all landmarks in one place");
    }

    #[test]
    fn a_face_already_on_the_template_is_copied() {
        let mut pixels = Vec::new();
        for y in 0..112u32 {
            for x in 0..112u32 {
                pixels.extend_from_slice(&[x as u8, y as u8, 7]);
            }
        }
        let image = RgbImage::new(112, 112, pixels).expect("image");
        let face = Face { x: 0.0, y: 0.0, width: 112.0, height: 112.0, score: 1.0, landmarks: TEMPLATE };
        let out = aligned(&image, &face).expect("aligned");
        assert_eq!(out, image);
        let nan = Face { landmarks: [[f32::NAN; 2]; 5], ..face };
        assert!(aligned(&image, &nan).is_err());
    }
}

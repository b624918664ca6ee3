//! Colour: thumbnails are sRGB, so a photo carrying another ICC profile (Display P3 from an
//! iPhone, Adobe RGB from a camera) is converted, or its colours would look dull or garish.
//!
//! Handles the matrix/TRC RGB profiles cameras and phones embed (ICC v2 and v4): three
//! colourant tags (`rXYZ`, `gXYZ`, `bXYZ`, D50) and three tone curves (`rTRC`…, `curv` or
//! `para`). Pixels are linearised through per-channel tables, taken to the sRGB primaries by one
//! 3 × 3 matrix (source → XYZ D50 → sRGB, whose D50 colourants are the sRGB profile's), and
//! encoded with the sRGB curve. A profile that is already sRGB, or one Hearth cannot read
//! (LUT-based, CMYK, damaged), leaves the pixels as they are. Reads bytes from outside: never
//! panics, never allocates by what a header claims.

/// A conversion from one RGB profile to sRGB.
pub struct ToSrgb {
    linear: [[f32; 256]; 3],
    matrix: [[f32; 3]; 3],
    encode: Vec<u8>,
}

/// Steps of the sRGB encoding table.
const ENCODE_STEPS: usize = 4096;

/// The sRGB profile's colourants, XYZ relative to D50 (columns: red, green, blue).
const SRGB_D50: [[f64; 3]; 3] =
    [[0.436_074_7, 0.385_064_9, 0.143_080_4], [0.222_504_5, 0.716_878_6, 0.060_616_9], [0.013_932_2, 0.097_104_5, 0.714_173_3]];

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn s15f16(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(be32(b, at)? as i32) / 65536.0)
}

fn tag<'a>(p: &'a [u8], sig: &[u8; 4]) -> Option<&'a [u8]> {
    let count = be32(p, 128)? as usize;
    for i in 0..count.min(100) {
        let at = 132 + i * 12;
        if p.get(at..at + 4)? == sig {
            let (off, len) = (be32(p, at + 4)? as usize, be32(p, at + 8)? as usize);
            return p.get(off..off.checked_add(len)?);
        }
    }
    None
}

fn xyz(p: &[u8], sig: &[u8; 4]) -> Option<[f64; 3]> {
    let t = tag(p, sig)?;
    if t.get(0..4)? != b"XYZ " {
        return None;
    }
    Some([s15f16(t, 8)?, s15f16(t, 12)?, s15f16(t, 16)?])
}

/// A tone curve: encoded value (0–1) → linear light.
enum Curve {
    Gamma(f64),
    Table(Vec<f64>),
    /// ICC parametric curve, function type 0–4, parameters g a b c d e f.
    Parametric(u16, [f64; 7]),
}

impl Curve {
    fn read(p: &[u8], sig: &[u8; 4]) -> Option<Curve> {
        let t = tag(p, sig)?;
        match t.get(0..4)? {
            b"curv" => {
                let n = be32(t, 8)? as usize;
                match n {
                    0 => Some(Curve::Gamma(1.0)),
                    1 => Some(Curve::Gamma(f64::from(be16(t, 12)?) / 256.0)),
                    _ if n <= 4096 && t.len() >= 12 + 2 * n => {
                        Some(Curve::Table((0..n).map(|i| be16(t, 12 + 2 * i).map(|v| f64::from(v) / 65535.0)).collect::<Option<_>>()?))
                    }
                    _ => None,
                }
            }
            b"para" => {
                let kind = be16(t, 8)?;
                let n = [1, 3, 4, 5, 7].get(usize::from(kind)).copied()?;
                let mut g = [0.0; 7];
                for (i, v) in g.iter_mut().enumerate().take(n) {
                    *v = s15f16(t, 12 + 4 * i)?;
                }
                Some(Curve::Parametric(kind, g))
            }
            _ => None,
        }
    }

    fn eval(&self, x: f64) -> f64 {
        let y = match self {
            Curve::Gamma(g) => x.powf(*g),
            Curve::Table(t) => {
                let pos = x * (t.len() - 1) as f64;
                let i = (pos.floor() as usize).min(t.len() - 1);
                let j = (i + 1).min(t.len() - 1);
                t[i] + (t[j] - t[i]) * (pos - i as f64)
            }
            Curve::Parametric(kind, [g, a, b, c, d, e, f]) => match kind {
                0 => x.powf(*g),
                1 => {
                    if x >= -b / a {
                        (a * x + b).powf(*g)
                    } else {
                        0.0
                    }
                }
                2 => {
                    if x >= -b / a {
                        (a * x + b).powf(*g) + c
                    } else {
                        *c
                    }
                }
                3 => {
                    if x >= *d {
                        (a * x + b).powf(*g)
                    } else {
                        c * x
                    }
                }
                _ => {
                    if x >= *d {
                        (a * x + b).powf(*g) + e
                    } else {
                        c * x + f
                    }
                }
            },
        };
        if y.is_finite() { y.clamp(0.0, 1.0) } else { 0.0 }
    }
}

fn srgb_decode(x: f64) -> f64 {
    if x <= 0.04045 { x / 12.92 } else { ((x + 0.055) / 1.055).powf(2.4) }
}

fn srgb_encode(y: f64) -> f64 {
    if y <= 0.003_130_8 { y * 12.92 } else { 1.055 * y.powf(1.0 / 2.4) - 0.055 }
}

fn invert(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-9 || !det.is_finite() {
        return None;
    }
    let c = |r1: usize, c1: usize, r2: usize, c2: usize| m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1];
    Some([
        [c(1, 1, 2, 2) / det, -c(0, 1, 2, 2) / det, c(0, 1, 1, 2) / det],
        [-c(1, 0, 2, 2) / det, c(0, 0, 2, 2) / det, -c(0, 0, 1, 2) / det],
        [c(1, 0, 2, 1) / det, -c(0, 0, 2, 1) / det, c(0, 0, 1, 1) / det],
    ])
}

fn multiply(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

impl ToSrgb {
    /// The conversion for an embedded profile; `None` when it is sRGB already or not one Hearth
    /// reads (the pixels are then taken as sRGB).
    pub fn from_profile(p: &[u8]) -> Option<ToSrgb> {
        if p.len() < 132 || p.get(16..20)? != b"RGB " || p.get(20..24)? != b"XYZ " {
            return None;
        }
        let (r, g, b) = (xyz(p, b"rXYZ")?, xyz(p, b"gXYZ")?, xyz(p, b"bXYZ")?);
        let source = [[r[0], g[0], b[0]], [r[1], g[1], b[1]], [r[2], g[2], b[2]]];
        let matrix = multiply(invert(SRGB_D50)?, source);
        let curves = [Curve::read(p, b"rTRC")?, Curve::read(p, b"gTRC")?, Curve::read(p, b"bTRC")?];
        let identity = (0..3).all(|i| (0..3).all(|j| (matrix[i][j] - if i == j { 1.0 } else { 0.0 }).abs() < 0.01));
        let srgb_curves = curves.iter().all(|c| [0.1, 0.3, 0.5, 0.8].iter().all(|&x| (c.eval(x) - srgb_decode(x)).abs() < 0.01));
        if identity && srgb_curves {
            return None;
        }
        if matrix.iter().flatten().any(|v| !v.is_finite() || v.abs() > 100.0) {
            return None;
        }
        let mut linear = [[0f32; 256]; 3];
        for (table, curve) in linear.iter_mut().zip(&curves) {
            for (i, v) in table.iter_mut().enumerate() {
                *v = curve.eval(i as f64 / 255.0) as f32;
            }
        }
        let encode = (0..ENCODE_STEPS)
            .map(|i| (srgb_encode(i as f64 / (ENCODE_STEPS - 1) as f64) * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        Some(ToSrgb { linear, matrix: matrix.map(|row| row.map(|v| v as f32)), encode })
    }

    /// Convert RGB pixels in place.
    pub fn apply(&self, rgb: &mut [u8]) {
        let m = &self.matrix;
        let top = (ENCODE_STEPS - 1) as f32;
        for px in rgb.chunks_exact_mut(3) {
            let l = [self.linear[0][usize::from(px[0])], self.linear[1][usize::from(px[1])], self.linear[2][usize::from(px[2])]];
            for (o, row) in px.iter_mut().zip(m) {
                let v = (row[0] * l[0] + row[1] * l[1] + row[2] * l[2]).clamp(0.0, 1.0);
                *o = self.encode[(v * top) as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_invert_and_odd_profiles_are_ignored() {
        let i = multiply(invert(SRGB_D50).expect("invertible"), SRGB_D50);
        for (r, row) in i.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!((v - if r == c { 1.0 } else { 0.0 }).abs() < 1e-9);
            }
        }
        assert!(ToSrgb::from_profile(b"").is_none());
        assert!(ToSrgb::from_profile(&[0u8; 200]).is_none());
        let mut lying = vec![0u8; 200];
        lying[16..24].copy_from_slice(b"RGB XYZ ");
        lying[128..132].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(ToSrgb::from_profile(&lying).is_none(), "a tag count far beyond the file");
        let srgb = Curve::Parametric(3, [2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045, 0.0, 0.0]);
        for x in [0.0, 0.02, 0.5, 1.0] {
            assert!((srgb.eval(x) - srgb_decode(x)).abs() < 1e-12);
        }
    }
}

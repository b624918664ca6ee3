//! The difference hash of a picture: grey, averaged down to 9 × 8, one bit per pair of
//! neighbours in a row (is the left one darker?). Copies of one picture (re-saved, resized,
//! recompressed by a messenger) land within a few bits of each other; different pictures are
//! about 32 bits apart. Made from the upright grid thumbnail, so EXIF rotation does not matter.

/// The 64-bit difference hash of `width` × `height` RGB pixels.
pub fn dhash(rgb: &[u8], width: u32, height: u32) -> u64 {
    let (w, h) = (width.max(1) as usize, height.max(1) as usize);
    let mut cells = [[0f64; 9]; 8];
    for (cy, row) in cells.iter_mut().enumerate() {
        let (y0, y1) = (cy * h / 8, ((cy + 1) * h / 8).max(cy * h / 8 + 1).min(h));
        for (cx, cell) in row.iter_mut().enumerate() {
            let (x0, x1) = (cx * w / 9, ((cx + 1) * w / 9).max(cx * w / 9 + 1).min(w));
            let (mut sum, mut n) = (0u64, 0u64);
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * w + x) * 3;
                    if let Some(p) = rgb.get(i..i + 3) {
                        // Rec. 601 luma, in integers.
                        sum += (299 * u64::from(p[0]) + 587 * u64::from(p[1]) + 114 * u64::from(p[2])) / 1000;
                        n += 1;
                    }
                }
            }
            *cell = if n > 0 { sum as f64 / n as f64 } else { 0.0 };
        }
    }
    let mut hash = 0u64;
    for row in &cells {
        for x in 0..8 {
            hash = (hash << 1) | u64::from(row[x] < row[x + 1]);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32, rising: bool) -> Vec<u8> {
        (0..h).flat_map(|_| (0..w).flat_map(move |x| [if rising { (x * 255 / w) as u8 } else { 255 - (x * 255 / w) as u8 }; 3])).collect()
    }

    #[test]
    fn same_picture_at_two_sizes_matches_and_a_different_one_does_not() {
        let a = dhash(&gradient(250, 188, true), 250, 188);
        let b = dhash(&gradient(100, 75, true), 100, 75);
        assert_eq!(a, u64::MAX, "brighter to the right everywhere");
        assert!((a ^ b).count_ones() <= 2);
        let c = dhash(&gradient(250, 188, false), 250, 188);
        assert_eq!(c, 0);
        assert_eq!(dhash(&[], 0, 0), 0, "no pixels, no panic");
    }
}

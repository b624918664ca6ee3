//! Test data: deterministic incompressible bytes.

/// `n` pseudo-random bytes from `seed` (xorshift; the seed is mixed first, so seeds that differ
/// only in the lowest bit give different bytes).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

//! SHA-256 of several equal-length messages at once, one message per vector lane.
//!
//! Syncthing's blocks are hashed independently, so hashing eight of them side by side fills the
//! vector registers that a single SHA-256 stream cannot use (each round depends on the one
//! before). Written as plain array arithmetic that the compiler turns into SIMD; it pays only
//! where a lane vector fits one register with room to spare: AVX2 on x86_64 (measured 2.5× a
//! single ring stream on a CPU without SHA instructions; with only SSE2 the eight lanes spill and
//! run at half a single stream's speed). So the same code is compiled a second time with AVX2
//! enabled and chosen at run time; [`fast_here`] says whether lanes beat a single stream here.
//! On aarch64 NEON is always there and holds four lanes: eight are hashed as two runs of four.

/// Messages hashed side by side.
pub const LANES: usize = 8;

type V = [u32; LANES];

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

#[inline(always)]
fn map2<const N: usize>(a: [u32; N], b: [u32; N], f: impl Fn(u32, u32) -> u32) -> [u32; N] {
    let mut r = [0u32; N];
    for i in 0..N {
        r[i] = f(a[i], b[i]);
    }
    r
}

#[inline(always)]
fn add<const N: usize>(a: [u32; N], b: [u32; N]) -> [u32; N] {
    map2(a, b, u32::wrapping_add)
}

#[inline(always)]
fn big_sigma0<const N: usize>(x: [u32; N]) -> [u32; N] {
    map2(x, x, |x, _| x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22))
}

#[inline(always)]
fn big_sigma1<const N: usize>(x: [u32; N]) -> [u32; N] {
    map2(x, x, |x, _| x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25))
}

#[inline(always)]
fn small_sigma0<const N: usize>(x: [u32; N]) -> [u32; N] {
    map2(x, x, |x, _| x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3))
}

#[inline(always)]
fn small_sigma1<const N: usize>(x: [u32; N]) -> [u32; N] {
    map2(x, x, |x, _| x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10))
}

#[inline(always)]
fn ch<const N: usize>(e: [u32; N], f: [u32; N], g: [u32; N]) -> [u32; N] {
    let mut r = [0u32; N];
    for i in 0..N {
        r[i] = (e[i] & f[i]) ^ (!e[i] & g[i]);
    }
    r
}

#[inline(always)]
fn maj<const N: usize>(a: [u32; N], b: [u32; N], c: [u32; N]) -> [u32; N] {
    let mut r = [0u32; N];
    for i in 0..N {
        r[i] = (a[i] & b[i]) ^ (a[i] & c[i]) ^ (b[i] & c[i]);
    }
    r
}

/// One 64-byte chunk of every lane: `w` holds the chunk's sixteen big-endian words per lane.
/// `N` lanes at once: 8 where a lane vector is one AVX2 register, 4 where it is one NEON register.
#[inline(always)]
fn compress<const N: usize>(state: &mut [[u32; N]; 8], mut w: [[u32; N]; 16]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let wt = if t < 16 {
            w[t]
        } else {
            let s = add(add(small_sigma1(w[(t - 2) % 16]), w[(t - 7) % 16]), add(small_sigma0(w[(t - 15) % 16]), w[t % 16]));
            w[t % 16] = s;
            s
        };
        let t1 = add(add(add(h, big_sigma1(e)), add(ch(e, f, g), [K[t]; N])), wt);
        let t2 = add(big_sigma0(a), maj(a, b, c));
        h = g;
        g = f;
        f = e;
        e = add(d, t1);
        d = c;
        c = b;
        b = a;
        a = add(t1, t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = add(*s, v);
    }
}

/// The words of chunk `chunk` of each of the `N` messages.
#[inline(always)]
fn words<const N: usize>(lanes: &[&[u8]; N], chunk: usize) -> [[u32; N]; 16] {
    let mut w = [[0u32; N]; 16];
    for (lane, msg) in lanes.iter().enumerate() {
        let bytes = &msg[chunk * 64..chunk * 64 + 64];
        for (t, word) in bytes.chunks_exact(4).enumerate() {
            w[t][lane] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
    }
    w
}

/// Whether hashing in lanes beats one SHA-256 stream (`single`, the caller's: ring in sync) on
/// this CPU. x86_64: it has AVX2 and no SHA instructions (measured on such CPUs). aarch64: it has
/// no SHA-256 instructions (where it has them, as the RK3588 does, ring uses them) and, on this
/// very CPU, the lanes hashed a sample faster than `single` did. The boards' cores differ and
/// none is at hand where Hearth is built, so on aarch64 the choice is measured once per process,
/// as the kernel picks its RAID checksum code, rather than assumed.
pub fn fast_here(single: fn(&[u8]) -> [u8; 32]) -> bool {
    #[cfg(not(target_arch = "aarch64"))]
    let _ = single;
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && !std::arch::is_x86_feature_detected!("sha")
    }
    #[cfg(target_arch = "aarch64")]
    {
        static LANES_WIN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        !std::arch::is_aarch64_feature_detected!("sha2") && *LANES_WIN.get_or_init(|| lanes_beat(single))
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Hash the same 8 × 16 KiB both ways, best of three each; true when the lanes took less time.
#[cfg(target_arch = "aarch64")]
fn lanes_beat(single: fn(&[u8]) -> [u8; 32]) -> bool {
    let sample: Vec<Vec<u8>> = (0..LANES).map(|l| (0..16 * 1024).map(|i| (i * 7 + l) as u8).collect()).collect();
    let refs: [&[u8]; LANES] = std::array::from_fn(|i| sample[i].as_slice());
    let best = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let lanes = best(&|| {
        std::hint::black_box(digest(std::hint::black_box(&refs)));
    });
    let single = best(&|| {
        for m in refs {
            std::hint::black_box(single(std::hint::black_box(m)));
        }
    });
    lanes < single
}

/// The SHA-256 of each of `LANES` messages, which must all have the same length.
///
/// # Panics
/// If the messages differ in length (a caller's mistake, never the data's).
pub fn digest(lanes: &[&[u8]; LANES]) -> [[u8; 32]; LANES] {
    let len = lanes[0].len();
    let full = len - len % 64;
    let mut h = Lanes::new();
    h.update(&std::array::from_fn(|i| &lanes[i][..full.min(lanes[i].len())]));
    h.finish(&std::array::from_fn(|i| lanes[i].get(full..).unwrap_or_default()))
}

/// SHA-256 of `LANES` messages fed side by side, piece by piece (so a large block need not be
/// held in memory whole).
#[derive(Clone)]
pub struct Lanes {
    state: [V; 8],
    /// Bytes fed to each lane so far.
    len: u64,
}

impl Default for Lanes {
    fn default() -> Self {
        Self::new()
    }
}

impl Lanes {
    /// Lanes with nothing fed yet.
    pub fn new() -> Self {
        let mut state = [[0u32; LANES]; 8];
        for (s, h) in state.iter_mut().zip(H0) {
            *s = [h; LANES];
        }
        Lanes { state, len: 0 }
    }

    /// Feed each lane its next piece; the pieces have one length, a multiple of 64 bytes.
    ///
    /// # Panics
    /// If the pieces differ in length or are not whole 64-byte chunks (a caller's mistake).
    pub fn update(&mut self, pieces: &[&[u8]; LANES]) {
        let len = pieces[0].len();
        assert!(len.is_multiple_of(64) && pieces.iter().all(|p| p.len() == len), "sha256_lanes: pieces must be equal whole chunks");
        self.len += len as u64;
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `compress_all_avx2` only asks for AVX2, which the CPU was just found to
            // have; its body is the same safe code as `compress_all` (no pointers, no intrinsics).
            #[allow(unsafe_code)]
            unsafe {
                compress_all_avx2(&mut self.state, pieces)
            };
            return;
        }
        compress_all(&mut self.state, pieces);
    }

    /// Feed each lane its last bytes (one length, any length) and give the digests.
    ///
    /// # Panics
    /// If the rests differ in length (a caller's mistake).
    pub fn finish(mut self, rests: &[&[u8]; LANES]) -> [[u8; 32]; LANES] {
        let rest_len = rests[0].len();
        assert!(rests.iter().all(|r| r.len() == rest_len), "sha256_lanes: rests must have one length");
        let whole = rest_len - rest_len % 64;
        if whole > 0 {
            self.update(&std::array::from_fn(|i| &rests[i][..whole]));
        }
        let rest = rest_len - whole;
        let total_bits = (self.len + rest as u64) * 8;
        // The padding is the same shape for every lane: the rest, 0x80, zeros, the length in bits.
        let tail_len = if rest < 56 { 64 } else { 128 };
        let mut tails = [[0u8; 128]; LANES];
        for (tail, msg) in tails.iter_mut().zip(rests) {
            tail[..rest].copy_from_slice(&msg[whole..]);
            tail[rest] = 0x80;
            tail[tail_len - 8..tail_len].copy_from_slice(&total_bits.to_be_bytes());
        }
        self.update(&std::array::from_fn(|i| &tails[i][..tail_len]));
        let mut out = [[0u8; 32]; LANES];
        for (lane, digest) in out.iter_mut().enumerate() {
            for (i, s) in self.state.iter().enumerate() {
                digest[i * 4..i * 4 + 4].copy_from_slice(&s[lane].to_be_bytes());
            }
        }
        out
    }
}

/// [`compress_all`] compiled for AVX2, where a lane vector is one `ymm` register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn compress_all_avx2(state: &mut [V; 8], pieces: &[&[u8]; LANES]) {
    compress_all(state, pieces);
}

/// Every 64-byte chunk of the pieces (equal lengths, whole chunks).
#[cfg(not(target_arch = "aarch64"))]
#[inline(always)]
fn compress_all(state: &mut [V; 8], pieces: &[&[u8]; LANES]) {
    for chunk in 0..pieces[0].len() / 64 {
        compress(state, words(pieces, chunk));
    }
}

/// Every 64-byte chunk of the pieces, as two runs of four lanes: four lanes are one NEON
/// register, and eight would not leave the state and the schedule in the 32 registers.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn compress_all(state: &mut [V; 8], pieces: &[&[u8]; LANES]) {
    const HALF: usize = LANES / 2;
    for part in 0..2 {
        let lanes: [&[u8]; HALF] = std::array::from_fn(|i| pieces[part * HALF + i]);
        let mut half: [[u32; HALF]; 8] = std::array::from_fn(|r| std::array::from_fn(|i| state[r][part * HALF + i]));
        for chunk in 0..lanes[0].len() / 64 {
            compress(&mut half, words(&lanes, chunk));
        }
        for (r, row) in half.iter().enumerate() {
            state[r][part * HALF..part * HALF + HALF].copy_from_slice(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: &[u8]) -> [u8; 32] {
        let d = ring::digest::digest(&ring::digest::SHA256, m);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    #[test]
    fn matches_sha256_at_every_padding_boundary() {
        for len in [0usize, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 131_072] {
            let messages: Vec<Vec<u8>> = (0..LANES).map(|lane| (0..len).map(|i| (i * 31 + lane * 7 + len) as u8).collect()).collect();
            let refs: [&[u8]; LANES] = std::array::from_fn(|i| messages[i].as_slice());
            // Both the dispatched code (AVX2 where the CPU has it) and the generic one, whole
            // and fed in pieces.
            let mut generic = Lanes::new();
            let full = len - len % 64;
            compress_all(&mut generic.state, &std::array::from_fn(|i| &refs[i][..full]));
            generic.len = full as u64;
            let mut pieces = Lanes::new();
            let half = (full / 2) & !63;
            pieces.update(&std::array::from_fn(|i| &refs[i][..half]));
            let pieces = pieces.finish(&std::array::from_fn(|i| &refs[i][half..]));
            for got in [digest(&refs), generic.finish(&std::array::from_fn(|i| &refs[i][full..])), pieces] {
                for lane in 0..LANES {
                    assert_eq!(got[lane], reference(&messages[lane]), "length {len}, lane {lane}");
                }
            }
        }
    }

    /// The four-lane build (aarch64's, two runs per eight) on every architecture: one chunk of
    /// four messages, padded by hand, against ring.
    #[test]
    fn four_lanes_match_sha256() {
        for len in [0usize, 5, 55] {
            let messages: Vec<Vec<u8>> = (0..4).map(|lane| (0..len).map(|i| (i * 13 + lane * 5) as u8).collect()).collect();
            let padded: Vec<[u8; 64]> = messages
                .iter()
                .map(|m| {
                    let mut p = [0u8; 64];
                    p[..len].copy_from_slice(m);
                    p[len] = 0x80;
                    p[56..].copy_from_slice(&(len as u64 * 8).to_be_bytes());
                    p
                })
                .collect();
            let refs: [&[u8]; 4] = std::array::from_fn(|i| &padded[i][..]);
            let mut state: [[u32; 4]; 8] = std::array::from_fn(|r| [H0[r]; 4]);
            compress(&mut state, words(&refs, 0));
            for lane in 0..4 {
                let got: Vec<u8> = state.iter().flat_map(|r| r[lane].to_be_bytes()).collect();
                assert_eq!(got, reference(&messages[lane]), "length {len}, lane {lane}");
            }
        }
    }

    #[test]
    fn says_whether_lanes_pay_without_failing() {
        // Which answer is right depends on the CPU; that it answers, and the same twice, does not.
        let single = |m: &[u8]| reference(m);
        assert_eq!(fast_here(single), fast_here(single));
    }

    proptest::proptest! {
        #[test]
        fn matches_sha256_on_any_input(seed in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..700)) {
            let messages: Vec<Vec<u8>> = (0..LANES).map(|lane| seed.iter().map(|b| b.wrapping_add(lane as u8)).collect()).collect();
            let refs: [&[u8]; LANES] = std::array::from_fn(|i| messages[i].as_slice());
            let got = digest(&refs);
            for lane in 0..LANES {
                proptest::prop_assert_eq!(got[lane], reference(&messages[lane]));
            }
        }
    }
}

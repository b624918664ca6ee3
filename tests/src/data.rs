//! Test data: deterministic incompressible bytes, and what a folder holds.

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

/// Every file and folder below `root` (folders end in `/`) with its bytes, sorted; names for
/// which `skip` holds (a client's own bookkeeping) are left out, with what is below them.
pub fn tree(root: &std::path::Path, skip: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, skip: &dyn Fn(&str) -> bool, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).expect("under").to_string_lossy().into_owned();
            if skip(&rel) {
                continue;
            }
            if p.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &p, skip, out);
            } else {
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &skip, &mut out);
    out.sort();
    out
}

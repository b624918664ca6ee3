//! Near-duplicates: pictures whose difference hashes ([`crate::thumbnail::dhash`]) are within
//! [`MAX_BITS`] of each other (a re-saved copy, a messenger's recompressed one, a burst), grouped
//! transitively.
//!
//! All pairs of a million hashes would be half a trillion comparisons. Split into four 16-bit
//! bands, two hashes within 3 bits agree exactly on at least one band (pigeonhole), so only
//! hashes sharing a band value are compared: a few tens of millions at a million photos, well
//! under a second.

use std::collections::HashMap;

/// Hashes this close (differing bits) are the same picture.
pub const MAX_BITS: u32 = 3;

/// Groups of two or more asset ids whose pictures are near-identical, each sorted, ordered by
/// their first id.
pub fn groups(hashes: &[(i64, u64)]) -> Vec<Vec<i64>> {
    let mut parent: Vec<usize> = (0..hashes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let join = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    for band in 0..4u32 {
        let mut buckets: HashMap<u16, Vec<usize>> = HashMap::new();
        for (i, &(_, h)) in hashes.iter().enumerate() {
            buckets.entry((h >> (band * 16)) as u16).or_default().push(i);
        }
        for members in buckets.into_values().filter(|m| m.len() > 1) {
            // Identical hashes join at once; only distinct values are compared pairwise, so a
            // thousand black frames cost a thousand steps, not a million.
            let mut by_hash: HashMap<u64, usize> = HashMap::new();
            for &i in &members {
                match by_hash.get(&hashes[i].1) {
                    Some(&first) => join(&mut parent, first, i),
                    None => {
                        by_hash.insert(hashes[i].1, i);
                    }
                }
            }
            let distinct: Vec<usize> = by_hash.into_values().collect();
            for (n, &a) in distinct.iter().enumerate() {
                for &b in &distinct[n + 1..] {
                    if (hashes[a].1 ^ hashes[b].1).count_ones() <= MAX_BITS {
                        join(&mut parent, a, b);
                    }
                }
            }
        }
    }
    let mut grouped: HashMap<usize, Vec<i64>> = HashMap::new();
    for (i, &(id, _)) in hashes.iter().enumerate() {
        let r = root(&mut parent, i);
        grouped.entry(r).or_default().push(id);
    }
    let mut out: Vec<Vec<i64>> = grouped.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort_unstable_by_key(|g| g[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_hashes_group_across_bands_and_far_ones_do_not() {
        let base = 0x0123_4567_89ab_cdefu64;
        // Three bits off, one in each of three bands: still found through the fourth.
        let near = base ^ (1 << 3) ^ (1 << 20) ^ (1 << 40);
        let far = base ^ 0xffff_0000_ffff_0000;
        let chain = near ^ (1 << 63); // 1 bit from `near`, 4 from `base`: joined through `near`
        let g = groups(&[(1, base), (2, far), (3, near), (4, chain), (5, 0), (6, 0), (7, 1)]);
        assert_eq!(g, vec![vec![1, 3, 4], vec![5, 6, 7]]);
        assert!(groups(&[]).is_empty());
    }

    #[test]
    fn many_identical_hashes_are_cheap() {
        let many: Vec<(i64, u64)> = (0..50_000).map(|i| (i, 0)).collect();
        let g = groups(&many);
        assert_eq!((g.len(), g[0].len()), (1, 50_000));
    }
}

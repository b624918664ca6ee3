//! Keeping the C allocator from hoarding memory.
//!
//! glibc raises its mmap threshold every time a large block is freed, so after the first few
//! 1 MiB chunk buffers come and go, later ones are carved from the heap and freed memory stays
//! in the process: the backup pipeline's resident size doubled from this alone. Pinning the
//! threshold keeps every block of 128 KiB or more in its own mapping, returned to the kernel on
//! free, so resident memory follows the memory actually in use: what a 2 GB board needs.

/// The size from which allocations get their own mapping.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Pin glibc's mmap threshold (no effect on other C libraries). Call once, early in `main`.
pub fn pin_allocator_thresholds() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only changes allocator tuning parameters; M_MMAP_THRESHOLD with a
        // value within glibc's allowed range (0 to 32 MiB on 64-bit) has no other effect and is
        // safe to call at any time, from any thread.
        #[allow(unsafe_code)]
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) };
        if ok != 1 {
            tracing::debug!("mallopt(M_MMAP_THRESHOLD) was refused");
        }
    }
}

/// This process's resident memory in bytes (VmRSS of /proc/self/status), when Linux says.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_size_is_read() {
        let rss = super::resident_bytes().expect("VmRSS");
        assert!(rss > 1 << 20, "{rss}");
    }

    #[test]
    fn pinning_is_harmless() {
        super::pin_allocator_thresholds();
        let v = vec![7u8; 4 << 20];
        assert_eq!(v[123], 7);
    }
}

//! `/proc/self/mountinfo`: which block device is mounted where, read-only or not (proc(5)).
//! Paths there escape space, tab, newline and backslash as octal (`\040`); they are unescaped
//! here. A line that does not parse is skipped and counted, never guessed (fuzz target
//! `mountinfo`).

use std::path::PathBuf;

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    /// The device's `major:minor` as the kernel gives it (`8:17`).
    pub device: (u32, u32),
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The file-system type (`ext4`, `vfat`, `btrfs`, …).
    pub fs_type: String,
    /// The mount source (`/dev/sdb1`), as given.
    pub source: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// The mounts of a mountinfo text, and how many lines could not be read.
pub fn parse(text: &str) -> (Vec<Mount>, usize) {
    let mut mounts = Vec::new();
    let mut skipped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_line(line) {
            Some(m) => mounts.push(m),
            None => skipped += 1,
        }
    }
    (mounts, skipped)
}

fn parse_line(line: &str) -> Option<Mount> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    // id, parent, major:minor, root, mount point, options, optional fields…
    let (major, minor) = fields.get(2)?.split_once(':')?;
    let device = (major.parse().ok()?, minor.parse().ok()?);
    let mount_point = PathBuf::from(unescape(fields.get(4)?)?);
    let read_only = fields.get(5)?.split(',').any(|o| o == "ro");
    let mut rest = after.split(' ');
    let fs_type = unescape(rest.next()?)?;
    let source = unescape(rest.next()?)?;
    let super_options = rest.next().unwrap_or("");
    Some(Mount { device, mount_point, fs_type, source, read_only: read_only || super_options.split(',').any(|o| o == "ro") })
}

/// `\ooo` octal escapes to their byte; `None` for a path that is not UTF-8 after it or a broken
/// escape.
fn unescape(field: &str) -> Option<String> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let digits = bytes.get(i + 1..i + 4)?;
            let text = std::str::from_utf8(digits).ok()?;
            out.push(u8::from_str_radix(text, 8).ok()?);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_with_optional_fields_and_escaped_paths() {
        let text = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
35 22 8:17 / /media/Family\\040Photos rw,nosuid,nodev,relatime shared:20 master:3 - vfat /dev/sdb1 rw,fmask=0022
36 22 8:33 / /media/old ro,relatime - ntfs3 /dev/sdc1 rw
37 22 0:40 / /proc rw - proc proc rw
garbage line
38 22 x:1 / /bad rw - ext4 /dev/x rw
";
        let (mounts, skipped) = parse(text);
        assert_eq!(skipped, 2);
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[1].mount_point, PathBuf::from("/media/Family Photos"));
        assert_eq!((mounts[1].device, mounts[1].fs_type.as_str(), mounts[1].source.as_str()), ((8, 17), "vfat", "/dev/sdb1"));
        assert!(!mounts[1].read_only);
        assert!(mounts[2].read_only);
    }

    #[test]
    fn broken_escapes_are_skipped() {
        assert_eq!(parse("1 1 8:1 / /a\\04 rw - ext4 /dev/sda1 rw").1, 1);
        assert_eq!(parse("1 1 8:1 / /a\\999 rw - ext4 /dev/sda1 rw").1, 1);
        assert_eq!(parse("1 1 8:1 / /a\\377 rw - ext4 /dev/sda1 rw").1, 1, "not UTF-8");
    }
}

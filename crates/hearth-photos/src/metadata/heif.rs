//! HEIF (ISO/IEC 23008-12; HEIC from iPhones, AVIF): ISO-BMFF boxes. The `meta` box names the
//! primary item (`pitm`), lists items (`iinf`: the one of type `Exif` holds EXIF), says where each
//! item's bytes are (`iloc`), and holds item properties (`iprp`: `ipco` with `ispe` for the size
//! and `irot` for a rotation, `ipma` saying which belong to which item).
//!
//! Only what lies in the head is read; an Exif item stored past it is not found (iPhones put it
//! right after `meta`).

use super::{Found, be16, be32};

const BRANDS: [&[u8; 4]; 8] = [b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"hevc"];

/// Whether the `ftyp` box names a HEIF brand (major or compatible).
pub(super) fn is_heif_brand(b: &[u8]) -> bool {
    let len = be32(b, 0).map(|l| l as usize).unwrap_or(0).min(b.len()).min(256);
    let Some(ftyp) = b.get(8..len) else { return false };
    ftyp.chunks_exact(4).enumerate().filter(|(i, _)| *i != 1).any(|(_, brand)| BRANDS.iter().any(|b| b.as_slice() == brand))
}

/// A box: its type and body, in `b`.
struct Boxed<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// The boxes directly inside `b`. A box that runs past the end is cut to it.
fn boxes(b: &[u8]) -> impl Iterator<Item = Boxed<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = be32(b, at)? as usize;
        let kind: [u8; 4] = b.get(at + 4..at + 8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, b.len() - at),
            1 => {
                let large = b.get(at + 8..at + 16)?;
                (16, usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).unwrap_or(usize::MAX))
            }
            n => (8, n),
        };
        if size < header {
            return None;
        }
        let end = at.saturating_add(size).min(b.len());
        let body = b.get(at + header..end)?;
        at = end;
        Some(Boxed { kind, body })
    })
}

fn find<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(b).find(|x| &x.kind == kind).map(|x| x.body)
}

/// Read a big-endian unsigned integer of `n` bytes (0, 4 or 8) at `*at`, moving on.
fn take(b: &[u8], at: &mut usize, n: usize) -> Option<u64> {
    let v = match n {
        0 => 0,
        2 => u64::from(be16(b, *at)?),
        4 => u64::from(be32(b, *at)?),
        8 => u64::from_be_bytes(b.get(*at..*at + 8)?.try_into().ok()?),
        _ => return None,
    };
    *at += n;
    Some(v)
}

/// The item id of type `Exif` in `iinf`.
fn exif_item(iinf: &[u8]) -> Option<u32> {
    let version = *iinf.first()?;
    let skip = if version == 0 { 6 } else { 8 };
    boxes(iinf.get(skip..)?).filter(|x| &x.kind == b"infe").find_map(|infe| {
        let v = *infe.body.first()?;
        let (id, kind_at) = match v {
            2 => (u32::from(be16(infe.body, 4)?), 8),
            3 => (be32(infe.body, 4)?, 10),
            _ => return None,
        };
        (infe.body.get(kind_at..kind_at + 4)? == b"Exif").then_some(id)
    })
}

/// File offset and length of item `id`'s first extent, from `iloc` (construction method 0).
fn locate(iloc: &[u8], id: u32) -> Option<(u64, u64)> {
    let version = *iloc.first()?;
    let sizes = be16(iloc, 4)?;
    let (offset_size, length_size, base_size) = (usize::from(sizes >> 12), usize::from((sizes >> 8) & 15), usize::from((sizes >> 4) & 15));
    let index_size = if version >= 1 { usize::from(sizes & 15) } else { 0 };
    let mut at = 6;
    let count = if version < 2 { take(iloc, &mut at, 2)? } else { take(iloc, &mut at, 4)? };
    for _ in 0..count.min(4096) {
        let item = if version < 2 { take(iloc, &mut at, 2)? } else { take(iloc, &mut at, 4)? };
        let method = if version >= 1 { take(iloc, &mut at, 2)? & 15 } else { 0 };
        let _data_ref = take(iloc, &mut at, 2)?;
        let base = take(iloc, &mut at, base_size)?;
        let extents = take(iloc, &mut at, 2)?;
        let mut first = None;
        for _ in 0..extents {
            take(iloc, &mut at, index_size)?;
            let off = take(iloc, &mut at, offset_size)?;
            let len = take(iloc, &mut at, length_size)?;
            first.get_or_insert((base.checked_add(off)?, len));
        }
        if item == u64::from(id) && method == 0 {
            return first;
        }
    }
    None
}

/// The properties (1-based indexes into `ipco`) associated with item `id` in `ipma`.
fn associations(ipma: &[u8], id: u32) -> Vec<usize> {
    let mut out = Vec::new();
    let (Some(&version), Some(flags)) = (ipma.first(), ipma.get(3)) else { return out };
    let wide = flags & 1 == 1;
    let mut at = 4;
    let Some(count) = take(ipma, &mut at, 4) else { return out };
    for _ in 0..count.min(4096) {
        let Some(item) = take(ipma, &mut at, if version < 1 { 2 } else { 4 }) else { break };
        let Some(&n) = ipma.get(at) else { break };
        at += 1;
        for _ in 0..n {
            let index = if wide {
                take(ipma, &mut at, 2).map(|v| v as usize & 0x7fff)
            } else {
                ipma.get(at).map(|v| usize::from(v & 0x7f)).inspect(|_| at += 1)
            };
            let Some(index) = index else { return out };
            if item == u64::from(id) {
                out.push(index);
            }
        }
    }
    out
}

pub(super) fn scan(b: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let Some(meta) = find(b, b"meta").and_then(|m| m.get(4..)) else { return found };
    let primary = find(meta, b"pitm").and_then(|p| if p.first() == Some(&0) { be16(p, 4).map(u32::from) } else { be32(p, 4) });
    if let (Some(iinf), Some(iloc)) = (find(meta, b"iinf"), find(meta, b"iloc"))
        && let Some(id) = exif_item(iinf)
        && let Some((off, len)) = locate(iloc, id)
        && let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len))
        && let Some(item) = b.get(off..off.saturating_add(len).min(b.len()))
        && let Some(header) = be32(item, 0)
    {
        // The item starts with the offset of the TIFF header after these 4 bytes.
        found.exif = item.get(4usize.saturating_add(header as usize)..);
    }
    if let (Some(iprp), Some(primary)) = (find(meta, b"iprp"), primary) {
        let props: Vec<Boxed<'_>> = find(iprp, b"ipco").map(|c| boxes(c).take(1024).collect()).unwrap_or_default();
        let assoc = find(iprp, b"ipma").map(|m| associations(m, primary)).unwrap_or_default();
        for index in assoc {
            let Some(p) = index.checked_sub(1).and_then(|i| props.get(i)) else { continue };
            match &p.kind {
                b"ispe" => {
                    if let (Some(w), Some(h)) = (be32(p.body, 4), be32(p.body, 8)) {
                        found.size = Some((w, h));
                    }
                }
                // Anticlockwise quarter turns → the EXIF orientation a viewer would apply.
                b"irot" => found.orientation = p.body.first().map(|a| [1, 8, 3, 6][usize::from(a & 3)]),
                _ => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::{Format, read};

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend(kind);
        out.extend(body);
        out
    }

    /// A HEIF head with primary item 1 of `w` × `h` turned by `irot` quarter turns.
    fn heif(w: u32, h: u32, irot: u8) -> Vec<u8> {
        let mut ispe = vec![0, 0, 0, 0];
        ispe.extend(w.to_be_bytes());
        ispe.extend(h.to_be_bytes());
        let ipco = [bx(b"ispe", &ispe), bx(b"irot", &[irot])].concat();
        // version 0, flags 0, one entry: item 1, two associations (indexes 1 and 2, essential bit on the second).
        let ipma = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 1, 0x82];
        let iprp = bx(b"iprp", &[bx(b"ipco", &ipco), bx(b"ipma", &ipma)].concat());
        let pitm = bx(b"pitm", &[0, 0, 0, 0, 0, 1]);
        let meta = bx(b"meta", &[vec![0, 0, 0, 0], pitm, iprp].concat());
        [bx(b"ftyp", b"heic\0\0\0\0mif1heic"), meta].concat()
    }

    #[test]
    fn the_container_rotation_decides_which_way_is_up() {
        let m = read(&heif(4032, 3024, 3)).expect("heif");
        assert_eq!(m.format, Format::Heif);
        assert_eq!((m.width, m.height, m.orientation), (4032, 3024, 6));
        assert_eq!(m.display_size(), (3024, 4032));
        assert_eq!(read(&heif(4032, 3024, 0)).expect("heif").orientation, 1);
        assert_eq!(read(&heif(4032, 3024, 1)).expect("heif").orientation, 8);
    }

    #[test]
    fn a_heif_without_its_size_is_refused_clearly() {
        let head = [bx(b"ftyp", b"heic\0\0\0\0mif1heic"), bx(b"meta", &[0, 0, 0, 0])].concat();
        assert_eq!(read(&head), Err(super::super::MetadataError::NoSize(Format::Heif)));
        assert_eq!(read(&bx(b"ftyp", b"isom\0\0\0\0mp41")), Err(super::super::MetadataError::NotAPhoto), "an MP4 is not a HEIF photo");
    }
}

//! Lower-case hexadecimal, as checksums, ids and ETags are shown.

/// `bytes` as lower-case hex, two digits each.
pub fn lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_digits_a_byte() {
        assert_eq!(super::lower(&[0, 9, 10, 255, 0x5a]), "00090aff5a");
        assert_eq!(super::lower(&[]), "");
    }
}

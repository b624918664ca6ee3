//! `Content-Disposition` for files served as they arrived: the browser saves them under their
//! own name (RFC 6266, with RFC 8187's `filename*` for names beyond ASCII), not the URL's last
//! segment.

/// `inline` (shown in the page when the browser can) with the file's name for saving.
pub fn inline(name: &str) -> String {
    with_name("inline", name)
}

/// `attachment` (saved, not shown) with the file's name.
pub fn attachment(name: &str) -> String {
    with_name("attachment", name)
}

fn with_name(kind: &str, name: &str) -> String {
    // The plain `filename` for old clients: printable ASCII without quotes or backslashes.
    let fallback: String = name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_letters_and_never_break_the_header() {
        assert_eq!(inline("IMG_0001.jpg"), "inline; filename=\"IMG_0001.jpg\"; filename*=UTF-8''IMG_0001.jpg");
        let odd = inline("Été \"à\" la\\plage\r\n.jpg");
        assert!(odd.starts_with("inline; filename=\"_t_ ___ la_plage__.jpg\""), "{odd}");
        assert!(odd.ends_with("filename*=UTF-8''%C3%89t%C3%A9%20%22%C3%A0%22%20la%5Cplage%0D%0A.jpg"), "{odd}");
        assert!(axum::http::HeaderValue::from_str(&odd).is_ok());
        assert!(axum::http::HeaderValue::from_str(&inline("صيف 🌞.heic")).is_ok());
        assert_eq!(attachment("été.zip"), "attachment; filename=\"_t_.zip\"; filename*=UTF-8''%C3%A9t%C3%A9.zip");
    }
}

//! QR codes as SVG: what a phone's camera reads to pair with the box (the Syncthing device id,
//! an app password's login link). Drawn here so the web app carries no QR library.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The most text a code is made for: a Syncthing id is 63 bytes, a Nextcloud login link with
/// an app password and the box's address about 200.
pub const MAX_TEXT: usize = 1024;

/// Why no code was made.
#[derive(Debug, PartialEq, Eq)]
pub enum QrError {
    /// Nothing to encode.
    Empty,
    /// More than [`MAX_TEXT`] bytes.
    TooLong(usize),
}

impl std::fmt::Display for QrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QrError::Empty => write!(f, "there is no text to put in a QR code"),
            QrError::TooLong(n) => write!(f, "{n} bytes is more than a QR code here holds ({MAX_TEXT})"),
        }
    }
}

/// `text` as an SVG QR code (error correction M, a quiet zone of four modules, black on white
/// whatever the page's colours: cameras read dark on light).
pub fn svg(text: &str) -> Result<String, QrError> {
    if text.is_empty() {
        return Err(QrError::Empty);
    }
    if text.len() > MAX_TEXT {
        return Err(QrError::TooLong(text.len()));
    }
    // Version 40 at level M holds 2,331 bytes, far above MAX_TEXT: encoding cannot fail here.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError::TooLong(text.len()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_id_becomes_an_svg_and_bad_text_a_clear_error() {
        let id = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD";
        let s = svg(id).expect("svg");
        assert!(s.starts_with("<?xml") && s.contains("<svg") && s.contains("#000"), "{s}");
        assert_eq!(svg(""), Err(QrError::Empty));
        assert_eq!(svg(&"x".repeat(MAX_TEXT + 1)), Err(QrError::TooLong(MAX_TEXT + 1)));
        assert!(svg(&"é".repeat(MAX_TEXT / 2)).is_ok());
    }
}

//! Faces: found by YuNet with five landmarks ([`detector`]), aligned onto the 112×112 template
//! SFace was trained with ([`align`]), embedded as 128 numbers whose cosine tells people apart
//! ([`embedder`]).

pub mod align;
pub mod detector;
pub mod embedder;

/// A face found in an image, in that image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// The detector's confidence, 0–1.
    pub score: f32,
    /// Right eye, left eye, nose tip, right and left mouth corners (the person's right and left,
    /// so the first is on the image's left).
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    /// The shorter side of the box.
    pub fn size(&self) -> f32 {
        self.width.min(self.height)
    }

    /// Intersection over union of two boxes.
    pub fn iou(&self, other: &Face) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.width * self.height + other.width * other.height - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

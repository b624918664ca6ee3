//! Everything an update brings from outside: a bundle's start (header, manifest, signature), its
//! manifest's JSON (signed, but by a tool that may have bugs), a chunk's stored bytes, a channel's
//! index, the boot state copies (written by U-Boot or a person), versions and key files. Nothing
//! panics or allocates what the input only claims; what is accepted prints back to itself.
#![no_main]
use hearth_ota::boot_state::BootState;
use hearth_ota::bundle::{head, payload};
use hearth_ota::keys::{PublicKey, SigningKey, TrustedKeys};
use hearth_ota::manifest::{Compression, Manifest, StoreEntry};
use hearth_ota::version::Version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A bundle's start, checked with a key the input cannot have signed with.
    let key = PublicKey::from_bytes([7u8; 32], "fuzz");
    let keys = TrustedKeys::new(vec![key]);
    let _ = head::read(&mut &data[..], &keys);

    if let Ok(m) = Manifest::parse(data) {
        assert_eq!(Manifest::parse(&m.to_json()).ok(), Some(m.clone()));
        let _ = m.payload_len();
    }

    // A stored chunk whose entry comes from the input too: decoded within its stated size.
    if data.len() > 6 {
        let size = u32::from(u16::from_le_bytes([data[0], data[1]])) + 1;
        let stored = &data[6..];
        let compression = if data[2] & 1 == 0 { Compression::Zstd } else { Compression::None };
        let entry = StoreEntry { hash: blake3::hash(stored), size, stored_size: stored.len() as u32, compression };
        if let Ok(bytes) = payload::decode(0, &entry, stored) {
            assert_eq!(bytes.len(), size as usize);
        }
    }

    let base = url_base();
    if let Ok(offers) = hearth_ota::channel::parse_index(&base, data) {
        for o in offers {
            assert!(o.bundle.scheme() == "http" || o.bundle.scheme() == "https");
        }
    }

    if let Some((seq, state)) = BootState::from_copy(data) {
        assert!(seq <= 2);
        let _ = state.next_boot();
    }

    let text = String::from_utf8_lossy(data);
    if let Ok(v) = text.parse::<Version>() {
        assert_eq!(v.to_string().parse::<Version>().ok(), Some(v));
    }
    if let Ok(k) = PublicKey::parse(&text) {
        assert_eq!(PublicKey::parse(&k.to_file_text()).ok(), Some(k));
    }
    let _ = SigningKey::parse(&text, "fuzz");
});

fn url_base() -> url::Url {
    hearth_ota::channel::channel_url("http://updates.example/stable/index.json").expect("a valid base")
}

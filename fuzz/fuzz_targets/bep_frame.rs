//! BEP frames and Hellos from a peer: any bytes give messages, "need more", or a protocol error;
//! never a panic, never an allocation the announced sizes do not justify; what decodes
//! re-encodes to a frame that decodes to the same message.
#![no_main]
use hearth_sync::protocol::frame::{decode_frame, decode_hello, encode_message, hello_prefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((msg, used))) = decode_frame(rest) {
        assert!(used > 0 && used <= rest.len());
        for compress in [false, true] {
            let again = encode_message(&msg, compress);
            let (back, n) = decode_frame(&again).expect("re-encoded frame decodes").expect("whole");
            assert_eq!((back, n), (msg.clone(), again.len()));
        }
        rest = &rest[used..];
    }
    if let Some(prefix) = data.first_chunk::<6>() {
        if let Ok(len) = hello_prefix(prefix) {
            if let Some(body) = data.get(6..6 + len) {
                let _ = decode_hello(body);
            }
        }
    }
});

//! Local discovery packets from anyone on the LAN: any bytes give an announcement or an error;
//! what decodes re-encodes to a packet that decodes to the same announcement.
#![no_main]
use hearth_sync::discovery::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((id, a)) = decode(data) {
        let again = encode(id, &a.addresses, a.instance_id);
        if again.len() <= 1024 {
            let (id2, a2) = decode(&again).expect("re-encoded announcement decodes");
            assert_eq!((id2, a2), (id, a));
        }
    }
});

//! Buffers for large incoming messages, used again once their message is dropped.
//!
//! A Response carries a block of 128 KiB to 16 MiB. hearthd pins glibc's mmap threshold at
//! 128 KiB (`hearth_platform::memory`), so a fresh buffer per block is a fresh mapping: every
//! page of it faults and is zeroed by the kernel as the data is copied in, and is unmapped again
//! when the block has been written. Receiving 1 GiB that way cost the receiver about a tenth of
//! its CPU time. Blocks keep one size within a file, so a few idle buffers kept here serve almost
//! every message; what is kept is bounded, so resident memory stays what a 2 GB board affords.

use std::sync::Mutex;

use prost::bytes::Bytes;

/// Messages of this size and more are read into recycled buffers.
pub const RECYCLED_FROM: usize = 64 * 1024;

/// The buffers of incoming messages: at most 4 MiB of idle ones are kept.
pub static MESSAGES: Recycler = Recycler::new(4 << 20);

/// A list of idle buffers, bounded in bytes.
#[derive(Debug)]
pub struct Recycler {
    idle: Mutex<Vec<Vec<u8>>>,
    kept_bytes: usize,
}

impl Recycler {
    /// A recycler that keeps at most `kept_bytes` of idle buffers.
    pub const fn new(kept_bytes: usize) -> Recycler {
        Recycler { idle: Mutex::new(Vec::new()), kept_bytes }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // The list holds only spare buffers; one a panicking thread left behind is as good as any.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An empty buffer that can hold `len` bytes: an idle one when there is one, else a new one.
    pub fn take(&self, len: usize) -> Vec<u8> {
        let reused = {
            let mut idle = self.idle();
            idle.iter().position(|b| b.capacity() >= len).map(|i| idle.swap_remove(i))
        };
        match reused {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            // Rounded up: a Response's length varies by a few bytes with its request id, and a
            // buffer one byte short of the next message would never be used again.
            None => Vec::with_capacity(len.div_ceil(RECYCLED_FROM) * RECYCLED_FROM),
        }
    }

    /// `buffer` as `Bytes`; when the last of them is dropped the buffer goes back to the idle
    /// list, if the list has room for it.
    pub fn into_bytes(&'static self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Recycled { buffer, home: self })
    }

    fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() < RECYCLED_FROM {
            return;
        }
        if buffer.capacity() > self.kept_bytes {
            return;
        }
        let mut idle = self.idle();
        idle.push(buffer);
        // The oldest go first: the newest fit the messages arriving now.
        while idle.iter().map(Vec::capacity).sum::<usize>() > self.kept_bytes {
            idle.remove(0);
        }
    }
}

struct Recycled {
    buffer: Vec<u8>,
    home: &'static Recycler,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        self.home.give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_message_buffer_is_used_again_and_the_idle_list_stays_bounded() {
        static HERE: Recycler = Recycler::new(2 << 20);
        let mut first = HERE.take(300_000);
        first.extend_from_slice(&[7; 300_000]);
        let address = first.as_ptr();
        let bytes = HERE.into_bytes(first);
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert!(HERE.idle().is_empty(), "a slice keeps the buffer in use");
        assert_eq!(&slice[..], &[7; 10]);
        drop(slice);
        let again = HERE.take(200_000);
        assert!(again.is_empty(), "an idle buffer comes back empty");
        assert_eq!(again.as_ptr(), address, "the idle buffer is used again");
        assert!(HERE.take(400_000).capacity() >= 400_000, "a bigger message gets a new buffer");
        let mut id_127 = HERE.take(1_000_010);
        id_127.resize(1_000_010, 0);
        let address = id_127.as_ptr();
        drop(HERE.into_bytes(id_127));
        let longer = HERE.take(1_000_011);
        assert_eq!(longer.as_ptr(), address, "a message a byte longer (request id 128) fits the buffer");

        let many: Vec<Bytes> = (0..10).map(|_| HERE.into_bytes(vec![1; 512 * 1024])).collect();
        let newest = many.last().map(|b| b.as_ptr());
        drop(many);
        assert_eq!(HERE.idle().len(), 4, "2 MiB of 512 KiB buffers are kept, no more");
        assert_eq!(HERE.idle().last().map(|b| b.as_ptr()), newest, "the newest are kept");
        drop(HERE.into_bytes(vec![1; 1000]));
        assert_eq!(HERE.idle().len(), 4, "small buffers are not kept");
    }
}

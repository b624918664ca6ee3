//! Framing, compression and size limits.
//!
//! ```text
//! Hello:    magic 0x2EA7D90B (u32 BE) | length (u16 BE, at most 32767) | Hello
//! messages: header length (u16 BE) | Header | message length (u32 BE, at most 500 MB) | message
//! LZ4:      uncompressed length (u32 BE, at most 500 MB) | LZ4 block
//! ```
//!
//! Every length is checked before anything is allocated, and an unknown message type, a bad
//! protobuf or a decompressed size that differs from the announced one is a protocol error that
//! ends the connection. Messages of 128 bytes or more are compressed when it saves space.

use prost::Message as _;
use prost::bytes::{BufMut, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::messages::*;
use super::recycled::{self, RECYCLED_FROM};
use crate::error::{Result, SyncError};

/// The Hello magic of BEP v1.
pub const HELLO_MAGIC: u32 = 0x2EA7_D90B;
/// The magic of Syncthing 0.13 and older, which spoke an older protocol.
const OLD_MAGICS: [u32; 2] = [0x9F79_BC40, 0x2EA7_D90A];
/// Longest Hello.
pub const MAX_HELLO_LEN: usize = 32_767;
/// Longest message (after decompression too).
pub const MAX_MESSAGE_LEN: usize = 500 * 1000 * 1000;
/// Smaller messages are never compressed.
pub const COMPRESSION_THRESHOLD: usize = 128;

fn protocol(msg: impl Into<String>) -> SyncError {
    SyncError::Protocol(msg.into())
}

/// A Hello as sent.
pub fn encode_hello(hello: &Hello) -> Result<Vec<u8>> {
    let body = hello.encode_to_vec();
    if body.len() > MAX_HELLO_LEN {
        return Err(protocol("our Hello is too long (device name?)"));
    }
    let mut out = Vec::with_capacity(6 + body.len());
    out.extend_from_slice(&HELLO_MAGIC.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Check a Hello's magic and length prefix (6 bytes); the body length.
pub fn hello_prefix(prefix: &[u8; 6]) -> Result<usize> {
    let magic = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if OLD_MAGICS.contains(&magic) {
        return Err(protocol("the peer speaks an old protocol (Syncthing 0.13 or older); it needs an upgrade"));
    }
    if magic != HELLO_MAGIC {
        return Err(protocol(format!("not a BEP Hello (magic {magic:#010x})")));
    }
    let len = usize::from(u16::from_be_bytes([prefix[4], prefix[5]]));
    if len > MAX_HELLO_LEN {
        return Err(protocol(format!("Hello of {len} bytes is too long")));
    }
    Ok(len)
}

/// Parse a Hello's body.
pub fn decode_hello(body: &[u8]) -> Result<Hello> {
    Hello::decode(body).map_err(|e| protocol(format!("bad Hello: {e}")))
}

/// A message as sent: header, length, body (LZ4 when `compress` and it pays).
pub fn encode_message(msg: &Message, compress: bool) -> Vec<u8> {
    let (mut out, tail) = encode_parts(msg, compress);
    out.extend_from_slice(tail);
    out
}

/// A message as sent, in two parts to be sent one after the other: everything but a Response's
/// data, then that data (empty for other messages), so a block is never copied to be framed.
/// (Protobuf fields may come in any order: the data field is written last.)
pub fn encode_parts(msg: &Message, compress: bool) -> (Vec<u8>, &[u8]) {
    let (body, tail): (Vec<u8>, &[u8]) = match msg {
        Message::ClusterConfig(m) => (m.encode_to_vec(), &[]),
        Message::Index(m) => (m.encode_to_vec(), &[]),
        Message::IndexUpdate(m) => (m.encode_to_vec(), &[]),
        Message::Request(m) => (m.encode_to_vec(), &[]),
        Message::Response(m) => {
            let mut head = Response { id: m.id, data: Default::default(), code: m.code }.encode_to_vec();
            if !m.data.is_empty() {
                prost::encoding::encode_key(2, prost::encoding::WireType::LengthDelimited, &mut head);
                prost::encoding::encode_varint(m.data.len() as u64, &mut head);
            }
            (head, &m.data[..])
        }
        Message::DownloadProgress(m) => (m.encode_to_vec(), &[]),
        Message::Ping(m) => (m.encode_to_vec(), &[]),
        Message::Close(m) => (m.encode_to_vec(), &[]),
    };
    let mut compression = MessageCompression::None;
    let mut payload = body;
    if compress && tail.is_empty() && payload.len() >= COMPRESSION_THRESHOLD {
        let block = lz4_flex::block::compress(&payload);
        if block.len() + 4 < payload.len() {
            let mut framed = Vec::with_capacity(block.len() + 4);
            framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            framed.extend_from_slice(&block);
            payload = framed;
            compression = MessageCompression::Lz4;
        }
    }
    let header = Header { r#type: msg.message_type() as i32, compression: compression as i32 }.encode_to_vec();
    let mut out = Vec::with_capacity(2 + header.len() + 4 + payload.len());
    out.extend_from_slice(&(header.len() as u16).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&((payload.len() + tail.len()) as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    (out, tail)
}

/// Check a message's announced length.
pub fn check_message_len(len: usize) -> Result<()> {
    if len > MAX_MESSAGE_LEN { Err(protocol(format!("message of {len} bytes is over the {MAX_MESSAGE_LEN}-byte limit"))) } else { Ok(()) }
}

/// Parse a header and its message. A Response's data is a slice of `payload` (no copy).
pub fn decode_message(header: &[u8], payload: Bytes) -> Result<Message> {
    let header = Header::decode(header).map_err(|e| protocol(format!("bad header: {e}")))?;
    let body: Bytes = match MessageCompression::try_from(header.compression) {
        Ok(MessageCompression::None) => payload,
        Ok(MessageCompression::Lz4) => {
            let Some((len, block)) = payload.split_first_chunk::<4>() else { return Err(protocol("LZ4 message without its length")) };
            let len = u32::from_be_bytes(*len) as usize;
            check_message_len(len)?;
            let plain = lz4_flex::block::decompress(block, len).map_err(|e| protocol(format!("bad LZ4 data: {e}")))?;
            if plain.len() != len {
                return Err(protocol("LZ4 data shorter than announced"));
            }
            Bytes::from(plain)
        }
        Err(_) => return Err(protocol(format!("unknown compression {}", header.compression))),
    };
    let bad = |e: prost::DecodeError| protocol(format!("bad message: {e}"));
    Ok(match MessageType::try_from(header.r#type) {
        Ok(MessageType::ClusterConfig) => Message::ClusterConfig(ClusterConfig::decode(&*body).map_err(bad)?),
        Ok(MessageType::Index) => Message::Index(Index::decode(&*body).map_err(bad)?),
        Ok(MessageType::IndexUpdate) => Message::IndexUpdate(IndexUpdate::decode(&*body).map_err(bad)?),
        Ok(MessageType::Request) => Message::Request(Request::decode(&*body).map_err(bad)?),
        Ok(MessageType::Response) => Message::Response(Response::decode(body).map_err(bad)?),
        Ok(MessageType::DownloadProgress) => Message::DownloadProgress(DownloadProgress::decode(&*body).map_err(bad)?),
        Ok(MessageType::Ping) => Message::Ping(Ping::decode(&*body).map_err(bad)?),
        Ok(MessageType::Close) => Message::Close(Close::decode(&*body).map_err(bad)?),
        Err(_) => return Err(protocol(format!("unknown message type {}", header.r#type))),
    })
}

/// One whole message from the front of `buf`: the message and the bytes it took, or `None` when
/// `buf` does not hold all of it yet.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Message, usize)>> {
    let Some((hlen, rest)) = buf.split_first_chunk::<2>() else { return Ok(None) };
    let hlen = usize::from(u16::from_be_bytes(*hlen));
    let Some(header) = rest.get(..hlen) else { return Ok(None) };
    let Some((mlen, rest)) = rest[hlen..].split_first_chunk::<4>() else { return Ok(None) };
    let mlen = u32::from_be_bytes(*mlen) as usize;
    check_message_len(mlen)?;
    let Some(payload) = rest.get(..mlen) else { return Ok(None) };
    Ok(Some((decode_message(header, Bytes::copy_from_slice(payload))?, 2 + hlen + 4 + mlen)))
}

/// Read a Hello.
pub async fn read_hello<R: AsyncRead + Unpin>(r: &mut R) -> Result<Hello> {
    let mut prefix = [0u8; 6];
    r.read_exact(&mut prefix).await.map_err(|e| SyncError::io("reading Hello", e))?;
    let len = hello_prefix(&prefix)?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.map_err(|e| SyncError::io("reading Hello", e))?;
    decode_hello(&body)
}

/// Write a Hello.
pub async fn write_hello<W: AsyncWrite + Unpin>(w: &mut W, hello: &Hello) -> Result<()> {
    w.write_all(&encode_hello(hello)?).await.map_err(|e| SyncError::io("sending Hello", e))?;
    w.flush().await.map_err(|e| SyncError::io("sending Hello", e))
}

/// Read one message.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Message> {
    let io = |e| SyncError::io("reading a message", e);
    let hlen = usize::from(r.read_u16().await.map_err(io)?);
    let mut header = vec![0u8; hlen];
    r.read_exact(&mut header).await.map_err(io)?;
    let mlen = r.read_u32().await.map_err(io)? as usize;
    check_message_len(mlen)?;
    if mlen < RECYCLED_FROM {
        let mut payload = vec![0u8; mlen];
        r.read_exact(&mut payload).await.map_err(io)?;
        return decode_message(&header, Bytes::from(payload));
    }
    let mut payload = recycled::MESSAGES.take(mlen);
    while payload.len() < mlen {
        let wanted = mlen - payload.len();
        if r.read_buf(&mut (&mut payload).limit(wanted)).await.map_err(io)? == 0 {
            return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
    decode_message(&header, recycled::MESSAGES.into_bytes(payload))
}

/// Write one message.
pub async fn write_message<W: AsyncWrite + Unpin>(w: &mut W, msg: &Message, compress: bool) -> Result<()> {
    let io = |e| SyncError::io("sending a message", e);
    let (head, data) = encode_parts(msg, compress);
    w.write_all(&head).await.map_err(io)?;
    if !data.is_empty() {
        w.write_all(data).await.map_err(io)?;
    }
    w.flush().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(n: usize) -> Message {
        let files = (0..n)
            .map(|i| FileInfo {
                name: format!("DCIM/Camera/IMG_{i:04}.jpg"),
                size: 3_000_000,
                modified_s: 1_795_000_000,
                version: Some(Vector { counters: vec![Counter { id: 42, value: i as u64 }] }),
                sequence: i as i64 + 1,
                blocks: vec![BlockInfo { offset: 0, size: 131_072, hash: vec![7; 32], weak_hash: 0 }],
                ..Default::default()
            })
            .collect();
        Message::Index(Index { folder: "camera".into(), files })
    }

    #[test]
    fn messages_roundtrip_with_and_without_lz4() {
        for msg in [index(50), Message::Ping(Ping {}), Message::Close(Close { reason: "bye".into() })] {
            for compress in [false, true] {
                let bytes = encode_message(&msg, compress);
                let (back, used) = decode_frame(&bytes).expect("decode").expect("whole");
                assert_eq!((back, used), (msg.clone(), bytes.len()));
                assert!(decode_frame(&bytes[..bytes.len() - 1]).expect("partial").is_none());
            }
        }
        let big = encode_message(&index(50), true);
        assert!(big.len() < encode_message(&index(50), false).len() / 2, "the index compresses");
        let progress = Message::DownloadProgress(DownloadProgress {
            folder: "f".into(),
            updates: vec![FileDownloadProgressUpdate { block_indexes: vec![1, 2, 3], ..Default::default() }],
        });
        let bytes = encode_message(&progress, false);
        assert_eq!(decode_frame(&bytes).expect("ok").expect("whole").0, progress);
    }

    #[test]
    fn responses_frame_their_data_last_and_decode_as_prost_would() {
        let block: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for resp in [
            Response { id: 7, data: block.into(), code: 0 },
            Response { id: 8, data: Bytes::new(), code: ErrorCode::NoSuchFile as i32 },
            Response { id: -1, data: Bytes::from_static(b"x"), code: 0 },
        ] {
            let msg = Message::Response(resp.clone());
            let (head, tail) = encode_parts(&msg, true);
            assert_eq!(tail, &resp.data[..]);
            let bytes = encode_message(&msg, true);
            assert_eq!(bytes.len(), head.len() + tail.len());
            let (back, used) = decode_frame(&bytes).expect("decode").expect("whole");
            assert_eq!((back, used), (msg, bytes.len()));
            // The body is a valid protobuf Response (what Syncthing's decoder reads).
            let body_at = 2 + usize::from(u16::from_be_bytes([bytes[0], bytes[1]])) + 4;
            assert_eq!(Response::decode(&bytes[body_at..]).expect("prost"), resp);
        }
    }

    #[test]
    fn bad_frames_are_protocol_errors() {
        // Announced 600 MB: refused before allocating.
        let mut huge = vec![0, 0];
        huge.extend_from_slice(&600_000_000u32.to_be_bytes());
        assert!(matches!(decode_frame(&huge), Err(SyncError::Protocol(_))));
        // Unknown message type 99.
        let header = Header { r#type: 99, compression: 0 }.encode_to_vec();
        let mut unknown = (header.len() as u16).to_be_bytes().to_vec();
        unknown.extend_from_slice(&header);
        unknown.extend_from_slice(&0u32.to_be_bytes());
        assert!(decode_frame(&unknown).is_err());
        // LZ4 that announces more than it holds.
        let header = Header { r#type: MessageType::Ping as i32, compression: 1 }.encode_to_vec();
        let mut lie = (header.len() as u16).to_be_bytes().to_vec();
        lie.extend_from_slice(&header);
        lie.extend_from_slice(&8u32.to_be_bytes());
        lie.extend_from_slice(&1000u32.to_be_bytes());
        lie.extend_from_slice(&[0x10, 0x41, 0, 0]);
        assert!(decode_frame(&lie).is_err());
        // Hello magics.
        let hello = encode_hello(&Hello { device_name: "nas".into(), ..Default::default() }).expect("hello");
        let len = hello_prefix(hello[..6].try_into().expect("6")).expect("prefix");
        assert_eq!(decode_hello(&hello[6..6 + len]).expect("body").device_name, "nas");
        assert!(hello_prefix(&[0x9F, 0x79, 0xBC, 0x40, 0, 1]).expect_err("old").to_string().contains("old protocol"));
        assert!(hello_prefix(&[0x2E, 0xA7, 0xD9, 0x0B, 0xFF, 0xFF]).is_err(), "over 32767");
    }
}

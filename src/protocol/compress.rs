//! gzip for `compression=gzip` connections: every binary frame is one gzip member.

use std::{
    cell::Cell,
    io::{Cursor, Read, Write},
};

use flate2::{bufread, write::GzEncoder, Compression};

/// The most a frame may inflate to (the Go SDK reads at most 1 MiB per message).
/// A larger result is refused, so a gzip bomb costs at most this much memory.
pub const MAX_INFLATED_BYTES: usize = 1 << 20;

/// True when `bytes` starts with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// One gzip member of `bytes` in stored (uncompressed) deflate blocks: what a client
/// sends on a `compression=gzip` connection, whose server inflates every frame it reads.
///
/// Why not deflate: requests are small (a 1001 is about 150 bytes of JSON, a 100-seq
/// pull under the 51,200-byte page limit), so compressing them saves little upload,
/// while every deflate stream allocates its whole state first: 370 KB on zlib-rs (window,
/// hash chains, pending and symbol buffers in one block) plus flate2's 32 KiB buffer, per
/// request. In a heap profile of 10,000 sessions those were the largest blocks a login
/// allocated, and freed blocks of that size left the process's heap fragmented (RSS
/// several times the live memory). A stored member needs no state: a 10-byte header,
/// 5 bytes per block of up to 65,535 bytes, the CRC-32 (flate2's) and the length.
pub fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let blocks = bytes.chunks(u16::MAX as usize);
    let mut out = Vec::with_capacity(HEADER.len() + bytes.len() + 5 * (blocks.len() + 1) + 8);
    out.extend_from_slice(&HEADER);
    let last = blocks.len().saturating_sub(1);
    if bytes.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    for (i, block) in blocks.enumerate() {
        // BFINAL in bit 0, BTYPE 00 (stored), then LEN and its complement, little-endian.
        let len = block.len() as u16;
        out.push(u8::from(i == last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// Compresses one payload with deflate, as a server compresses its frames (the tests
/// and fuzz targets make server frames with it; requests use [`gzip_stored`]).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 32),
        Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Why a frame could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub enum InflateError {
    /// Not valid gzip (truncated, bad header, bad checksum).
    Corrupt(String),
    /// It would inflate past [`MAX_INFLATED_BYTES`].
    TooLarge,
}

/// Decompresses one frame (one gzip member), refusing to produce more than `limit`
/// bytes.
///
/// The decoder is the calling thread's, lent to one frame at a time and reset between
/// frames: a fresh decoder per frame allocates its state each time (measured on a
/// 137-byte 2001 member: 3.4 µs fresh, 1.7 µs reset, on zlib-rs), and a decoder held by
/// each connection cost 48 KiB per idle session (zlib-rs allocates its window when the
/// decoder is made; heap profile of 1,000 sessions). Decoding never awaits, so a thread
/// needs at most one: the memory is one decoder per thread that has inflated a frame,
/// whatever the number of connections. A frame that fails leaves nothing behind: the
/// next one starts from a clean reset.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let lent = DECODER.try_with(|slot| slot.take()).ok().flatten();
    let mut decoder = lent.unwrap_or_else(Decoder::new);
    let out = decoder.inflate(bytes, limit);
    decoder.shed_large_input();
    // During thread teardown the slot may be gone: the decoder is then dropped.
    let _ = DECODER.try_with(|slot| slot.set(Some(decoder)));
    out
}

thread_local! {
    /// This thread's decoder while no frame is being inflated on it.
    static DECODER: Cell<Option<Decoder>> = const { Cell::new(None) };
}

/// The largest input buffer a thread's decoder keeps between frames; a larger frame's
/// copy is freed after it is read.
const KEPT_INPUT_BYTES: usize = 64 * 1024;

/// A gzip decoder and the input buffer it reads from (the previous frame's, refilled).
struct Decoder {
    dec: bufread::GzDecoder<Cursor<Vec<u8>>>,
}

impl Decoder {
    fn new() -> Decoder {
        Decoder {
            dec: bufread::GzDecoder::new(Cursor::new(Vec::new())),
        }
    }

    fn inflate(&mut self, bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        let mut input = std::mem::take(self.dec.get_mut().get_mut());
        input.clear();
        input.extend_from_slice(bytes);
        self.dec.reset(Cursor::new(input));
        let mut out = Vec::with_capacity((bytes.len() * 4).min(limit));
        let read = (&mut self.dec).take(limit as u64 + 1).read_to_end(&mut out);
        read.map_err(|e| InflateError::Corrupt(e.to_string()))?;
        if out.len() > limit {
            return Err(InflateError::TooLarge);
        }
        Ok(out)
    }

    fn shed_large_input(&mut self) {
        let input = self.dec.get_mut().get_mut();
        if input.capacity() > KEPT_INPUT_BYTES {
            *input = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data = br#"{"reqIdentifier":1001}"#;
        let z = gzip(data);
        assert!(is_gzip(&z));
        assert_eq!(gunzip(&z, 1024).unwrap(), data);
    }

    /// `len` incompressible bytes (a linear congruential sequence).
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 7u32;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn stored_members_inflate_to_their_input_at_every_block_boundary() {
        for len in [0usize, 1, 150, 65_534, 65_535, 65_536, 131_070, 200_001] {
            let data = noise(len);
            let z = gzip_stored(&data);
            assert!(is_gzip(&z));
            let blocks = len.div_ceil(65_535).max(1);
            assert_eq!(z.len(), 10 + len + 5 * blocks + 8, "{len} bytes");
            assert_eq!(gunzip(&z, MAX_INFLATED_BYTES).unwrap(), data, "{len} bytes");
            // A reader that wants the whole member: a cut one is refused.
            assert!(gunzip(&z[..z.len() - 1], MAX_INFLATED_BYTES).is_err());
        }
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let zeros = vec![0u8; 4 * MAX_INFLATED_BYTES];
        let z = gzip(&zeros);
        assert!(z.len() < 64 * 1024);
        assert_eq!(gunzip(&z, MAX_INFLATED_BYTES), Err(InflateError::TooLarge));
    }

    #[test]
    fn one_thread_reads_frame_after_frame_also_after_a_bad_one() {
        let frames: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("{{\"reqIdentifier\":2001,\"n\":{i}}}").into_bytes())
            .collect();
        for (i, f) in frames.iter().enumerate() {
            let z = gzip(f);
            assert_eq!(&gunzip(&z, 1024).unwrap(), f);
            match i % 3 {
                // Truncated, garbage, too large: each refused, the next frame still reads.
                0 => assert!(gunzip(&z[..z.len() - 3], 1024).is_err()),
                1 => assert!(gunzip(&[0x1f, 0x8b, 8, 0, 1, 2], 1024).is_err()),
                _ => assert_eq!(
                    gunzip(&gzip(&[7u8; 4096]), 1024),
                    Err(InflateError::TooLarge)
                ),
            }
        }
    }

    /// The input buffer of the decoder this thread keeps: (address, capacity).
    fn kept_input() -> Option<(usize, usize)> {
        DECODER.with(|slot| {
            let mut decoder = slot.take()?;
            let input = decoder.dec.get_mut().get_ref();
            let kept = (input.as_ptr() as usize, input.capacity());
            slot.set(Some(decoder));
            Some(kept)
        })
    }

    #[test]
    fn a_thread_keeps_one_decoder_between_frames_but_not_a_large_input() {
        std::thread::spawn(|| {
            assert_eq!(kept_input(), None);
            let z = gzip(br#"{"reqIdentifier":2001,"data":"abc"}"#);
            gunzip(&z, 1024).unwrap();
            let first = kept_input().expect("the decoder is kept");
            gunzip(&z, 1024).unwrap();
            assert_eq!(
                kept_input(),
                Some(first),
                "the same decoder and buffer again"
            );
            // An incompressible 200 KiB frame: its copy is not kept.
            let data = noise(200 * 1024);
            let big = gzip(&data);
            assert!(big.len() > KEPT_INPUT_BYTES);
            assert_eq!(gunzip(&big, MAX_INFLATED_BYTES).unwrap(), data);
            let (_, capacity) = kept_input().expect("still kept");
            assert!(capacity <= KEPT_INPUT_BYTES, "kept {capacity} bytes");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        let data = br#"{"reqIdentifier":2001,"data":"..."}"#;
        let mut enc = flate2::GzBuilder::new()
            .extra(&b"xy\x02\x00ab"[..])
            .filename("frame.json")
            .comment("a comment")
            .write(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        let z = enc.finish().unwrap();
        assert_eq!(gunzip(&z, 1024).unwrap(), data);
        // Every cut of the member is refused.
        for cut in 0..z.len() {
            assert!(gunzip(&z[..cut], 1024).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_wrong_method_reserved_flag_checksum_or_length_is_corrupt() {
        let z = gzip(b"hello hello hello");
        let n = z.len();
        for (at, xor) in [(0, 1), (2, 1), (3, 0x20), (n - 8, 1), (n - 4, 1)] {
            let mut b = z.clone();
            b[at] ^= xor;
            assert!(
                matches!(gunzip(&b, 1024), Err(InflateError::Corrupt(_))),
                "byte {at} ^ {xor:#x}"
            );
        }
    }

    #[test]
    fn a_result_of_exactly_the_limit_is_kept_and_one_byte_more_refused() {
        let data = vec![b'a'; 5000];
        assert_eq!(gunzip(&gzip(&data), 5000).unwrap(), data);
        assert_eq!(gunzip(&gzip(&data), 4999), Err(InflateError::TooLarge));
        assert_eq!(gunzip(&gzip(b""), 0).unwrap(), b"");
        assert_eq!(gunzip(&gzip(b"x"), 0), Err(InflateError::TooLarge));
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let z = gzip(b"hello hello hello");
        assert!(matches!(
            gunzip(&z[..z.len() - 5], 1024),
            Err(InflateError::Corrupt(_))
        ));
    }
}

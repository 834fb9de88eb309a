//! gzip for `compression=gzip` connections: every binary frame is one gzip member.

use std::io::{Read, Write};

use flate2::{read::GzDecoder, write::GzEncoder, Compression};

/// The most a frame may inflate to (the Go SDK reads at most 1 MiB per message).
/// A larger result is refused, so a gzip bomb costs at most this much memory.
pub const MAX_INFLATED_BYTES: usize = 1 << 20;

/// True when `bytes` starts with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Compresses one frame payload.
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

/// Decompresses one frame, refusing to produce more than `limit` bytes.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity((bytes.len() * 4).min(limit));
    let mut dec = GzDecoder::new(bytes).take(limit as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(InflateError::TooLarge);
    }
    Ok(out)
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

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let zeros = vec![0u8; 4 * MAX_INFLATED_BYTES];
        let z = gzip(&zeros);
        assert!(z.len() < 64 * 1024);
        assert_eq!(gunzip(&z, MAX_INFLATED_BYTES), Err(InflateError::TooLarge));
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

//! Just enough HTTP/1.1 to read a response: the head (status, headers) and a body
//! delimited by Content-Length, chunked encoding, or the end of the stream. Every
//! read is bounded, so a misbehaving server cannot make the client buffer without limit.

use tokio::io::AsyncReadExt;

use super::connect::Io;

/// The largest response head, and the largest body, read.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// A response head, and the bytes already read past it.
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub rest: Vec<u8>,
}

impl Head {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_more(stream: &mut Box<dyn Io>, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads and parses a response head.
pub async fn read_head(stream: &mut Box<dyn Io>) -> Result<Head, String> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let n = read_more(stream, &mut buf)
            .await
            .map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
        let mut headers = [httparse::EMPTY_HEADER; 48];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let headers = resp
                    .headers
                    .iter()
                    .map(|h| {
                        let v = String::from_utf8_lossy(h.value).trim().to_owned();
                        (h.name.to_owned(), v)
                    })
                    .collect();
                let status = resp.code.unwrap_or(0);
                return Ok(Head {
                    status,
                    headers,
                    rest: buf.split_off(len),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => return Err("the response head is too large".into()),
            Err(e) => return Err(format!("the answer is not HTTP: {e}")),
        }
    }
}

/// Reads the body that follows `head`.
pub async fn read_body(stream: &mut Box<dyn Io>, head: Head) -> Result<Vec<u8>, String> {
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = head
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let mut body = head.rest;
    let want = match (chunked, length) {
        (false, Some(n)) if n > MAX_BODY_BYTES => {
            return Err(format!("body of {n} bytes is too large"))
        }
        (false, Some(n)) => n,
        _ => MAX_BODY_BYTES,
    };
    loop {
        if !chunked && body.len() >= want {
            body.truncate(want);
            return Ok(body);
        }
        if chunked {
            if let Some(decoded) = dechunk(&body)? {
                return Ok(decoded);
            }
        }
        if body.len() > MAX_BODY_BYTES {
            return Err("the body is too large".into());
        }
        let n = read_more(stream, &mut body)
            .await
            .map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return match (chunked, length) {
                (false, None) => Ok(body), // delimited by the end of the stream
                _ => Err("the server closed the connection mid-body".into()),
            };
        }
    }
}

/// Decodes a complete chunked body; `Ok(None)` if more bytes are needed.
fn dechunk(mut raw: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&raw[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        if size > MAX_BODY_BYTES {
            return Err("chunk too large".into());
        }
        let start = eol + 2;
        if size == 0 {
            return Ok(Some(out)); // trailers, if any, are ignored
        }
        if raw.len() < start + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_when_complete() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").unwrap(),
            Some(b"Wikipedia".to_vec())
        );
        assert_eq!(dechunk(b"4\r\nWi").unwrap(), None);
        assert!(dechunk(b"zz\r\n").is_err());
    }
}

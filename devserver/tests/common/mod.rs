//! Shared helpers for the integration tests: a raw tokio-tungstenite client and a raw HTTP/1.1
//! client on 127.0.0.1.
#![allow(dead_code)]

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use imbridge_devserver::{DevServer, DevServerConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

pub const T: Duration = Duration::from_secs(5);

pub async fn start() -> DevServer {
    DevServer::start(DevServerConfig::default())
        .await
        .expect("server starts")
}

/// The standard JS-style dial query.
pub fn query(user: &str, token: &str, platform: i32) -> String {
    format!(
        "sendID={user}&token={token}&platformID={platform}&operationID=op-{}&isBackground=false&sdkType=js",
        fastrand::u32(..)
    )
}

/// Dials `ws_addr/?query`; Ok = upgraded.
pub async fn dial(server: &DevServer, query: &str) -> Result<Ws, WsError> {
    let url = format!("{}/?{}", server.ws_addr(), query);
    let host = server.ws_addr().trim_start_matches("ws://").to_string();
    let tcp = TcpStream::connect(host).await.expect("tcp connect");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .map(|(ws, _)| ws)
}

/// Dials and expects an HTTP 200 JSON refusal; returns the JSON and the content type.
/// Dials as `user` on `platform` with a fresh token and waits until the server holds the
/// connection: the socket and the token.
pub async fn online(server: &DevServer, user: &str, platform: i32) -> (Ws, String) {
    let token = server.user_token(user, platform);
    let ws = dial(server, &query(user, &token, platform))
        .await
        .expect("upgraded");
    assert!(server.wait_online(user, 1, T).await);
    (ws, token)
}

pub async fn dial_refused(server: &DevServer, query: &str) -> (Value, String) {
    match dial(server, query).await {
        Ok(_) => panic!("dial unexpectedly upgraded: {query}"),
        Err(WsError::Http(resp)) => {
            assert_eq!(resp.status(), 200, "dial errors are HTTP 200");
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.body().clone().expect("body in the same read");
            (serde_json::from_slice(&body).expect("JSON body"), ct)
        }
        Err(e) => panic!("unexpected dial error {e}"),
    }
}

/// The next data frame (text or binary), answering nothing; `None` when the connection ended.
pub async fn next_data(ws: &mut Ws) -> Option<Message> {
    loop {
        match tokio::time::timeout(T, ws.next())
            .await
            .expect("frame within 5 s")
        {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Some(m),
            Some(Ok(Message::Close(_))) => continue,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Waits until the server ends the connection; panics if a data frame arrives instead.
pub async fn expect_closed(ws: &mut Ws) {
    if let Some(m) = next_data(ws).await {
        panic!("expected the connection to end, got {m:?}");
    }
}

pub fn text(m: &Message) -> String {
    match m {
        Message::Text(t) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

pub fn binary(m: &Message) -> Vec<u8> {
    match m {
        Message::Binary(b) => b.to_vec(),
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

/// A JSON request envelope.
pub fn req(req_identifier: i32, send_id: &str, msg_incr: &str, data: &[u8]) -> Vec<u8> {
    serde_json::json!({
        "reqIdentifier": req_identifier,
        "token": "",
        "sendID": send_id,
        "operationID": "op-test",
        "msgIncr": msg_incr,
        "data": STANDARD.encode(data),
    })
    .to_string()
    .into_bytes()
}

pub async fn send_bin(ws: &mut Ws, bytes: Vec<u8>) {
    ws.send(Message::binary(bytes)).await.expect("send");
}

pub fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("base64")
}

/// A raw HTTP/1.1 POST of a JSON body; returns status, headers (lowercased names) and body.
pub async fn post(
    server: &DevServer,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    post_raw(server, path, headers, "application/json", body.as_bytes()).await
}

/// A raw HTTP/1.1 POST with any content type.
pub async fn post_raw(
    server: &DevServer,
    path: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let host = server.api_addr().trim_start_matches("http://").to_string();
    let mut tcp = TcpStream::connect(&host).await.expect("connect api");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    tcp.write_all(&request).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(T, tcp.read_to_end(&mut raw))
        .await
        .expect("response within 5 s")
        .expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

/// POST with `operationID` (and `token` when given); returns the JSON envelope.
pub async fn api(server: &DevServer, path: &str, token: Option<&str>, body: &str) -> Value {
    let mut headers = vec![("operationID", "op-http")];
    if let Some(t) = token {
        headers.push(("token", t));
    }
    let (status, _, body) = post(server, path, &headers, body).await;
    assert_eq!(status, 200, "{path}");
    serde_json::from_slice(&body).expect("JSON envelope")
}

//! HTTP answers real servers give, against the API client (reqwest) and the gateway
//! upgrade: each test logs in through the dev gateway's WebSocket and a raw HTTP
//! server on 127.0.0.1 that answers `/user/get_users_info` with exactly the bytes
//! the test chose.

mod common;

use std::time::{Duration, Instant};

use common::{loopback::*, *};
use imbridge::{ImError, LoginStatus};
use imbridge_devserver::gzip;

const USERS: &str = r#"{"errCode":0,"errMsg":"","errDlt":"","data":{"usersInfo":[{"userID":"alice","nickname":"Alice"}]}}"#;

fn ok_head(extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n",
        USERS.len()
    )
}

/// Logs alice in with the gateway of `server` and the API at `api`.
async fn login_with_api(api: &RawHttp) -> (Result<imbridge::UserInfo, ImError>, Duration) {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.api_addr = api.url();
    let (m, _rec) = manager(cfg);
    let token = server.user_token("alice", 2);
    let t = Instant::now();
    let result = m.login("alice".into(), token, None).await;
    let took = t.elapsed();
    if result.is_ok() {
        assert_eq!(m.login_status(), LoginStatus::LoggedIn);
        m.logout(None).await.unwrap();
    }
    (result, took)
}

async fn logs_in_as_alice(reply: impl Fn() -> Reply + Send + Sync + 'static) -> RawHttp {
    let api = RawHttp::start(move |_| reply()).await;
    let (result, _) = login_with_api(&api).await;
    let user = result.expect("login succeeds");
    assert_eq!(user.nickname, "Alice");
    api
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_connection_is_closed_once_the_login_has_its_answer() {
    // A keep-alive answer: the client, not the server, ends the connection (no idle
    // connection is kept for a session's lifetime).
    let server = server().await;
    let api = RawHttp::start(|_| Reply::json(USERS)).await;
    let mut cfg = config(&server);
    cfg.api_addr = api.url();
    let (m, _rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    assert!(
        api.wait_client_left(WAIT).await,
        "the API connection is still open while the session runs"
    );
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    assert_eq!(api.heads().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn continue_100_then_200_is_the_answer() {
    logs_in_as_alice(|| {
        Reply::Segments(vec![
            b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
            format!("{}{USERS}", ok_head("")).into_bytes(),
        ])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_of_100_headers_is_read() {
    // hyper reads up to 100 header lines: 98 of filler, Content-Type, Content-Length.
    let filler: String = (0..98).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    logs_in_as_alice(move || {
        Reply::Segments(vec![format!("{}{USERS}", ok_head(&filler)).into_bytes()])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_70_kb_header_is_read() {
    let big = format!("X-Big: {}\r\n", "a".repeat(70_000));
    logs_in_as_alice(move || {
        Reply::Segments(vec![format!("{}{USERS}", ok_head(&big)).into_bytes()])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_split_and_close_delimited_bodies_are_read() {
    let half = USERS.len() / 2;
    logs_in_as_alice(move || {
        Reply::Segments(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
            format!("{:x}\r\n{}\r\n", half, &USERS[..half]).into_bytes(),
            format!(
                "{:x}\r\n{}\r\n0\r\n\r\n",
                USERS.len() - half,
                &USERS[half..]
            )
            .into_bytes(),
        ])
    })
    .await;
    logs_in_as_alice(|| {
        Reply::Segments(vec![
            b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n".to_vec(),
            USERS.as_bytes().to_vec(),
        ])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_answers_are_inflated() {
    let api = logs_in_as_alice(|| {
        let body = gzip(USERS.as_bytes());
        let mut bytes = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(&body);
        Reply::Segments(vec![bytes])
    })
    .await;
    let head = api.heads().pop().unwrap().to_ascii_lowercase();
    // Not asked for (the answers are small), understood when a server gzips anyway.
    assert!(head.contains("accept-encoding: identity"), "{head}");
    assert!(
        head.starts_with("post /user/get_users_info http/1.1"),
        "{head}"
    );
    assert!(
        head.contains("\r\ntoken: "),
        "the token header is sent: {head}"
    );
    assert!(head.contains("\r\noperationid: "), "{head}");
}

fn assert_too_large(result: Result<imbridge::UserInfo, ImError>, took: Duration) {
    let e = result.expect_err("an oversized body fails the login");
    assert!(
        matches!(e, ImError::Protocol { .. }),
        "a protocol error, not a timeout or a decode of a cut body: {e:?}"
    );
    assert!(e.to_string().contains("limit"), "{e}");
    assert!(took < Duration::from_secs(2), "fails fast: {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_10_mb_body_is_refused_by_its_length() {
    let api = RawHttp::start(|_| {
        let n = 10 << 20;
        let mut bytes = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        bytes.resize(bytes.len() + n, b' ');
        Reply::Segments(vec![bytes])
    })
    .await;
    let (result, took) = login_with_api(&api).await;
    assert_too_large(result, took);
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_bodies_are_cut_at_the_limit_and_the_connection_dropped() {
    for head in [
        // close-delimited
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        // chunked: an endless run of 16 KiB chunks
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let chunked = head.contains("chunked");
        let api = RawHttp::start(move |_| {
            let data = vec![b' '; 16 * 1024];
            let chunk = if chunked {
                let mut c = format!("{:x}\r\n", data.len()).into_bytes();
                c.extend_from_slice(&data);
                c.extend_from_slice(b"\r\n");
                c
            } else {
                data
            };
            Reply::Endless {
                head: head.as_bytes().to_vec(),
                chunk,
            }
        })
        .await;
        let (result, took) = login_with_api(&api).await;
        assert_too_large(result, took);
        assert!(
            api.wait_client_left(WAIT).await,
            "the client closed the connection"
        );
        let sent = api.written.load(std::sync::atomic::Ordering::Relaxed);
        assert!(sent >= 4 << 20, "it read up to the 4 MiB limit: {sent}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_reported_not_followed() {
    for status in [
        "301 Moved Permanently",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let api = RawHttp::start(move |head| {
            if head.starts_with("POST /elsewhere") {
                return Reply::json(USERS);
            }
            Reply::Segments(vec![format!(
                "HTTP/1.1 {status}\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()])
        })
        .await;
        let (result, _) = login_with_api(&api).await;
        let e = result.expect_err("a redirect fails the login");
        let code = &status[..3];
        assert!(matches!(e, ImError::Network { .. }), "{e:?}");
        assert!(e.to_string().contains(&format!("HTTP {code}")), "{e}");
        assert!(e.to_string().contains("not followed"), "{e}");
        // (The login may ask the API twice: the user-info call runs beside the dial and
        // is asked again once connected if it failed first; never at the Location.)
        let heads = api.heads();
        assert!(!heads.is_empty());
        assert!(
            heads.iter().all(|h| !h.starts_with("POST /elsewhere")),
            "the Location was not requested: {heads:?}"
        );
    }
}

/// The reason the upgrade is imbridge's own: a refusal body that arrives after the
/// head (chunked, in later segments) is still read, so an expired token is reported
/// as such and not as a bare "HTTP 200" retried forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_body_after_the_upgrade_head_is_read() {
    let server = server().await;
    let refusal = r#"{"errCode":1501,"errMsg":"token has expired","errDlt":""}"#;
    let gateway = RawHttp::start(move |_| {
        let (a, b) = refusal.split_at(10);
        Reply::Segments(vec![
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            format!("{:x}\r\n{a}\r\n", a.len()).into_bytes(),
            format!("{:x}\r\n{b}\r\n0\r\n\r\n", b.len()).into_bytes(),
        ])
    })
    .await;
    let mut cfg = config(&server);
    cfg.ws_addr = format!("ws://{}", gateway.addr);
    let (m, rec) = manager(cfg);
    let e = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect_err("the refusal ends the login");
    assert!(matches!(e, ImError::TokenExpired { .. }), "{e:?}");
    assert_eq!(gateway.heads().len(), 1, "not retried");
    rec.wait_for("connect_failed(1501)", |e| {
        matches!(e, Ev::ConnectFailed(1501, _))
    })
    .await;
}

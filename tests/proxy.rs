//! The optional proxy: both the gateway dial and the API call go through it (HTTP
//! CONNECT / forwarding, SOCKS5), with the credentials of the proxy URL; hosts in
//! `no_proxy` are reached directly.

mod common;

use common::{loopback::TestProxy, *};
use imbridge::ImError;

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_proxy_carries_the_dial_and_the_api_call_with_its_credentials() {
    let server = server().await;
    let proxy = TestProxy::start().await;
    let mut cfg = config(&server);
    cfg.proxy = Some(format!("http://bob:pa%24%24word@{}", proxy.addr));
    let (m, _rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect("login through the proxy");
    let seen = proxy.requests();
    let ws = format!("CONNECT 127.0.0.1:{}", port(&server.ws_addr()));
    let api = format!(
        "POST http://127.0.0.1:{}/user/get_users_info",
        port(&server.api_addr())
    );
    assert!(
        seen.contains(&ws),
        "the gateway dial was tunnelled: {seen:?}"
    );
    assert!(seen.contains(&api), "the API call was proxied: {seen:?}");
    // "bob:pa$$word" in Basic form, on both.
    let auth = proxy.auth();
    assert_eq!(auth.len(), 2, "{auth:?}");
    assert!(
        auth.iter().all(|a| a == "Basic Ym9iOnBhJCR3b3Jk"),
        "{auth:?}"
    );
    m.logout(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socks5_proxy_carries_both_with_its_credentials() {
    let server = server().await;
    let proxy = TestProxy::start().await;
    let mut cfg = config(&server);
    cfg.proxy = Some(format!("socks5h://carol:s0cks@{}", proxy.addr));
    let (m, _rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect("login through the SOCKS5 proxy");
    let seen = proxy.requests();
    for p in [port(&server.ws_addr()), port(&server.api_addr())] {
        let want = format!("SOCKS5 127.0.0.1:{p}");
        assert!(seen.contains(&want), "{want} in {seen:?}");
    }
    assert!(proxy.auth().iter().all(|a| a == "carol:s0cks"));
    m.logout(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_hosts_are_reached_directly() {
    let server = server().await;
    let proxy = TestProxy::start().await;
    let mut cfg = config(&server);
    cfg.proxy = Some(format!("http://{}", proxy.addr));
    cfg.no_proxy = Some("example.com, 127.0.0.1".into());
    let (m, _rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect("direct login");
    assert_eq!(proxy.requests(), Vec::<String>::new());
    m.logout(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_proxy_is_a_network_error_that_names_it_without_credentials() {
    let server = server().await;
    // A port nothing listens on: bind, note, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cfg = config(&server);
    cfg.login_timeout_ms = Some(1_000);
    cfg.proxy = Some(format!("http://bob:hunter2secret@{dead}"));
    let (m, rec) = manager(cfg);
    let e = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect_err("no proxy, no login");
    assert!(
        matches!(e, ImError::Network { .. } | ImError::Timeout { .. }),
        "{e:?}"
    );
    let failed = rec
        .wait_for("connect_failed", |e| matches!(e, Ev::ConnectFailed(..)))
        .await;
    let text = format!("{failed:?}");
    assert!(text.contains(&format!("proxy http://{dead}")), "{text}");
    for t in [text, e.to_string(), format!("{e:?}")] {
        assert!(!t.contains("hunter2secret") && !t.contains("bob"), "{t}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_proxy_urls_are_invalid_arguments_that_do_not_quote_them() {
    for bad in [
        "ftp://u:hunter2@h:1",
        "http://u:hunter2@h:1/path",
        "socks5://u:hunter2@h",
        "nope",
    ] {
        let mut cfg = imbridge::ImConfig::new(
            "http://127.0.0.1:1",
            "ws://127.0.0.1:2",
            imbridge::Platform::Android,
        );
        cfg.proxy = Some(bad.into());
        let e = imbridge::ImManager::new(cfg.clone())
            .err()
            .expect("refused");
        assert_eq!(e.code(), 10002, "{e:?}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}

//! Happy eyeballs: with the first address of a name black-holed (SYNs dropped) and
//! the second up, both the gateway dial and the API call connect to the second after
//! the stagger, and the login takes well under a second instead of its timeout.
//!
//! The black hole is a loopback listener whose accept queue is full (the kernel then
//! drops SYNs): no iptables, no address other than ::1 and 127.0.0.1. The name is
//! `localhost`, resolved through the core config's fixed addresses to [::1, 127.0.0.1]
//! (this machine's /etc/hosts maps it to 127.0.0.1 only).

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::{loopback::BlackHole, *};
use imbridge::{ImConfig, ImManager, Platform};

const HAPPY_EYEBALLS_DELAY: Duration = ImManager::TEST_HAPPY_EYEBALLS_DELAY;

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_black_holed_first_address_costs_the_stagger_not_the_login() {
    let server = server().await;
    let (api_port, ws_port) = (port(&server.api_addr()), port(&server.ws_addr()));
    let _holes = (
        BlackHole::at(SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], api_port))).await,
        BlackHole::at(SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], ws_port))).await,
    );
    let mut cfg = ImConfig::new(
        format!("http://localhost:{api_port}"),
        format!("ws://localhost:{ws_port}"),
        Platform::Android,
    );
    cfg.login_timeout_ms = Some(8_000);
    cfg.request_timeout_ms = Some(6_000);
    let session = ImManager::test_with_resolve(
        cfg,
        vec![(
            "localhost".into(),
            vec!["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        )],
    )
    .unwrap();

    let t = Instant::now();
    let user = session
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect("login over the second address");
    let took = t.elapsed();
    println!("login with ::1 black-holed: {took:?}");
    assert_eq!(user.user_id, "alice");
    // Two connections (gateway, API, made at the same time), each waited the stagger on
    // the black hole first.
    assert!(
        took >= HAPPY_EYEBALLS_DELAY - Duration::from_millis(10),
        "the connections tried ::1 first: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "the black hole did not cost the login: {took:?}"
    );
    session.logout(None).await.unwrap();
}

//! wss:// and https:// with rustls on ring, against a self-signed certificate made here.

mod common;

use common::*;
use imbridge::{ImConfig, ImError, LoginStatus, Platform};
use imbridge_devserver::TlsIdentity;

fn self_signed() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread")]
async fn login_over_tls_with_a_trusted_private_root() {
    let (cert, key) = self_signed();
    let server = server_with(|c| {
        c.tls = Some(TlsIdentity {
            cert_chain_pem: cert.clone(),
            private_key_pem: key,
        })
    })
    .await;
    assert!(server.ws_addr().starts_with("wss://"));
    assert!(server.api_addr().starts_with("https://"));
    let mut cfg = config(&server);
    cfg.extra_root_certs_pem = Some(cert);
    let (m, rec) = manager(cfg);
    let user = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    assert_eq!(user.user_id, "alice");
    assert!(server.wait_online("alice", 1, WAIT).await);
    // The first login takes the baseline: a message stored before the server answers its
    // 1001 counts as history (README, "The baseline"). Send after it.
    rec.wait_for("the baseline", |e| *e == Ev::SyncFinished)
        .await;
    server.push_text("bob", "alice", "over tls");
    rec.wait_for(
        "message",
        |e| matches!(e, Ev::Message(m) if m.text.as_deref() == Some("over tls")),
    )
    .await;
    m.logout(None).await.unwrap();
    wait_request(&server, "alice", 2003).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_fails_the_login_with_a_tls_error() {
    let (cert, key) = self_signed();
    let server = server_with(|c| {
        c.tls = Some(TlsIdentity {
            cert_chain_pem: cert,
            private_key_pem: key,
        })
    })
    .await;
    let mut cfg = ImConfig::new(server.api_addr(), server.ws_addr(), Platform::Android);
    cfg.login_timeout_ms = Some(800);
    cfg.reconnect_base_ms = Some(50);
    let (m, rec) = manager(cfg);
    let err = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap_err();
    match &err {
        ImError::Network { detail } => assert!(detail.contains("TLS"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert!(rec.count(|e| matches!(e, Ev::ConnectFailed(10000, _))) >= 1);
}

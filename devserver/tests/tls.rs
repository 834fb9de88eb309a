//! Both ports speak TLS when an identity is configured.

mod common;

use std::sync::Arc;

use common::T;
use futures_util::StreamExt;
use imbridge_devserver::{DevServer, DevServerConfig, TlsIdentity};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn wss_and_https_work_with_a_self_signed_identity() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let server = DevServer::start(DevServerConfig {
        tls: Some(TlsIdentity {
            cert_chain_pem: ck.cert.pem(),
            private_key_pem: ck.signing_key.serialize_pem(),
        }),
        ..DevServerConfig::default()
    })
    .await
    .unwrap();
    assert!(server.ws_addr().starts_with("wss://127.0.0.1:"));
    assert!(server.api_addr().starts_with("https://127.0.0.1:"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("localhost").unwrap();

    // wss://
    let ws_host = server.ws_addr().trim_start_matches("wss://").to_string();
    let tls = connector
        .connect(name.clone(), TcpStream::connect(&ws_host).await.unwrap())
        .await
        .expect("TLS to the gateway");
    let token = server.user_token("u1", 5);
    let url = format!(
        "wss://localhost/?{}&isMsgResp=true",
        common::query("u1", &token, 5)
    );
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("wss upgrade");
    let first = tokio::time::timeout(T, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        first,
        Message::text(r#"{"errCode":0,"errMsg":"","errDlt":""}"#)
    );

    // https://
    let api_host = server.api_addr().trim_start_matches("https://").to_string();
    let mut tls = connector
        .connect(name, TcpStream::connect(&api_host).await.unwrap())
        .await
        .expect("TLS to the API");
    let body = r#"{"secret":"openIM123","userID":"imAdmin"}"#;
    let request = format!(
        "POST /auth/get_admin_token HTTP/1.1\r\nHost: localhost\r\noperationID: op\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(T, tls.read_to_end(&mut raw))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""errCode":0"#), "{text}");
}

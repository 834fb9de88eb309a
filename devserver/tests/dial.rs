//! Dial checks and their answers (protocol §2, Appendix B.1–B.3).

mod common;

use std::time::Duration;

use common::*;
use imbridge_devserver::{Faults, ServerEvent};

#[tokio::test]
async fn missing_is_background_is_500_as_http_200_json() {
    let server = start().await;
    let token = server.user_token("u1", 5);
    let q =
        format!("sendID=u1&token={token}&platformID=5&operationID=op&sdkType=js&isMsgResp=true");
    let (body, content_type) = dial_refused(&server, &q).await;
    assert_eq!(content_type, "application/json; charset=utf-8");
    assert_eq!(body["errCode"], 500);
    assert_eq!(body["errMsg"], "ServerInternalError");
    assert!(body.get("data").is_none());
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn argument_errors_are_1602() {
    let server = start().await;
    let token = server.user_token("u1", 5);
    for (q, dlt) in [
        (format!("sendID=u1&token={token}&platformID=x&operationID=op&isBackground=false&sdkType=js"), "platformID is not int"),
        (format!("sendID=u1&token={token}&platformID=12&operationID=op&isBackground=false&sdkType=js"), "platformID is invalid"),
        (format!("sendID=u1&token={token}&platformID=5&isBackground=false&sdkType=js"), "operationID is empty"),
    ] {
        let (body, _) = dial_refused(&server, &q).await;
        assert_eq!(body["errCode"], 1602, "{q}");
        assert_eq!(body["errDlt"], dlt);
    }
    // gob (sdkType absent or go) is not supported by the dev gateway.
    let q = format!("sendID=u1&token={token}&platformID=5&operationID=op&isBackground=false");
    let (body, _) = dial_refused(&server, &q).await;
    assert_eq!(body["errCode"], 1602);
    assert!(body["errDlt"].as_str().unwrap().contains("sdkType=js only"));
}

#[tokio::test]
async fn token_errors_come_as_http_json_without_is_msg_resp() {
    let server = start().await;
    let (body, _) = dial_refused(&server, &query("u1", "not-a-jwt", 5)).await;
    assert_eq!(body["errCode"], 1503);
    assert_eq!(body["errMsg"], "TokenMalformedError");

    let token = server.user_token("u1", 5);
    let (body, _) = dial_refused(&server, &query("u2", &token, 5)).await;
    assert_eq!(body["errCode"], 1502, "claims must match sendID");
    let (body, _) = dial_refused(&server, &query("u1", &token, 2)).await;
    assert_eq!(body["errCode"], 1502, "claims must match platformID");

    server.advance_clock(Duration::from_secs(91 * 24 * 3600));
    let (body, _) = dial_refused(&server, &query("u1", &token, 5)).await;
    assert_eq!(body["errCode"], 1501);

    let ev = server
        .wait_for_event(|e| matches!(e, ServerEvent::Dial { err_code: 1501, .. }), T)
        .await
        .expect("dial event");
    let ServerEvent::Dial {
        user_id,
        platform_id,
        query,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((user_id.as_str(), platform_id), ("u1", 5));
    assert_eq!(query.get("sdkType").map(String::as_str), Some("js"));
}

#[tokio::test]
async fn is_msg_resp_sends_status_text_frames() {
    let server = start().await;
    let token = server.user_token("u1", 5);

    let mut ws = dial(
        &server,
        &format!("{}&isMsgResp=true", query("u1", &token, 5)),
    )
    .await
    .expect("upgraded");
    let first = next_data(&mut ws).await.expect("status frame");
    assert_eq!(text(&first), r#"{"errCode":0,"errMsg":"","errDlt":""}"#);
    assert!(server.wait_online("u1", 1, T).await);

    // Token-stage error with isMsgResp: 101, TXT error, then TCP close.
    let mut bad = dial(
        &server,
        &format!("{}&isMsgResp=true", query("u1", "x.y.z", 5)),
    )
    .await
    .expect("upgraded even though the token is bad");
    let err: serde_json::Value =
        serde_json::from_str(&text(&next_data(&mut bad).await.unwrap())).unwrap();
    assert_eq!(err["errCode"], 1503);
    assert!(err.get("errDlt").is_some());
    expect_closed(&mut bad).await;
    assert!(
        server.wait_online("u1", 1, T).await,
        "the refused dial never registered"
    );
}

#[tokio::test]
async fn fault_switches_change_the_dial_answer() {
    let server = start().await;
    let token = server.user_token("u1", 5);
    server.set_faults(Faults {
        dial_error: Some((1601, "ConnOverMaxNumLimit".into())),
        ..Faults::default()
    });
    let (body, _) = dial_refused(&server, &query("u1", &token, 5)).await;
    assert_eq!(body["errCode"], 1601);
    assert_eq!(body["errDlt"], "fault");

    server.set_faults(Faults {
        dial_http_status: Some(503),
        ..Faults::default()
    });
    match dial(&server, &query("u1", &token, 5)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }

    server.set_faults(Faults::default());
    assert!(dial(&server, &query("u1", &token, 5)).await.is_ok());
}

#[tokio::test]
async fn dropping_the_server_closes_connections() {
    let server = start().await;
    let mut ws = online(&server, "u1", 5).await.0;
    drop(server);
    expect_closed(&mut ws).await;
}

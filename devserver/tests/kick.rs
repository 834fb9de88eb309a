//! Multi-login kicks and force-logout (protocol §1.4, Appendix B.9).

mod common;

use common::*;
use imbridge_devserver::{Faults, ServerEvent};

const KICK: &str =
    r#"{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}"#;

#[tokio::test]
async fn second_device_on_the_same_platform_kicks_the_first_under_policy_1() {
    let server = start().await;
    let (mut first, t1) = online(&server, "u1", 5).await;

    // Minted in the same second: still a different token (jti), so it kicks.
    let t2 = server.user_token("u1", 5);
    assert_ne!(t1, t2);
    let _second = dial(&server, &query("u1", &t2, 5))
        .await
        .expect("second device");

    let frame = next_data(&mut first).await.expect("kick frame");
    assert_eq!(String::from_utf8(binary(&frame)).unwrap(), KICK);
    expect_closed(&mut first).await;
    server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Kicked { user_id, platform_id: 5 } if user_id == "u1"),
            T,
        )
        .await
        .expect("kicked event");
    assert!(server.wait_online("u1", 1, T).await);

    // The first device's token is now Kicked.
    let (body, _) = dial_refused(&server, &query("u1", &t1, 5)).await;
    assert_eq!(body["errCode"], 1506);
    assert_eq!(body["errMsg"], "TokenKickedError");
}

#[tokio::test]
async fn other_platforms_and_the_same_token_are_not_kicked_under_policy_1() {
    let server = start().await;
    let web = server.user_token("u1", 5);
    let android = server.user_token("u1", 2);
    let _a = dial(&server, &query("u1", &web, 5)).await.expect("web");
    let _b = dial(&server, &query("u1", &android, 2))
        .await
        .expect("android");
    let _c = dial(&server, &query("u1", &web, 5))
        .await
        .expect("web again, same token");
    assert!(server.wait_online("u1", 3, T).await);
    assert!(server
        .events()
        .iter()
        .all(|e| !matches!(e, ServerEvent::Kicked { .. })));
}

#[tokio::test]
async fn force_logout_kicks_and_flags_the_tokens() {
    let server = start().await;
    let (mut ws, token) = online(&server, "u1", 2).await;
    assert_eq!(server.force_logout("u1", 2), 1);
    assert_eq!(
        String::from_utf8(binary(&next_data(&mut ws).await.unwrap())).unwrap(),
        KICK
    );
    expect_closed(&mut ws).await;
    let (body, _) = dial_refused(&server, &query("u1", &token, 2)).await;
    assert_eq!(body["errCode"], 1506);
}

#[tokio::test]
async fn released_quirks_lose_the_kick_frame() {
    let server = start().await;
    server.set_faults(Faults {
        released_quirks: true,
        ..Faults::default()
    });
    let mut ws = online(&server, "u1", 5).await.0;
    assert_eq!(server.force_logout("u1", 5), 1);
    expect_closed(&mut ws).await;
}

//! The WebSocket gateway: accepts TCP (and TLS), reads the upgrade request, runs the real
//! server's checks in order (connection limit → arguments → token → claims), answers errors the
//! OpenIM way, and hands upgraded connections to their task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::events::ServerEvent;
use crate::gateway::conn::{ws_config, BoxIo, Conn};
use crate::gateway::dialargs::{self, DialArgs};
use crate::gateway::handlers::ConnIdentity;
use crate::gateway::handshake::{self, linger_close, query_get, RequestHead};
use crate::gateway::hub::ConnEntry;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::envelope;
use crate::shared::Shared;

/// Time allowed for TLS plus the upgrade request (`websocketTimeout`).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a dial was refused and how to say so.
enum Rejection {
    /// HTTP 200 with the JSON body.
    Http(CodeError),
    /// 101, then a TXT frame with the JSON, then close (token stage with `isMsgResp=true`).
    Txt(CodeError),
}

/// A refused dial: how to answer, and the arguments if they parsed.
struct Refusal {
    rejection: Rejection,
    args: Option<DialArgs>,
}

fn refuse(rejection: Rejection, args: Option<DialArgs>) -> Box<Refusal> {
    Box::new(Refusal { rejection, args })
}

/// The real server's checks, in its order.
fn check(
    shared: &Shared,
    query: &[(String, String)],
    head: &RequestHead,
) -> Result<DialArgs, Box<Refusal>> {
    if shared.hub.count() >= shared.config.max_connections {
        let e = CodeError::new(codes::CONN_OVER_MAX, "over max conn num limit");
        return Err(refuse(Rejection::Http(e), None));
    }
    let args = dialargs::parse(query, head.header("compression"))
        .map_err(|e| refuse(Rejection::Http(e), None))?;
    if args.sdk_type != "js" {
        let e = CodeError::new(
            codes::CONN_ARGS,
            "the dev gateway supports sdkType=js only (the gob envelope of sdkType go is not implemented)",
        );
        return Err(refuse(Rejection::Http(e), Some(args)));
    }
    let token_stage = |e: CodeError, args: DialArgs| {
        if args.send_response {
            Err(refuse(Rejection::Txt(e), Some(args)))
        } else {
            Err(refuse(Rejection::Http(e), Some(args)))
        }
    };
    let claims = match shared.parse_token(&args.token) {
        Ok(c) => c,
        Err(e) => return token_stage(e, args),
    };
    if claims.user_id != args.user_id {
        let e = CodeError::new(
            codes::TOKEN_INVALID,
            format!("token uid {} != userID {}", claims.user_id, args.user_id),
        );
        return token_stage(e, args);
    }
    if claims.platform_id != args.platform_id {
        let e = CodeError::new(
            codes::TOKEN_INVALID,
            format!(
                "token platform {} != platformID {}",
                claims.platform_id, args.platform_id
            ),
        );
        return token_stage(e, args);
    }
    Ok(args)
}

/// Serves one dial on an accepted stream.
pub(crate) async fn dial(shared: Arc<Shared>, mut io: BoxIo) {
    let Some((head, leftover)) = handshake::read_head(&mut io, HANDSHAKE_TIMEOUT).await else {
        return;
    };
    if let Some(delay) = shared.faults().upgrade_delay {
        tokio::time::sleep(delay).await;
    }
    let faults = shared.faults();
    let query = handshake::parse_query(head.raw_query());
    let mut query_map = BTreeMap::new();
    for (k, v) in &query {
        query_map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let record = |args: Option<&DialArgs>, err_code: i32| {
        let (user_id, platform_id) = match args {
            Some(a) => (a.user_id.clone(), a.platform_id),
            None => (
                query_get(&query, "sendID").to_string(),
                query_get(&query, "platformID").parse().unwrap_or(0),
            ),
        };
        shared.record(ServerEvent::Dial {
            user_id,
            platform_id,
            query: query_map.clone(),
            err_code,
        });
    };

    if let Some(status) = faults.dial_http_status {
        // Recorded before answering, so a test that saw the answer sees the event.
        record(None, i32::from(status));
        let _ =
            handshake::write_status(&mut io, status, "dev gateway fault: dial_http_status").await;
        linger_close(&mut io).await;
        return;
    }
    if let Some((code, msg)) = &faults.dial_error {
        let body = envelope::status_json(*code, msg, "fault");
        record(None, *code);
        let _ = handshake::write_json_200(&mut io, &body).await;
        linger_close(&mut io).await;
        return;
    }

    let refusal = match check(&shared, &query, &head) {
        Ok(args) => Ok(args),
        Err(refusal) => Err(*refusal),
    };
    let args = match refusal {
        Ok(args) => args,
        Err(Refusal {
            rejection: Rejection::Http(e),
            args,
        }) => {
            log::info!("dial refused: errCode={} errDlt={}", e.code, e.dlt);
            record(args.as_ref(), e.code);
            let _ =
                handshake::write_json_200(&mut io, &envelope::status_json(e.code, &e.msg, &e.dlt))
                    .await;
            linger_close(&mut io).await;
            return;
        }
        Err(Refusal {
            rejection: Rejection::Txt(e),
            args,
        }) => {
            let Some(mut ws) = upgrade(io, &head, leftover, args.as_ref(), &record).await else {
                return;
            };
            log::info!(
                "dial refused after upgrade: errCode={} errDlt={}",
                e.code,
                e.dlt
            );
            let text = envelope::status_json(e.code, &e.msg, &e.dlt);
            let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, ws.send(Message::text(text))).await;
            record(args.as_ref(), e.code);
            linger_close(ws.get_mut()).await;
            return;
        }
    };

    let Some(mut ws) = upgrade(io, &head, leftover, Some(&args), &record).await else {
        return;
    };
    if faults.close_after_upgrade {
        log::info!("fault close_after_upgrade: closing right after 101");
        return;
    }
    if args.send_response {
        let ok = Message::text(envelope::STATUS_OK_TEXT);
        if !matches!(
            tokio::time::timeout(HANDSHAKE_TIMEOUT, ws.send(ok)).await,
            Ok(Ok(()))
        ) {
            return;
        }
    }
    let (id, tx, rx, kill) = shared.hub.new_handle();
    let entry = ConnEntry {
        id,
        user_id: args.user_id.clone(),
        platform_id: args.platform_id,
        token: args.token.clone(),
        compression: args.compression,
        is_background_at_dial: args.background,
        background: false,
        tx,
        kill: kill.clone(),
    };
    let victims = shared.hub.register(shared.config.multi_login_policy, entry);
    log::info!(
        "connected user={} platform={} compression={}",
        args.user_id,
        args.platform_id,
        args.compression
    );
    record(Some(&args), 0);
    shared.kick(victims);
    let conn = Conn {
        shared: shared.clone(),
        ident: ConnIdentity {
            id,
            user_id: args.user_id,
            platform_id: args.platform_id,
        },
        compression: args.compression,
        rx,
        kill,
    };
    conn.run(ws).await;
}

/// Validates the upgrade request and writes the 101; a request that is not a WebSocket
/// upgrade gets 400 (as gorilla answers after the checks passed).
async fn upgrade(
    mut io: BoxIo,
    head: &RequestHead,
    leftover: Vec<u8>,
    args: Option<&DialArgs>,
    record: &impl Fn(Option<&DialArgs>, i32),
) -> Option<WebSocketStream<BoxIo>> {
    let key = match head.websocket_key() {
        Ok(k) => k.to_string(),
        Err(reason) => {
            let _ = handshake::write_status(&mut io, 400, &reason).await;
            record(args, 400);
            linger_close(&mut io).await;
            return None;
        }
    };
    if handshake::write_switching(&mut io, &key).await.is_err() {
        return None;
    }
    Some(WebSocketStream::from_partially_read(io, leftover, Role::Server, Some(ws_config())).await)
}

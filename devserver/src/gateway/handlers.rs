//! Answers to binary requests (protocol §4), one reqIdentifier at a time.

use prost::Message as _;

use crate::events::PullRequest;
use crate::events::ServerEvent;
use crate::faults::PullFault;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::envelope::{self, Req};
use crate::protocol::pb;
use crate::shared::Shared;
use crate::store::pull;
use crate::store::send as messages;

/// `WSGetNewestSeq`.
const GET_NEWEST_SEQ: i32 = 1001;
/// `WSPullMsgBySeqList`.
const PULL_BY_SEQ_LIST: i32 = 1002;
/// `WSSendMsg`.
const SEND_MSG: i32 = 1003;
/// `WSSendSignalMsg`.
const SEND_SIGNAL_MSG: i32 = 1004;
/// `WSPullMsg`.
const PULL_MSG: i32 = 1005;
/// `WSGetConvMaxReadSeq`.
const GET_CONV_MAX_READ_SEQ: i32 = 1006;
/// `WsPullConvLastMessage`.
const PULL_CONV_LAST_MESSAGE: i32 = 1007;
/// `WsLogoutMsg`.
pub(crate) const LOGOUT: i32 = 2003;
/// `WsSetBackgroundStatus`.
const SET_BACKGROUND: i32 = 2004;
/// `WsSubUserOnlineStatus`.
const SUB_USER_ONLINE_STATUS: i32 = 2005;

/// Who sent the request.
#[derive(Clone, Debug)]
pub(crate) struct ConnIdentity {
    pub id: u64,
    pub user_id: String,
    pub platform_id: i32,
}

/// What the connection does with a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write this (uncompressed) envelope; with `logout`, close the connection after it.
    Reply { resp: Vec<u8>, logout: bool },
    /// Write nothing (the `ignore_requests` fault, a hanging pull).
    Silent,
    /// Write the first half of this reply's frame, then close the TCP connection (a pull
    /// fault).
    CutReply(Vec<u8>),
    /// Drop the TCP connection without a reply (protocol violation).
    Drop(String),
}

type HandlerResult = Result<Option<Vec<u8>>, CodeError>;

fn bad_payload(what: &str, e: prost::DecodeError) -> CodeError {
    CodeError::new(
        codes::SERVER_INTERNAL,
        format!("error unmarshaling {what}: {e}"),
    )
}

/// The struct validation some handlers run on the envelope (`required` operationID/msgIncr).
fn validate_envelope(req: &Req) -> Result<(), CodeError> {
    if req.operation_id.is_empty() || req.msg_incr.is_empty() {
        return Err(CodeError::new(
            codes::SERVER_INTERNAL,
            "validation failed: operationID and msgIncr are required",
        ));
    }
    Ok(())
}

/// An encoded reply payload (`""` on the wire when the message is empty).
fn payload<M: prost::Message>(m: &M) -> HandlerResult {
    Ok(Some(m.encode_to_vec()))
}

/// Handles one decoded request from `conn`: records it, enforces the envelope rules (sendID
/// must be the connection's user, reqIdentifier must be known), applies the
/// `ignore_requests` fault, then answers.
pub(crate) fn handle(shared: &Shared, conn: &ConnIdentity, req: &Req) -> Action {
    shared.record(ServerEvent::Request {
        user_id: conn.user_id.clone(),
        platform_id: conn.platform_id,
        req_identifier: req.req_identifier,
        msg_incr: req.msg_incr.clone(),
        operation_id: req.operation_id.clone(),
        data: req.data.clone(),
    });
    if req.send_id != conn.user_id {
        return Action::Drop("protocol violation: sendID is not the connection's user".into());
    }
    let known = matches!(req.req_identifier, 1001..=1007 | 2003..=2005);
    if !known {
        return Action::Drop(format!(
            "protocol violation: unknown reqIdentifier {}",
            req.req_identifier
        ));
    }
    if shared
        .faults()
        .ignore_requests
        .contains(&req.req_identifier)
    {
        return Action::Silent;
    }
    let pull_fault = if matches!(req.req_identifier, PULL_BY_SEQ_LIST | PULL_MSG) {
        record_pull(shared, conn, req);
        shared.counting_faults().pull.take(&conn.user_id)
    } else {
        None
    };
    let result = match pull_fault {
        Some(PullFault::Hang) => return Action::Silent,
        Some(PullFault::Fail(code)) => Err(CodeError::new(code, "fault")),
        _ => answer(shared, conn, req),
    };
    let (code, msg, data) = match &result {
        Ok(data) => (0, String::new(), data.as_deref()),
        Err(e) => (e.code, e.msg.clone(), None),
    };
    let resp = envelope::encode_resp(
        req.req_identifier,
        &req.msg_incr,
        &req.operation_id,
        code,
        &msg,
        data,
    );
    if pull_fault == Some(PullFault::CloseMidReply) {
        return Action::CutReply(resp);
    }
    Action::Reply {
        resp,
        logout: req.req_identifier == LOGOUT,
    }
}

/// Records what a 1002 / 1005 asked for (an undecodable payload records nothing).
fn record_pull(shared: &Shared, conn: &ConnIdentity, req: &Req) {
    let data = req.data.as_slice();
    let mut pr = PullRequest {
        conn_id: conn.id,
        user_id: conn.user_id.clone(),
        platform_id: conn.platform_id,
        req_identifier: req.req_identifier,
        msg_incr: req.msg_incr.clone(),
        payload_user_id: String::new(),
        order: 0,
        ranges: Vec::new(),
        seqs: Vec::new(),
    };
    if req.req_identifier == PULL_BY_SEQ_LIST {
        let Ok(r) = pb::PullMessageBySeqsReq::decode(data) else {
            return;
        };
        (pr.payload_user_id, pr.order, pr.ranges) = (r.user_id, r.order, r.seq_ranges);
    } else {
        let Ok(r) = pb::GetSeqMessageReq::decode(data) else {
            return;
        };
        (pr.payload_user_id, pr.order, pr.seqs) = (r.user_id, r.order, r.conversations);
    }
    shared.record(ServerEvent::Pull(pr));
}

/// `authverify.CheckAccess` (1001 only): the payload's userID must be the connection's user.
/// The server runs no such check for 1002, 1005, 1006 and 1007: they answer for the payload's
/// userID, and so does the dev gateway.
fn check_access(conn: &ConnIdentity, user_id: &str) -> Result<(), CodeError> {
    if user_id != conn.user_id {
        return Err(CodeError::new(
            codes::NO_PERMISSION,
            "no permission for this userID",
        ));
    }
    Ok(())
}

fn answer(shared: &Shared, conn: &ConnIdentity, req: &Req) -> HandlerResult {
    let data = req.data.as_slice();
    match req.req_identifier {
        GET_NEWEST_SEQ => {
            let r = pb::GetMaxSeqReq::decode(data).map_err(|e| bad_payload("GetMaxSeqReq", e))?;
            check_access(conn, &r.user_id)?;
            payload(&pull::newest_seqs(&shared.hub.lock().store, &conn.user_id))
        }
        PULL_BY_SEQ_LIST => {
            let r = pb::PullMessageBySeqsReq::decode(data)
                .map_err(|e| bad_payload("PullMessageBySeqsReq", e))?;
            validate_envelope(req)?;
            payload(&pull::pull_by_ranges(
                &shared.hub.lock().store,
                &r.user_id,
                &r,
            ))
        }
        SEND_MSG => {
            let msg = pb::MsgData::decode(data).map_err(|e| bad_payload("MsgData", e))?;
            let sent = messages::send_from_client(
                shared,
                &conn.user_id,
                conn.platform_id,
                msg,
                &req.operation_id,
            )?;
            payload(&pb::SendMsgResp {
                server_msg_id: sent.server_msg_id,
                client_msg_id: sent.client_msg_id,
                send_time: sent.send_time,
                modify: None,
            })
        }
        SEND_SIGNAL_MSG => Err(CodeError::new(
            codes::SERVER_INTERNAL,
            "signal messages are not supported",
        )),
        PULL_MSG => {
            let r = pb::GetSeqMessageReq::decode(data)
                .map_err(|e| bad_payload("GetSeqMessageReq", e))?;
            validate_envelope(req)?;
            payload(&pull::pull_by_seqs(
                &shared.hub.lock().store,
                &r.user_id,
                &r,
            ))
        }
        GET_CONV_MAX_READ_SEQ => {
            let r = pb::GetConversationsHasReadAndMaxSeqReq::decode(data)
                .map_err(|e| bad_payload("GetConversationsHasReadAndMaxSeqReq", e))?;
            validate_envelope(req)?;
            payload(&pull::read_and_max_seqs(
                &shared.hub.lock().store,
                &r.user_id,
                &r,
            ))
        }
        PULL_CONV_LAST_MESSAGE => {
            let r = pb::GetLastMessageReq::decode(data)
                .map_err(|e| bad_payload("GetLastMessageReq", e))?;
            payload(&pull::last_messages(
                &shared.hub.lock().store,
                &r.user_id,
                &r,
            ))
        }
        LOGOUT => {
            pb::DelUserPushTokenReq::decode(data)
                .map_err(|e| bad_payload("DelUserPushTokenReq", e))?;
            Ok(Some(Vec::new()))
        }
        SET_BACKGROUND => {
            let r = pb::SetAppBackgroundStatusReq::decode(data)
                .map_err(|e| bad_payload("SetAppBackgroundStatusReq", e))?;
            validate_envelope(req)?;
            shared.hub.set_background(conn.id, r.is_background);
            Ok(None)
        }
        SUB_USER_ONLINE_STATUS => {
            let r = pb::SubUserOnlineStatus::decode(data)
                .map_err(|e| bad_payload("SubUserOnlineStatus", e))?;
            let mut tips = pb::SubUserOnlineStatusTips::default();
            for user in r.subscribe_user_id {
                let mut platforms: Vec<i32> = shared
                    .hub
                    .online(&user)
                    .iter()
                    .map(|c| c.platform_id)
                    .collect();
                platforms.sort_unstable();
                platforms.dedup();
                tips.subscribers.push(pb::SubUserOnlineStatusElem {
                    user_id: user,
                    online_platform_i_ds: platforms,
                });
            }
            payload(&tips)
        }
        _ => Err(CodeError::new(codes::SERVER_INTERNAL, "unreachable")),
    }
}

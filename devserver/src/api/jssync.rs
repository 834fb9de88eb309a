//! The data-sync endpoints the published JS client (`@openim/client-sdk`) calls right after it
//! connects and after a push (protocol Appendix A / C.8). The dev gateway has no friends,
//! or conversation settings, so most answer valid empty data; the two `/jssdk/*` endpoints
//! (protobuf in, base64 protobuf out) report the user's conversations from the message store.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use prost::Message as _;
use serde_json::{Map, Value};

use crate::api::endpoints::ApiResult;
use crate::gateway::hub::HubState;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::pb;
use crate::shared::Shared;
use crate::store::{ids, pull};

/// `{"version":0,"versionID":"","full":true,"delete":null,"insert":null,"update":null,…}`: an
/// incremental sync that has nothing (friends, joined groups, conversation settings).
pub(crate) fn empty_incremental(with_sort_version: bool) -> ApiResult {
    let sort = if with_sort_version {
        r#","sortVersion":0"#
    } else {
        ""
    };
    Ok(Some(format!(
        r#"{{"version":0,"versionID":"","full":true,"delete":null,"insert":null,"update":null{sort}}}"#
    )))
}

/// `{"version":0,"versionID":"","equal":false,"<ids_key>":null}`: a full ID list that is empty.
pub(crate) fn empty_full_ids(ids_key: &str) -> ApiResult {
    Ok(Some(format!(
        r#"{{"version":0,"versionID":"","equal":false,"{ids_key}":null}}"#
    )))
}

/// `{"conversationIDs":null}`: no muted conversations.
pub(crate) fn not_notify_conversation_ids() -> ApiResult {
    Ok(Some(r#"{"conversationIDs":null}"#.to_string()))
}

/// JSON bodies are refused on the `/jssdk/*` endpoints (the JS client always sends protobuf).
pub(crate) fn json_not_supported(_body: &Map<String, Value>) -> ApiResult {
    Err(CodeError::new(
        codes::ARGS,
        "the dev gateway answers /jssdk/* for Content-Type application/x-protobuf only",
    ))
}

fn pb_data(m: &pb::GetConversationsResp) -> ApiResult {
    Ok(Some(format!("\"{}\"", STANDARD.encode(m.encode_to_vec()))))
}

fn bad_body(e: prost::DecodeError) -> CodeError {
    CodeError::new(codes::SERVER_INTERNAL, format!("proto: {e}"))
}

/// The owner's view of one of its conversations, from its latest readable message.
fn conversation_msg(st: &HubState, owner: &str, conv: &str) -> Option<pb::ConversationMsg> {
    if !st.store.has_record(owner, conv) {
        return None;
    }
    let (_, max_seq) = pull::bounds(&st.store, owner, conv);
    let last = st.store.stored(conv, max_seq)?;
    let (conversation_type, peer, group_id) = if last.session_type == ids::GROUP_CHAT {
        (ids::GROUP_CHAT, String::new(), last.group_id.clone())
    } else if last.send_id == owner {
        (last.session_type, last.recv_id.clone(), String::new())
    } else {
        (last.session_type, last.send_id.clone(), String::new())
    };
    let read_seq = st.store.user_seq(owner, conv).has_read;
    let user = st.users.get(&peer).map(|u| pb::UserInfo {
        user_id: u.user_id.clone(),
        nickname: u.nickname.clone(),
        face_url: u.face_url.clone(),
        ex: u.ex.clone(),
        create_time: u.create_time,
        app_manger_level: u.app_manger_level,
        global_recv_msg_opt: u.global_recv_msg_opt,
    });
    Some(pb::ConversationMsg {
        conversation: Some(pb::Conversation {
            owner_user_id: owner.to_string(),
            conversation_id: conv.to_string(),
            conversation_type,
            user_id: peer,
            group_id,
            max_seq,
            ..pb::Conversation::default()
        }),
        last_msg: Some(st.store.view(owner, conv, max_seq)),
        user,
        max_seq,
        read_seq,
    })
}

fn resp(conversations: Vec<pb::ConversationMsg>) -> pb::GetConversationsResp {
    pb::GetConversationsResp {
        unread_count: conversations.iter().map(|c| c.max_seq - c.read_seq).sum(),
        conversations,
    }
}

/// `/jssdk/get_active_conversations`: the owner's conversations, latest message first, at most
/// `count` of them (all when `count` ≤ 0).
pub(crate) fn get_active_conversations(shared: &Shared, body: &[u8]) -> ApiResult {
    let req = pb::GetActiveConversationsReq::decode(body).map_err(bad_body)?;
    let st = shared.hub.lock();
    let mut convs: Vec<pb::ConversationMsg> = st
        .store
        .records_of(&req.owner_user_id)
        .iter()
        .filter_map(|c| conversation_msg(&st, &req.owner_user_id, c))
        .collect();
    convs.sort_by_key(|c| std::cmp::Reverse(c.last_msg.as_ref().map_or(0, |m| m.send_time)));
    if req.count > 0 {
        convs.truncate(usize::try_from(req.count).unwrap_or(usize::MAX));
    }
    pb_data(&resp(convs))
}

/// `/jssdk/get_conversations`: the requested conversations the owner takes part in.
pub(crate) fn get_conversations(shared: &Shared, body: &[u8]) -> ApiResult {
    let req = pb::GetConversationsReq::decode(body).map_err(bad_body)?;
    let st = shared.hub.lock();
    let convs = req
        .conversation_i_ds
        .iter()
        .filter_map(|c| conversation_msg(&st, &req.owner_user_id, c))
        .collect();
    pb_data(&resp(convs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::gojson;

    #[test]
    fn empty_answers_are_valid_json() {
        for data in [
            empty_incremental(true),
            empty_incremental(false),
            empty_full_ids("userIDs"),
            not_notify_conversation_ids(),
        ] {
            let text = data.unwrap().unwrap();
            assert!(gojson::parse_object(text.as_bytes()).is_ok(), "{text}");
        }
    }
}

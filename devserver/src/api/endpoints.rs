//! The HTTP API endpoints (protocol §7 plus `/msg/send_msg`). Each takes the bound JSON body
//! and answers `data` JSON or an OpenIM error.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::jssync;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::gojson;
use crate::protocol::platform;
use crate::shared::Shared;
use crate::store::send::{self as messages, SendRequest};
use crate::tokens::jwt::Claims;
use crate::tokens::users::UserInfo;

/// The API paths the dev gateway serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    GetAdminToken,
    GetUserToken,
    UserRegister,
    GetUsersInfo,
    ParseToken,
    ForceLogout,
    SendMsg,
    /// Dev-only (not in OpenIM): abruptly close every gateway connection, for
    /// benchmarks and clients that are not driven from Rust.
    DevDropConnections,
    /// Dev-only: `{"userID","frames","batch"}` → that many 2001 frames of `batch` text
    /// messages each, queued with backpressure (see `burst`).
    DevPushBurst,
    /// Dev-only: `{"userID","fromUserID","count","batch"}` → `count` messages stored with real
    /// seqs and pushed as 2001 frames of `batch`, with backpressure (see `burst`).
    DevSendBurst,
    /// Dev-only: `{"refuse":bool}` switches the `refuse_connections` fault.
    DevRefuseConnections,
    NewestSeq,
    PullMsgBySeq,
    CreateGroup,
    InviteToGroup,
    QuitGroup,
    KickGroup,
    DevFaults,
    DevHole,
    DevUserMinSeq,
    DevBacklog,
    DevConversation,
    DevPullRequests,
    DevStoreStats,
    // Data sync of the JS client (see `jssync`).
    FriendIncremental,
    FriendFullIds,
    GroupIncremental,
    GroupFullIds,
    ConversationIncremental,
    NotNotifyConversationIds,
    ActiveConversations,
    Conversations,
}

impl Endpoint {
    /// The endpoint for a request path, if any.
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "/auth/get_admin_token" => Self::GetAdminToken,
            "/auth/get_user_token" => Self::GetUserToken,
            "/user/user_register" => Self::UserRegister,
            "/user/get_users_info" => Self::GetUsersInfo,
            "/auth/parse_token" => Self::ParseToken,
            "/auth/force_logout" => Self::ForceLogout,
            "/msg/send_msg" => Self::SendMsg,
            "/dev/drop_connections" => Self::DevDropConnections,
            "/dev/push_burst" => Self::DevPushBurst,
            "/dev/send_burst" => Self::DevSendBurst,
            "/dev/refuse_connections" => Self::DevRefuseConnections,
            "/msg/newest_seq" => Self::NewestSeq,
            "/msg/pull_msg_by_seq" => Self::PullMsgBySeq,
            "/group/create_group" => Self::CreateGroup,
            "/group/invite_user_to_group" => Self::InviteToGroup,
            "/group/quit_group" => Self::QuitGroup,
            "/group/kick_group" => Self::KickGroup,
            "/dev/faults" => Self::DevFaults,
            "/dev/hole" => Self::DevHole,
            "/dev/user_min_seq" => Self::DevUserMinSeq,
            "/dev/backlog" => Self::DevBacklog,
            "/dev/conversation" => Self::DevConversation,
            "/dev/pull_requests" => Self::DevPullRequests,
            "/dev/store_stats" => Self::DevStoreStats,
            "/friend/get_incremental_friends" => Self::FriendIncremental,
            "/friend/get_full_friend_user_ids" => Self::FriendFullIds,
            "/group/get_incremental_join_groups" => Self::GroupIncremental,
            "/group/get_full_join_group_ids" => Self::GroupFullIds,
            "/conversation/get_incremental_conversations" => Self::ConversationIncremental,
            "/conversation/get_not_notify_conversation_ids" => Self::NotNotifyConversationIds,
            "/jssdk/get_active_conversations" => Self::ActiveConversations,
            "/jssdk/get_conversations" => Self::Conversations,
            _ => return None,
        })
    }

    /// The `/jssdk/*` endpoints take and give protobuf.
    pub(crate) fn takes_protobuf(self) -> bool {
        matches!(self, Self::ActiveConversations | Self::Conversations)
    }

    /// Whitelisted endpoints need no `token` header.
    pub(crate) fn needs_token(self) -> bool {
        !matches!(self, Self::GetAdminToken | Self::ParseToken)
    }
}

/// What a handler sees of the request besides the body.
pub(crate) struct ApiCtx<'a> {
    pub shared: &'a Shared,
    pub operation_id: &'a str,
    /// Claims of the `token` header (None on whitelisted endpoints).
    pub claims: Option<Claims>,
}

/// A handler's answer: `Some(json)` is the `data` object, `None` omits `data`.
pub(crate) type ApiResult = Result<Option<String>, CodeError>;

pub(crate) fn args(dlt: impl Into<String>) -> CodeError {
    CodeError::new(codes::ARGS, dlt)
}

pub(crate) fn require_admin(ctx: &ApiCtx<'_>) -> Result<(), CodeError> {
    match &ctx.claims {
        Some(c) if ctx.shared.is_admin(&c.user_id) => Ok(()),
        _ => Err(CodeError::new(
            codes::NO_PERMISSION,
            "only app manager can do this",
        )),
    }
}

#[derive(Serialize)]
struct TokenResp {
    token: String,
    #[serde(rename = "expireTimeSeconds")]
    expire_time_seconds: i64,
}

#[derive(Serialize)]
struct ParseTokenResp {
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "platformID")]
    platform_id: i32,
    #[serde(rename = "expireTimeSeconds")]
    expire_time_seconds: i64,
}

#[derive(Serialize)]
struct UsersInfoResp {
    #[serde(rename = "usersInfo")]
    users_info: Vec<UserInfo>,
}

#[derive(Serialize)]
struct SendMsgResp {
    #[serde(rename = "serverMsgID")]
    server_msg_id: String,
    #[serde(rename = "clientMsgID")]
    client_msg_id: String,
    #[serde(rename = "sendTime")]
    send_time: i64,
    modify: Option<()>,
}

/// Runs the endpoint.
pub(crate) fn call(endpoint: Endpoint, ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    match endpoint {
        Endpoint::GetAdminToken => get_admin_token(ctx, body),
        Endpoint::GetUserToken => get_user_token(ctx, body),
        Endpoint::UserRegister => user_register(ctx, body),
        Endpoint::GetUsersInfo => get_users_info(ctx, body),
        Endpoint::ParseToken => parse_token(ctx, body),
        Endpoint::ForceLogout => {
            force_logout_req(ctx, body)?;
            Ok(None)
        }
        Endpoint::SendMsg => send_msg(ctx, body),
        Endpoint::NewestSeq => super::msg::newest_seq(ctx, body),
        Endpoint::PullMsgBySeq => super::msg::pull_msg_by_seq(ctx, body),
        Endpoint::CreateGroup => super::group::create_group(ctx, body),
        Endpoint::InviteToGroup => super::group::invite(ctx, body),
        Endpoint::QuitGroup => super::group::quit(ctx, body),
        Endpoint::KickGroup => super::group::kick(ctx, body),
        Endpoint::DevFaults => super::dev::faults(ctx, body),
        Endpoint::DevHole => super::dev::hole(ctx, body),
        Endpoint::DevUserMinSeq => super::dev::user_min_seq(ctx, body),
        Endpoint::DevBacklog => super::dev::backlog(ctx, body),
        Endpoint::DevConversation => super::dev::conversation(ctx, body),
        Endpoint::DevPullRequests => super::dev::pull_requests(ctx, body),
        Endpoint::DevStoreStats => super::dev::store_stats(ctx, body),
        Endpoint::DevPushBurst => {
            require_admin(ctx)?;
            let user_id = gojson::get_str(body, "userID").map_err(args)?;
            let frames = gojson::get_i32(body, "frames").map_err(args)?;
            let batch = gojson::get_i32(body, "batch").map_err(args)?;
            if !(1..=10_000_000).contains(&frames) || !(1..=1000).contains(&batch) {
                return Err(args("frames must be 1..=10000000 and batch 1..=1000"));
            }
            let conns = ctx.shared.hub.lock().conns_of(&user_id);
            let n = conns.len();
            crate::gateway::burst::start(conns, &user_id, frames as usize, batch as usize);
            Ok(Some(format!(r#"{{"connections":{n}}}"#)))
        }
        Endpoint::DevSendBurst => {
            require_admin(ctx)?;
            let user_id = gojson::get_str(body, "userID").map_err(args)?;
            let from = gojson::get_str(body, "fromUserID").map_err(args)?;
            let count = gojson::get_i64(body, "count").map_err(args)?;
            let batch = gojson::get_i64(body, "batch").map_err(args)?;
            if user_id.is_empty() || from.is_empty() || user_id == from {
                return Err(args("userID and fromUserID must be two users"));
            }
            if !(1..=2_000_000).contains(&count) || !(1..=1000).contains(&batch) {
                return Err(args("count must be 1..=2000000 and batch 1..=1000"));
            }
            ctx.shared.register_user(&from, &from);
            let b = crate::gateway::burst::start_stored(
                ctx.shared,
                &from,
                &user_id,
                count as usize,
                batch as usize,
            );
            Ok(Some(format!(
                r#"{{"conversationID":"{}","firstSeq":{},"lastSeq":{}}}"#,
                b.conversation_id, b.first_seq, b.last_seq
            )))
        }
        Endpoint::DevRefuseConnections => {
            require_admin(ctx)?;
            let refuse = body.get("refuse").and_then(Value::as_bool).unwrap_or(false);
            ctx.shared
                .faults
                .send_modify(|f| f.refuse_connections = refuse);
            Ok(None)
        }
        Endpoint::DevDropConnections => {
            require_admin(ctx)?;
            let dropped = ctx.shared.drop_connections();
            Ok(Some(format!(r#"{{"dropped":{dropped}}}"#)))
        }
        Endpoint::FriendIncremental | Endpoint::GroupIncremental => jssync::empty_incremental(true),
        Endpoint::ConversationIncremental => jssync::empty_incremental(false),
        Endpoint::FriendFullIds => jssync::empty_full_ids("userIDs"),
        Endpoint::GroupFullIds => jssync::empty_full_ids("groupIDs"),
        Endpoint::NotNotifyConversationIds => jssync::not_notify_conversation_ids(),
        Endpoint::ActiveConversations | Endpoint::Conversations => jssync::json_not_supported(body),
    }
}

/// Runs a `/jssdk/*` endpoint on a protobuf body.
pub(crate) fn call_protobuf(endpoint: Endpoint, ctx: &ApiCtx<'_>, body: &[u8]) -> ApiResult {
    match endpoint {
        Endpoint::ActiveConversations => jssync::get_active_conversations(ctx.shared, body),
        Endpoint::Conversations => jssync::get_conversations(ctx.shared, body),
        _ => Err(args("this endpoint takes JSON")),
    }
}

fn token_resp(ctx: &ApiCtx<'_>, token: String) -> ApiResult {
    Ok(Some(gojson::to_string(&TokenResp {
        token,
        expire_time_seconds: ctx.shared.lifetime_secs(),
    })))
}

fn get_admin_token(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let secret = gojson::get_str(body, "secret").map_err(args)?;
    let user_id = gojson::get_str(body, "userID").map_err(args)?;
    if user_id.is_empty() {
        return Err(args("userID is empty"));
    }
    if secret != ctx.shared.config.secret {
        return Err(CodeError::new(codes::NO_PERMISSION, "secret invalid"));
    }
    if !ctx.shared.is_admin(&user_id) {
        return Err(args("userID is error."));
    }
    if !ctx.shared.hub.lock().users.contains(&user_id) {
        return Err(CodeError::new(codes::RECORD_NOT_FOUND, "user not found"));
    }
    let token = ctx.shared.mint_token(&user_id, platform::ADMIN);
    token_resp(ctx, token)
}

fn get_user_token(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let platform_id = gojson::get_i32(body, "platformID").map_err(args)?;
    let user_id = gojson::get_str(body, "userID").map_err(args)?;
    require_admin(ctx)?;
    if platform_id == platform::ADMIN {
        return Err(CodeError::new(
            codes::NO_PERMISSION,
            "platformID invalid. platformID must not be adminPlatformID",
        ));
    }
    if ctx.shared.is_admin(&user_id) {
        return Err(CodeError::new(
            codes::NO_PERMISSION,
            "don't get Admin token",
        ));
    }
    if !ctx.shared.hub.lock().users.contains(&user_id) {
        return Err(CodeError::new(codes::RECORD_NOT_FOUND, "user not found"));
    }
    let token = ctx.shared.mint_token(&user_id, platform_id);
    token_resp(ctx, token)
}

fn user_register(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let users = match gojson::get(body, "users") {
        None | Some(Value::Null) => return Err(args("users are empty")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(args("json: cannot unmarshal users into []*sdkws.UserInfo")),
    };
    let now = ctx.shared.clock.now_ms();
    let mut infos = Vec::with_capacity(users.len());
    for u in users {
        let Value::Object(o) = u else {
            return Err(args("user is empty"));
        };
        let mut info = UserInfo::new(
            &gojson::get_str(o, "userID").map_err(args)?,
            &gojson::get_str(o, "nickname").map_err(args)?,
            now,
        );
        info.face_url = gojson::get_str(o, "faceURL").map_err(args)?;
        info.ex = gojson::get_str(o, "ex").map_err(args)?;
        info.app_manger_level = gojson::get_i32(o, "appMangerLevel").map_err(args)?;
        info.global_recv_msg_opt = gojson::get_i32(o, "globalRecvMsgOpt").map_err(args)?;
        infos.push(info);
    }
    if infos.iter().any(|u| u.user_id.is_empty()) {
        return Err(args("userID is empty"));
    }
    if infos.iter().any(|u| u.nickname.is_empty()) {
        return Err(args("user name is empty"));
    }
    if infos.is_empty() {
        return Err(args("users is empty"));
    }
    require_admin(ctx)?;
    let mut seen = std::collections::HashSet::new();
    if !infos.iter().all(|u| seen.insert(u.user_id.clone())) {
        return Err(args("userID repeated"));
    }
    if infos.iter().any(|u| u.user_id.contains(':')) {
        return Err(args("userID contains ':' is invalid userID"));
    }
    let mut st = ctx.shared.hub.lock();
    if infos.iter().any(|u| st.users.contains(&u.user_id)) {
        return Err(CodeError::new(
            codes::REGISTERED_ALREADY,
            "userID registered already",
        ));
    }
    for info in infos {
        st.users.insert(info);
    }
    Ok(None)
}

fn get_users_info(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    if matches!(gojson::get(body, "userIDs"), None | Some(Value::Null)) {
        return Err(args("UserIDs is empty"));
    }
    let ids = gojson::get_str_list(body, "userIDs").map_err(args)?;
    let st = ctx.shared.hub.lock();
    let mut seen = std::collections::HashSet::new();
    let users_info: Vec<UserInfo> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .filter_map(|id| st.users.get(id).cloned())
        .collect();
    Ok(Some(gojson::to_string(&UsersInfoResp { users_info })))
}

fn parse_token(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let token = gojson::get_str(body, "token").map_err(args)?;
    if token.is_empty() {
        return Err(args("token is empty"));
    }
    let claims = ctx.shared.parse_token(&token)?;
    Ok(Some(gojson::to_string(&ParseTokenResp {
        user_id: claims.user_id,
        platform_id: claims.platform_id,
        expire_time_seconds: claims.exp.unwrap_or(0),
    })))
}

fn force_logout_req(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> Result<usize, CodeError> {
    let platform_id = gojson::get_i32(body, "platformID").map_err(args)?;
    let user_id = gojson::get_str(body, "userID").map_err(args)?;
    if user_id.is_empty() {
        return Err(args("userID is empty"));
    }
    if !(1..=platform::ADMIN).contains(&platform_id) {
        return Err(args("platformID is invalidate"));
    }
    require_admin(ctx)?;
    Ok(force_logout(ctx.shared, &user_id, platform_id))
}

/// Kicks every connection of (`user_id`, `platform_id`) with a 2002 and flags all its tokens
/// Kicked; returns the number of connections kicked.
pub(crate) fn force_logout(shared: &Shared, user_id: &str, platform_id: i32) -> usize {
    let victims = shared.hub.remove_user_platform(user_id, platform_id);
    shared.hub.lock().tokens.kick_all(user_id, platform_id);
    shared.kick(victims)
}

fn send_msg(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let req = SendRequest::from_json(body)?;
    require_admin(ctx)?;
    let sent = messages::send(ctx.shared, req, ctx.operation_id)?;
    Ok(Some(gojson::to_string(&SendMsgResp {
        server_msg_id: sent.server_msg_id,
        client_msg_id: sent.client_msg_id,
        send_time: sent.send_time,
        modify: None,
    })))
}

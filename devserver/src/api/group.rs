//! Group endpoints: `/group/create_group`, `/group/invite_user_to_group`,
//! `/group/quit_group`, `/group/kick_group` (request shapes as OpenIM's; no group
//! notifications are sent).

use serde::Serialize;
use serde_json::{Map, Value};

use super::endpoints::{args, require_admin, ApiCtx, ApiResult};
use super::msg::check_access;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::gojson;
use crate::store::groups::GroupError;

fn group_error(e: GroupError) -> CodeError {
    match e {
        GroupError::Exists => CodeError::new(codes::ARGS, "group id exists"),
        GroupError::NotFound => CodeError::new(codes::RECORD_NOT_FOUND, "group not found"),
        GroupError::NotMember => CodeError::new(1205, "user is not in the group"),
    }
}

fn known_users(ctx: &ApiCtx<'_>, users: &[String]) -> Result<(), CodeError> {
    let st = ctx.shared.hub.lock();
    match users.iter().find(|u| !st.users.contains(u)) {
        Some(u) => Err(CodeError::new(
            codes::RECORD_NOT_FOUND,
            format!("user {u} not found"),
        )),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct GroupInfo<'a> {
    #[serde(rename = "groupID")]
    group_id: &'a str,
    #[serde(rename = "groupName")]
    group_name: &'a str,
    #[serde(rename = "ownerUserID")]
    owner_user_id: &'a str,
    #[serde(rename = "memberCount")]
    member_count: u32,
    #[serde(rename = "createTime")]
    create_time: i64,
    #[serde(rename = "groupType")]
    group_type: i32,
}

/// `/group/create_group {"memberUserIDs","adminUserIDs","ownerUserID","groupInfo":{"groupID",
/// "groupName"}}` (admin token) → `{"groupInfo":{…}}`. An empty groupID gets a random one.
pub(crate) fn create_group(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let mut members = gojson::get_str_list(body, "memberUserIDs").map_err(args)?;
    members.extend(gojson::get_str_list(body, "adminUserIDs").map_err(args)?);
    let owner = gojson::get_str(body, "ownerUserID").map_err(args)?;
    let (mut group_id, name) = match gojson::get(body, "groupInfo") {
        Some(Value::Object(g)) => (
            gojson::get_str(g, "groupID").map_err(args)?,
            gojson::get_str(g, "groupName").map_err(args)?,
        ),
        _ => return Err(args("groupInfo is required")),
    };
    if owner.is_empty() {
        return Err(args("ownerUserID is empty"));
    }
    require_admin(ctx)?;
    let mut all = members.clone();
    all.push(owner.clone());
    known_users(ctx, &all)?;
    if group_id.is_empty() {
        group_id = format!("{:010}", fastrand::u64(..10_000_000_000));
    }
    let now = ctx.shared.clock.now_ms();
    let mut st = ctx.shared.hub.lock();
    st.store
        .create_group(&group_id, &name, &owner, &members, now)
        .map_err(group_error)?;
    let g = st.store.groups.get(&group_id).cloned().unwrap_or_default();
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(rename = "groupInfo")]
        group_info: GroupInfo<'a>,
    }
    Ok(Some(gojson::to_string(&Out {
        group_info: GroupInfo {
            group_id: &group_id,
            group_name: &g.name,
            owner_user_id: &g.owner,
            member_count: g.members.len() as u32,
            create_time: g.create_time,
            group_type: 2,
        },
    })))
}

/// `/group/invite_user_to_group {"groupID","invitedUserIDs"}` (admin token).
pub(crate) fn invite(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let group_id = gojson::get_str(body, "groupID").map_err(args)?;
    let users = gojson::get_str_list(body, "invitedUserIDs").map_err(args)?;
    if users.is_empty() {
        return Err(args("invitedUserIDs is empty"));
    }
    require_admin(ctx)?;
    known_users(ctx, &users)?;
    let mut st = ctx.shared.hub.lock();
    st.store
        .join_group(&group_id, &users)
        .map_err(group_error)?;
    Ok(None)
}

/// `/group/quit_group {"groupID","userID"}`: the token's user (or, for an admin, `userID`)
/// leaves; its cap freezes at the group's max seq.
pub(crate) fn quit(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let group_id = gojson::get_str(body, "groupID").map_err(args)?;
    let mut user = gojson::get_str(body, "userID").map_err(args)?;
    if user.is_empty() {
        user = ctx
            .claims
            .as_ref()
            .map(|c| c.user_id.clone())
            .unwrap_or_default();
    }
    check_access(ctx, &user)?;
    let mut st = ctx.shared.hub.lock();
    st.store
        .leave_group(&group_id, &user)
        .map_err(group_error)?;
    Ok(None)
}

/// `/group/kick_group {"groupID","kickedUserIDs"}` (admin token): each leaves as by quitting.
pub(crate) fn kick(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let group_id = gojson::get_str(body, "groupID").map_err(args)?;
    let users = gojson::get_str_list(body, "kickedUserIDs").map_err(args)?;
    require_admin(ctx)?;
    let mut st = ctx.shared.hub.lock();
    for u in &users {
        st.store.leave_group(&group_id, u).map_err(group_error)?;
    }
    Ok(None)
}

//! Dev-only endpoints (not in OpenIM, admin token) for clients not driven from Rust: message
//! faults, holes, min seqs, a backlog generator, and inspection of the store and of pulls.

use serde::Serialize;
use serde_json::{Map, Value};

use super::endpoints::{args, require_admin, ApiCtx, ApiResult};
use crate::events::ServerEvent;
use crate::faults::PullFault;
use crate::protocol::gojson;
use crate::store::backlog::{self, BacklogSpec};

fn count(body: &Map<String, Value>, key: &str) -> Result<usize, crate::protocol::codes::CodeError> {
    let n = gojson::get_i64(body, key).map_err(args)?;
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= 1_000_000)
        .ok_or_else(|| args(format!("{key} must be 0..=1000000")))
}

/// `/dev/faults {"userID","dropPushes","duplicatePushes","reorderPushes","failPulls",
/// "failPullsCode","hangPulls","cutPullReplies"}`: adds that many per-user counting faults.
pub(crate) fn faults(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let user = gojson::get_str(body, "userID").map_err(args)?;
    if user.is_empty() {
        return Err(args("userID is empty"));
    }
    let code = match gojson::get_i32(body, "failPullsCode").map_err(args)? {
        0 => 500,
        c => c,
    };
    let (drop, dup, reorder) = (
        count(body, "dropPushes")?,
        count(body, "duplicatePushes")?,
        count(body, "reorderPushes")?,
    );
    let (fail, hang, cut) = (
        count(body, "failPulls")?,
        count(body, "hangPulls")?,
        count(body, "cutPullReplies")?,
    );
    let mut f = ctx.shared.counting_faults();
    let p = f.push.user(&user);
    p.drop += drop;
    p.duplicate += dup;
    p.reorder += reorder;
    f.pull.push(&user, PullFault::Fail(code), fail);
    f.pull.push(&user, PullFault::Hang, hang);
    f.pull.push(&user, PullFault::CloseMidReply, cut);
    Ok(None)
}

/// `/dev/hole {"conversationID"}` → `{"seq":n}`: the next seq, with no message.
pub(crate) fn hole(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let conv = gojson::get_str(body, "conversationID").map_err(args)?;
    if conv.is_empty() {
        return Err(args("conversationID is empty"));
    }
    let seq = ctx.shared.hub.lock().store.hole(&conv);
    Ok(Some(format!(r#"{{"seq":{seq}}}"#)))
}

/// `/dev/user_min_seq {"userID","conversationID","seq"}`: sets the user's min seq.
pub(crate) fn user_min_seq(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let user = gojson::get_str(body, "userID").map_err(args)?;
    let conv = gojson::get_str(body, "conversationID").map_err(args)?;
    let seq = gojson::get_i64(body, "seq").map_err(args)?;
    ctx.shared
        .hub
        .lock()
        .store
        .set_user_min_seq(&user, &conv, seq);
    Ok(None)
}

/// `/dev/backlog {"userID","conversations","perConversation"}` → `{"conversationIDs":[…]}`.
pub(crate) fn backlog(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let user = gojson::get_str(body, "userID").map_err(args)?;
    let convs = count(body, "conversations")?;
    let per = count(body, "perConversation")?;
    if user.is_empty() || convs.saturating_mul(per) > 10_000_000 {
        return Err(args(
            "userID is empty or the backlog is over 10,000,000 messages",
        ));
    }
    let now = ctx.shared.clock.now_ms();
    ctx.shared.register_user(&user, &user);
    let ids = backlog::generate(
        &mut ctx.shared.hub.lock().store,
        &BacklogSpec::new(&user, convs, per),
        now,
    );
    #[derive(Serialize)]
    struct Out {
        #[serde(rename = "conversationIDs")]
        conversation_ids: Vec<String>,
    }
    Ok(Some(gojson::to_string(&Out {
        conversation_ids: ids,
    })))
}

/// `/dev/conversation {"conversationID"}` → `{"minSeq","maxSeq","storedSeqs":[…]}`.
pub(crate) fn conversation(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let conv = gojson::get_str(body, "conversationID").map_err(args)?;
    let st = ctx.shared.hub.lock();
    #[derive(Serialize)]
    struct Out {
        #[serde(rename = "minSeq")]
        min_seq: i64,
        #[serde(rename = "maxSeq")]
        max_seq: i64,
        #[serde(rename = "storedSeqs")]
        stored_seqs: Vec<i64>,
    }
    Ok(Some(gojson::to_string(&Out {
        min_seq: st.store.min_seq(&conv),
        max_seq: st.store.max_seq(&conv),
        stored_seqs: st.store.stored_seqs(&conv),
    })))
}

#[derive(Serialize)]
struct RangeOut {
    #[serde(rename = "conversationID")]
    conversation_id: String,
    begin: i64,
    end: i64,
    num: i64,
}

#[derive(Serialize)]
struct SeqsOut {
    #[serde(rename = "conversationID")]
    conversation_id: String,
    seqs: Vec<i64>,
}

#[derive(Serialize)]
struct PullOut {
    #[serde(rename = "connID")]
    conn_id: u64,
    #[serde(rename = "platformID")]
    platform_id: i32,
    #[serde(rename = "reqIdentifier")]
    req_identifier: i32,
    order: i32,
    ranges: Vec<RangeOut>,
    seqs: Vec<SeqsOut>,
}

/// `/dev/pull_requests {"userID"}` → `{"pulls":[{"connID","platformID","reqIdentifier","order",
/// "ranges":[…],"seqs":[…]}]}` (from the event log).
pub(crate) fn pull_requests(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let user = gojson::get_str(body, "userID").map_err(args)?;
    let pulls: Vec<PullOut> = ctx
        .shared
        .events
        .snapshot()
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Pull(p) if p.user_id == user => Some(PullOut {
                conn_id: p.conn_id,
                platform_id: p.platform_id,
                req_identifier: p.req_identifier,
                order: p.order,
                ranges: p
                    .ranges
                    .into_iter()
                    .map(|r| RangeOut {
                        conversation_id: r.conversation_id,
                        begin: r.begin,
                        end: r.end,
                        num: r.num,
                    })
                    .collect(),
                seqs: p
                    .seqs
                    .into_iter()
                    .map(|s| SeqsOut {
                        conversation_id: s.conversation_id,
                        seqs: s.seqs,
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect();
    #[derive(Serialize)]
    struct Out {
        pulls: Vec<PullOut>,
    }
    Ok(Some(gojson::to_string(&Out { pulls })))
}

/// `/dev/store_stats {}` → `{"messages","conversations","payloadBytes"}`.
pub(crate) fn store_stats(ctx: &ApiCtx<'_>, _body: &Map<String, Value>) -> ApiResult {
    require_admin(ctx)?;
    let st = ctx.shared.hub.lock();
    Ok(Some(format!(
        r#"{{"messages":{},"conversations":{},"payloadBytes":{}}}"#,
        st.store.message_count(),
        st.store.conversations().len(),
        st.store.payload_bytes()
    )))
}

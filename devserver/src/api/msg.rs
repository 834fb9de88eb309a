//! The HTTP twins of the pulls: `/msg/newest_seq` (1001) and `/msg/pull_msg_by_seq` (1002).

use serde::Serialize;
use serde_json::{Map, Value};

use super::endpoints::{args, ApiCtx, ApiResult};
use super::msgjson;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::gojson;
use crate::protocol::pb::{PullMessageBySeqsReq, SeqRange};
use crate::store::pull;

/// The token's user must be `user_id`, or an admin (`authverify.CheckAccess`, which the
/// server runs for `GetMaxSeq`).
pub(crate) fn check_access(ctx: &ApiCtx<'_>, user_id: &str) -> Result<(), CodeError> {
    match &ctx.claims {
        Some(c) if c.user_id == user_id || ctx.shared.is_admin(&c.user_id) => Ok(()),
        _ => Err(CodeError::new(
            codes::NO_PERMISSION,
            "no permission for this userID",
        )),
    }
}

fn user_id(body: &Map<String, Value>) -> Result<String, CodeError> {
    let user = gojson::get_str(body, "userID").map_err(args)?;
    if user.is_empty() {
        return Err(args("userID is empty"));
    }
    Ok(user)
}

/// `/msg/newest_seq {"userID"}` → `{"maxSeqs":{…},"minSeqs":null}`.
pub(crate) fn newest_seq(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let user = user_id(body)?;
    check_access(ctx, &user)?;
    let resp = pull::newest_seqs(&ctx.shared.hub.lock().store, &user);
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(rename = "maxSeqs")]
        max_seqs: &'a std::collections::BTreeMap<String, i64>,
        #[serde(rename = "minSeqs")]
        min_seqs: Option<()>,
    }
    Ok(Some(gojson::to_string(&Out {
        max_seqs: &resp.max_seqs,
        min_seqs: None,
    })))
}

/// `/msg/pull_msg_by_seq {"userID","seqRanges":[{"conversationID","begin","end","num"}],
/// "order"}` → `{"msgs":{…},"notificationMsgs":{…}}`, the same semantics as 1002 (and, like
/// it, answered for the body's userID with any valid token).
pub(crate) fn pull_msg_by_seq(ctx: &ApiCtx<'_>, body: &Map<String, Value>) -> ApiResult {
    let user = user_id(body)?;
    let order = gojson::get_i32(body, "order").map_err(args)?;
    let mut seq_ranges = Vec::new();
    match gojson::get(body, "seqRanges") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(o) = item else {
                    return Err(args("seqRanges element is not an object"));
                };
                seq_ranges.push(SeqRange {
                    conversation_id: gojson::get_str(o, "conversationID").map_err(args)?,
                    begin: gojson::get_i64(o, "begin").map_err(args)?,
                    end: gojson::get_i64(o, "end").map_err(args)?,
                    num: gojson::get_i64(o, "num").map_err(args)?,
                });
            }
        }
        Some(_) => return Err(args("seqRanges is not an array")),
    }
    // Like the server's PullMessageBySeqs: no access check (any valid token).
    let req = PullMessageBySeqsReq {
        user_id: user.clone(),
        seq_ranges,
        order,
    };
    let resp = pull::pull_by_ranges(&ctx.shared.hub.lock().store, &user, &req);
    #[derive(Serialize)]
    struct Out<'a> {
        msgs: std::collections::BTreeMap<&'a str, msgjson::PullMsgsJson<'a>>,
        #[serde(rename = "notificationMsgs")]
        notification_msgs: std::collections::BTreeMap<&'a str, msgjson::PullMsgsJson<'a>>,
    }
    Ok(Some(gojson::to_string(&Out {
        msgs: msgjson::pull_map(&resp.msgs),
        notification_msgs: msgjson::pull_map(&resp.notification_msgs),
    })))
}

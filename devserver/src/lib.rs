//! # imbridge-devserver
//!
//! A loopback, OpenIM-v3-compatible server for developing and testing imbridge: the WebSocket
//! gateway (`msggateway`, default port 10001) and the HTTP API (default port 10002), in one
//! process, with no database. It follows the real server's sources: the dial checks and their
//! order, HTTP-200 JSON dial errors, the
//! `isMsgResp` text frames, the `sdkType=js` JSON envelope with optional gzip, heartbeats and
//! read deadlines, multi-login policies 0/1/4/5 at token time and connection time, kicks,
//! logout, background status, and the API endpoints `/auth/get_admin_token`,
//! `/auth/get_user_token`, `/user/user_register`, `/user/get_users_info`, `/auth/parse_token`,
//! `/auth/force_logout` and `/msg/send_msg`; a message store with the real server's seq and
//! pull semantics (1001, 1002, 1005, 1006, 1007 and the HTTP twins `/msg/newest_seq`,
//! `/msg/pull_msg_by_seq`), groups (`/group/create_group`, `/group/invite_user_to_group`,
//! `/group/quit_group`, `/group/kick_group`); plus the data-sync endpoints the published JS
//! client calls after connecting (`/friend/get_incremental_friends`,
//! `/friend/get_full_friend_user_ids`, `/group/get_incremental_join_groups`,
//! `/group/get_full_join_group_ids`, `/conversation/get_incremental_conversations`,
//! `/conversation/get_not_notify_conversation_ids`, `/jssdk/get_active_conversations`,
//! `/jssdk/get_conversations`) so that `@openim/client-sdk` can be used as a judge.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use imbridge_devserver::{DevServer, DevServerConfig};
//! let server = DevServer::start(DevServerConfig::default()).await?;
//! let token = server.user_token("u1", 5);
//! // dial server.ws_addr() with ?sendID=u1&token=…&platformID=5&operationID=…&isBackground=false&sdkType=js
//! # let _ = token;
//! # Ok(()) }
//! ```
//!
//! Tests drive it through [`DevServer`]: mint tokens, send messages ([`DevServer::send`],
//! [`DevServer::send_texts`], groups, notifications), read the store back, kick, drop
//! connections, switch [`Faults`] on (and the per-user message faults such as
//! [`DevServer::drop_next_pushes`] or [`DevServer::fail_next_pulls`]), move the clock, and wait
//! for [`ServerEvent`]s (pull requests included) without sleeping.
//! The binary `imbridge-devserver` runs it standalone (`--help` lists the flags).
//!
//! ## Differences from the real server (deliberate)
//!
//! * **Tokens carry a random `jti` claim**, so two tokens minted for the same user and platform
//!   within one second differ (the real server's are identical, protocol Appendix C.1). Tests
//!   can therefore mint a second device's token at once and still see the first one kicked.
//! * Only the `sdkType=js` JSON envelope is implemented; a dial with `sdkType` `""` or `go`
//!   (gob) is refused with errCode 1602 and an errDlt saying so.
//! * Where the real server's choice depends on Go map / Redis hash order (which token survives
//!   a token-time kick), the dev gateway is deterministic: platforms in ascending ID order,
//!   the newest token kept.
//! * Messages live in memory only (encoded, about 200 bytes each). There is no retention,
//!   no `enableHistoryForNewMembers`, no group notifications (creating, joining or leaving a
//!   group sends no tips), no read receipts (read seqs change only through
//!   [`DevServer::set_has_read_seq`]), and no send-time callbacks or content filtering beyond
//!   the API's content checks. 1004 answers errCode 500. `/dev/push_burst` frames are not stored.
//! * 2005 answers the subscribed users' current online platforms, but later status changes
//!   are not pushed.
//! * Admin tokens are never kicked by multi-login; [`DevServer::user_token`] mints for any
//!   platform ID (the endpoint refuses platform 10 and admin users).
//! * There are no friends or conversation settings: the JS sync endpoints answer valid empty
//!   data (joined groups included), and `/jssdk/*` (protobuf only) reports the user's
//!   conversations from the store.
//! * Unknown HTTP paths answer HTTP 404 with a JSON body (gin answers plain text), and dial
//!   error responses carry `Connection: close`.
//! * `POST /dev/drop_connections` (admin token) closes every gateway connection abruptly, and
//!   `POST /dev/push_burst {"userID","frames","batch"}` queues that many 2001 frames to the
//!   user with backpressure; both exist only here, for benchmarks of clients not driven from Rust.
//!   `POST /dev/send_burst {"userID","fromUserID","count","batch"}` ([`DevServer::send_burst`])
//!   stores `count` messages with real seqs and pushes them the same way, and
//!   `POST /dev/refuse_connections {"refuse"}` switches [`Faults::refuse_connections`].
//!   So do the other `/dev/*` endpoints (message faults, holes, min seqs, a backlog generator,
//!   inspection of the store and of pull requests) and the `options` object `/msg/send_msg`
//!   accepts.
//! * With [`Faults::released_quirks`] the server imitates v3.8.3-patch.16 instead of main.

#![warn(missing_docs)]

mod api;
mod clock;
mod config;
mod events;
mod faults;
mod gateway;
mod net;
mod protocol;
mod server;
mod shared;
mod store;
mod tasks;
mod tokens;

pub mod cli;

/// Server-side wire helpers for crafting frames in tests: the response envelope encoder, gzip,
/// and the protobuf payload types (`PushMessages`, `PullMsgs`, `MsgData`, …).
pub mod wire {
    pub use crate::protocol::envelope::{encode_resp, gzip};
    pub use crate::protocol::pb::*;
}

pub use config::{DevServerConfig, MultiLoginPolicy, TlsIdentity};
pub use events::{PullRequest, ServerEvent};
pub use faults::{Faults, PullFault, RawFrame};
pub use gateway::burst::StoredBurst;
pub use gateway::hub::ConnInfo;
pub use server::{
    ConversationState, DevServer, Outgoing, Recipient, SentMessage, StoreStats, UserConversation,
};
pub use store::backlog::BacklogSpec;
pub use wire::*;

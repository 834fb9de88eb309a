//! What happened on the server, for tests to assert on and wait for.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// One observable server-side occurrence, recorded in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A dial reached HTTP (recorded once it was answered).
    Dial {
        /// `sendID` of the dial (`""` when absent).
        user_id: String,
        /// `platformID` of the dial (0 when absent or unparsable).
        platform_id: i32,
        /// The first value of every (decoded) query parameter.
        query: BTreeMap<String, String>,
        /// 0 when upgraded; otherwise the OpenIM errCode answered, or the HTTP status when the
        /// answer was a bare status (the `dial_http_status` fault, or 400 for a request that
        /// is not a valid WebSocket upgrade).
        err_code: i32,
    },
    /// A binary request frame was decoded (recorded before it is checked or answered).
    Request {
        /// The connection's user.
        user_id: String,
        /// The connection's platform.
        platform_id: i32,
        /// `reqIdentifier` of the request.
        req_identifier: i32,
        /// `msgIncr` of the request.
        msg_incr: String,
        /// `operationID` of the request.
        operation_id: String,
        /// The protobuf payload (`data`, base64-decoded).
        data: Vec<u8>,
    },
    /// A ping was received: a WebSocket ping control frame or a text `{"type":"ping"}`.
    Ping {
        /// The connection's user.
        user_id: String,
        /// The connection's platform.
        platform_id: i32,
    },
    /// A connection was kicked by multi-login or force-logout (whether or not its 2002 frame
    /// could be written).
    Kicked {
        /// The kicked connection's user.
        user_id: String,
        /// The kicked connection's platform.
        platform_id: i32,
    },
    /// A registered connection ended (recorded after its socket was closed).
    Closed {
        /// The connection's user.
        user_id: String,
        /// The connection's platform.
        platform_id: i32,
        /// Why: `"kicked"`, `"logout"`, `"read deadline"`, `"client closed"`, `"dropped"`,
        /// `"send queue full"`, `"protocol violation: …"`, `"message too large: …"`, ...
        reason: String,
    },
    /// A pull request (1002 or 1005) was decoded, before faults or answers apply to it.
    Pull(PullRequest),
    /// A message was pushed (or would have been) to one user: recorded once per receiving
    /// user and per sender-sync, after the frames were queued.
    Pushed {
        /// The receiving user.
        user_id: String,
        /// The message's conversation.
        conversation_id: String,
        /// The message's seq (0 when not stored).
        seq: i64,
        /// Connections that were queued at least one 2001 frame (0 when a fault dropped or
        /// held it, or no connection takes pushes).
        connections: usize,
    },
    /// An HTTP API request was answered.
    Http {
        /// The request path.
        path: String,
        /// The errCode answered (404 for unknown paths).
        err_code: i32,
    },
}

/// What one connection asked for in a pull (1002 ranges or 1005 seqs), as decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// The connection ([`crate::ConnInfo::conn_id`]).
    pub conn_id: u64,
    /// The connection's user.
    pub user_id: String,
    /// The connection's platform.
    pub platform_id: i32,
    /// 1002 (ranges) or 1005 (explicit seqs).
    pub req_identifier: i32,
    /// `msgIncr` of the request.
    pub msg_incr: String,
    /// `userID` in the payload.
    pub payload_user_id: String,
    /// 0 Asc, 1 Desc.
    pub order: i32,
    /// 1002: the ranges asked (`conversationID, begin, end, num`).
    pub ranges: Vec<crate::protocol::pb::SeqRange>,
    /// 1005: the conversations and seqs asked.
    pub seqs: Vec<crate::protocol::pb::ConversationSeqs>,
}

/// The event log with a wake-up for waiters.
pub(crate) struct EventLog {
    enabled: bool,
    events: Mutex<Vec<ServerEvent>>,
    notify: Notify,
}

impl EventLog {
    /// A log that records only when `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            events: Mutex::new(Vec::new()),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ServerEvent>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event and wakes every waiter.
    pub(crate) fn record(&self, event: ServerEvent) {
        if !self.enabled {
            return;
        }
        log::debug!("event: {}", describe(&event));
        self.lock().push(event);
        self.notify.notify_waiters();
    }

    /// All events so far, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<ServerEvent> {
        self.lock().clone()
    }

    /// Forgets all events.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The first event (past or future) matching `pred`, or `None` after `timeout`.
    pub(crate) async fn wait_for(
        &self,
        pred: impl Fn(&ServerEvent) -> bool,
        timeout: Duration,
    ) -> Option<ServerEvent> {
        let deadline = Instant::now() + timeout;
        let mut scanned = 0usize;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let events = self.lock();
                if events.len() < scanned {
                    scanned = 0; // cleared meanwhile
                }
                if let Some(ev) = events[scanned..].iter().find(|e| pred(e)) {
                    return Some(ev.clone());
                }
                scanned = events.len();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// A log line for an event that never contains a token.
fn describe(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Dial {
            user_id,
            platform_id,
            err_code,
            ..
        } => format!("dial user={user_id} platform={platform_id} errCode={err_code}"),
        ServerEvent::Request {
            user_id,
            req_identifier,
            msg_incr,
            ..
        } => format!("request user={user_id} reqIdentifier={req_identifier} msgIncr={msg_incr}"),
        ServerEvent::Ping {
            user_id,
            platform_id,
        } => {
            format!("ping user={user_id} platform={platform_id}")
        }
        ServerEvent::Kicked {
            user_id,
            platform_id,
        } => {
            format!("kicked user={user_id} platform={platform_id}")
        }
        ServerEvent::Closed {
            user_id,
            platform_id,
            reason,
        } => format!("closed user={user_id} platform={platform_id} reason={reason}"),
        ServerEvent::Http { path, err_code } => format!("http {path} errCode={err_code}"),
        ServerEvent::Pull(p) => format!(
            "pull user={} conn={} reqIdentifier={} ranges={} conversations={}",
            p.user_id,
            p.conn_id,
            p.req_identifier,
            p.ranges.len(),
            p.seqs.len()
        ),
        ServerEvent::Pushed {
            user_id,
            conversation_id,
            seq,
            connections,
        } => format!("pushed user={user_id} conversation={conversation_id} seq={seq} connections={connections}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ping(u: &str) -> ServerEvent {
        ServerEvent::Ping {
            user_id: u.into(),
            platform_id: 5,
        }
    }

    #[tokio::test]
    async fn wait_sees_past_and_future_events() {
        let log = Arc::new(EventLog::new(true));
        log.record(ping("a"));
        let found = log
            .wait_for(
                |e| matches!(e, ServerEvent::Ping { user_id, .. } if user_id == "a"),
                Duration::from_secs(1),
            )
            .await;
        assert_eq!(found, Some(ping("a")));

        let log2 = log.clone();
        let waiter = tokio::spawn(async move {
            log2.wait_for(
                |e| matches!(e, ServerEvent::Ping { user_id, .. } if user_id == "b"),
                Duration::from_secs(5),
            )
            .await
        });
        tokio::task::yield_now().await;
        log.record(ping("b"));
        assert_eq!(waiter.await.unwrap(), Some(ping("b")));
    }

    #[tokio::test]
    async fn wait_times_out_and_disabled_log_records_nothing() {
        let log = EventLog::new(false);
        log.record(ping("a"));
        assert!(log.snapshot().is_empty());
        assert_eq!(
            log.wait_for(|_| true, Duration::from_millis(20)).await,
            None
        );
    }
}

//! State shared by every task of one server, and the operations several front ends use
//! (minting and parsing tokens, kicking, delivering frames).

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc::error::TrySendError, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::clock::ServerClock;
use crate::config::DevServerConfig;
use crate::events::{EventLog, ServerEvent};
use crate::faults::{CountingFaults, Faults};
use crate::gateway::hub::{ConnCmd, ConnEntry, Hub};
use crate::protocol::codes::CodeError;
use crate::tasks::Tasks;
use crate::tokens::jwt;
use crate::tokens::registry::MintParams;
use crate::tokens::users::UserInfo;

/// One server's shared state.
pub(crate) struct Shared {
    pub config: DevServerConfig,
    pub clock: ServerClock,
    pub events: EventLog,
    pub faults: watch::Sender<Faults>,
    pub hub: Hub,
    pub tasks: Arc<Tasks>,
    /// Held across store-then-push so pushes of a conversation leave in seq order.
    pub send_lock: Mutex<()>,
    /// Per-user push and pull faults, consumed as they apply.
    pub counting: Mutex<CountingFaults>,
}

impl Shared {
    /// Abruptly closes every gateway connection (no frame); returns how many.
    pub(crate) fn drop_connections(&self) -> usize {
        let all = self.hub.remove_all();
        for c in &all {
            c.kill.kill("dropped");
        }
        all.len()
    }

    /// A fresh state for `config`, with the admin users registered.
    pub(crate) fn new(config: DevServerConfig) -> Arc<Self> {
        let shared = Arc::new(Self {
            events: EventLog::new(config.record_events),
            faults: watch::Sender::new(Faults::default()),
            clock: ServerClock::default(),
            hub: Hub::default(),
            tasks: Arc::new(Tasks::default()),
            send_lock: Mutex::new(()),
            counting: Mutex::new(CountingFaults::default()),
            config,
        });
        for admin in &shared.config.admin_user_ids {
            shared.register_user(admin, admin);
        }
        shared
    }

    /// The per-user counting faults (lock held by the guard).
    pub(crate) fn counting_faults(&self) -> MutexGuard<'_, CountingFaults> {
        self.counting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The faults now in force.
    pub(crate) fn faults(&self) -> Faults {
        self.faults.borrow().clone()
    }

    /// Records an event (when recording is on).
    pub(crate) fn record(&self, event: ServerEvent) {
        self.events.record(event);
    }

    /// Registers a user if the ID is new; returns false when it already existed.
    pub(crate) fn register_user(&self, user_id: &str, nickname: &str) -> bool {
        let now = self.clock.now_ms();
        self.hub
            .lock()
            .users
            .insert(UserInfo::new(user_id, nickname, now))
    }

    /// True when `user_id` is an admin user.
    pub(crate) fn is_admin(&self, user_id: &str) -> bool {
        self.config.admin_user_ids.iter().any(|a| a == user_id)
    }

    /// Mints a token for (`user_id`, `platform_id`) with token-time multi-login kicks.
    pub(crate) fn mint_token(&self, user_id: &str, platform_id: i32) -> String {
        let params = MintParams {
            secret: &self.config.secret,
            policy: self.config.multi_login_policy,
            max_num_one_end: self.config.max_num_one_end,
            now_ms: self.clock.now_ms(),
            lifetime_secs: self.lifetime_secs(),
        };
        self.hub.lock().tokens.create(&params, user_id, platform_id)
    }

    /// Token lifetime in whole seconds (`expireTimeSeconds`).
    pub(crate) fn lifetime_secs(&self) -> i64 {
        i64::try_from(self.config.token_lifetime.as_secs()).unwrap_or(i64::MAX)
    }

    /// `parseToken`: JWT verification at server time, then the registry state.
    pub(crate) fn parse_token(&self, token: &str) -> Result<jwt::Claims, CodeError> {
        let claims = jwt::verify(&self.config.secret, token, self.clock.now_ms())?;
        self.hub.lock().tokens.check(&claims, token)?;
        Ok(claims)
    }

    /// Kicks connections already removed from the hub: records `Kicked`, then queues the 2002
    /// frame and close (or, with the released quirks or a full queue, closes without it).
    pub(crate) fn kick(&self, victims: Vec<ConnEntry>) -> usize {
        let quirks = self.faults().released_quirks;
        let n = victims.len();
        for v in victims {
            self.record(ServerEvent::Kicked {
                user_id: v.user_id.clone(),
                platform_id: v.platform_id,
            });
            // With the released quirks (or a full queue) the 2002 frame is lost.
            if quirks || v.tx.try_send(ConnCmd::Kick).is_err() {
                v.kill.kill("kicked");
            }
        }
        n
    }

    /// Queues a frame for a connection. A full queue closes the connection (like the real
    /// server); returns true when the frame was queued.
    pub(crate) fn deliver(&self, entry: &ConnEntry, frame: Message) -> bool {
        match entry.tx.try_send(ConnCmd::Frame(frame)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                log::warn!(
                    "send queue of user={} platform={} is full; closing it",
                    entry.user_id,
                    entry.platform_id
                );
                self.hub.unregister(entry.id);
                entry.kill.kill("send queue full");
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

//! The session task: feeds inputs to the [`Machine`] and performs its effects — the
//! dial, the live connection, timers, the user-info call, replies and events. It
//! decides nothing itself.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Instant};

use prost::Message as _;
use tokio::{
    sync::{mpsc, oneshot},
    time::Sleep,
};

use super::{
    command::Command,
    connection::{ConnEvent, Connection, ReqKind, Timing},
    events::{EventHub, ImEvent, Receipt},
    machine::{Effect, Input, LogoutRequest, Machine},
    reader::MAX_MERGED,
    state::{SessionState, StateCell},
    stores::{self, store_of, StoreSlot},
    sync::{Pulled, SyncEffect, SyncInput},
};
use crate::{
    config::Config,
    error::{ImError, Result},
    model::{Message, UserInfo},
    protocol::{
        dial::{dial_target, DialParams},
        ids, pb,
        push::to_message,
        req,
    },
    store::{Handover, Store},
    transport::{
        http::ApiClient,
        net::Net,
        ws::{self, DialError},
    },
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Stored messages delivered per batch at login.
const STORED_BATCH: usize = 500;

/// How a dial ended.
enum Dialed {
    Up(Box<Connection>),
    Failed(DialError),
    /// Connected, but the first frames could not be written.
    Lost(String),
}

/// The link as the task holds it.
enum Link {
    Down,
    /// Dial, then the connection's first frames.
    Dialing(BoxFuture<Dialed>),
    Waiting(Pin<Box<Sleep>>),
    Up(Box<Connection>),
}

pub(crate) struct Runner {
    cfg: Arc<Config>,
    net: Net,
    api: ApiClient,
    rx: mpsc::UnboundedReceiver<Command>,
    state: StateCell,
    hub: Arc<EventHub>,
    machine: Machine,
    link: Link,
    fetch: Option<BoxFuture<Result<UserInfo>>>,
    deadline: Option<Pin<Box<Sleep>>>,
    sync_retry: Option<Pin<Box<Sleep>>>,
    store: StoreSlot,
    logins: HashMap<u64, oneshot::Sender<Result<UserInfo>>>,
    background_reply: Option<oneshot::Sender<Result<()>>>,
    logout_reply: Option<oneshot::Sender<SessionState>>,
    /// Inputs produced while performing effects (a write that failed).
    followups: Vec<Input>,
}

impl Runner {
    pub fn new(
        cfg: Arc<Config>,
        net: Net,
        api: ApiClient,
        rx: mpsc::UnboundedReceiver<Command>,
        state: StateCell,
        hub: Arc<EventHub>,
        store: StoreSlot,
    ) -> Runner {
        let machine = Machine::new(&cfg, fastrand::u64(..));
        Runner {
            cfg,
            net,
            api,
            rx,
            state,
            hub,
            machine,
            link: Link::Down,
            fetch: None,
            deadline: None,
            sync_retry: None,
            store,
            logins: HashMap::new(),
            background_reply: None,
            logout_reply: None,
            followups: Vec::new(),
        }
    }

    /// Runs until shutdown, or until every handle is gone (then it logs out first).
    pub async fn run(mut self) {
        loop {
            let input = tokio::select! {
                biased;
                cmd = self.rx.recv() => self.command(cmd.unwrap_or(Command::Shutdown)),
                input = link_input(&mut self.link) => input,
                r = optional(&mut self.fetch) => {
                    self.fetch = None; // done: never polled again
                    Some(Input::UserFetched(r))
                }
                _ = optional(&mut self.deadline) => {
                    self.deadline = None;
                    Some(Input::LoginDeadline)
                }
                _ = optional(&mut self.sync_retry) => {
                    self.sync_retry = None;
                    Some(Input::Sync(SyncInput::RetryDue))
                }
            };
            let mut next = input;
            if let Some(Input::Pushed(messages)) = &mut next {
                self.coalesce_pushes(messages);
            }
            while let Some(input) = next.take().or_else(|| self.followups.pop()) {
                let effects = self.machine.handle(Instant::now(), input);
                for effect in effects {
                    if !self.perform(effect).await {
                        return;
                    }
                }
            }
        }
    }

    /// Appends the pushes that are already readable to `messages` (bounded), so that a burst
    /// is committed and delivered in a few large batches; the first other event met is
    /// queued as a follow-up, after this push's own consequences (the order it would have
    /// had anyway).
    fn coalesce_pushes(&mut self, messages: &mut Vec<Message>) {
        let Link::Up(conn) = &mut self.link else {
            return;
        };
        while messages.len() < MAX_MERGED {
            match conn.try_next_event() {
                None => return,
                Some(ConnEvent::Messages(more)) => messages.extend(more),
                Some(other) => {
                    if let Some(input) = conn_input(other) {
                        self.followups.push(input);
                    }
                    return;
                }
            }
        }
    }

    /// Turns a command into an input, keeping its reply channel for the effect that answers it.
    fn command(&mut self, cmd: Command) -> Option<Input> {
        Some(match cmd {
            Command::Login {
                user_id,
                token,
                operation_id,
                ticket,
                reply,
            } => {
                self.logins.insert(ticket, reply);
                Input::Login {
                    user_id,
                    token,
                    operation_id,
                    ticket,
                }
            }
            Command::CancelLogin { ticket } => Input::CancelLogin { ticket },
            Command::Logout {
                operation_id,
                reply,
            } => {
                self.logout_reply = Some(reply);
                Input::Logout { operation_id }
            }
            Command::SetBackground { background, reply } => {
                self.background_reply = Some(reply);
                Input::SetBackground { background }
            }
            Command::NetworkChanged { available } => Input::NetworkChanged { available },
            Command::Shutdown => Input::Shutdown,
            Command::EraseLocalData { user_id, reply } => {
                let _ = reply.send(self.erase(&user_id));
                return None;
            }
        })
    }

    /// Deletes `user_id`'s local data, unless that user's session is active.
    fn erase(&mut self, user_id: &str) -> Result<()> {
        if self.machine.active_user() == Some(user_id) {
            return Err(ImError::invalid(format!(
                "{user_id:?} is logged in (or logging in) on this manager: log out first"
            )));
        }
        {
            let mut stores = stores::lock(&self.store);
            if stores.closed() {
                return Err(ImError::Shutdown);
            }
            let active = if stores.active(Some(user_id)).is_some() {
                stores.park_active()
            } else {
                None
            };
            drop(stores);
            drop(active); // closes it, so the file can go
            if stores::lock(&self.store).in_use(user_id) {
                return Err(ImError::Storage {
                    detail: format!(
                        "{user_id:?}'s local data is still in use: messages are on their way \
                         to the listener; erase it once the listener has returned"
                    ),
                });
            }
        }
        match &self.cfg.data_dir {
            Some(dir) => Store::erase(dir, user_id),
            None => Ok(()),
        }
    }

    /// Performs one effect; `false` when the task must end.
    async fn perform(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Publish { epoch, change } => {
                if let Some(state) = self.state.publish(change) {
                    self.hub.emit(epoch, ImEvent::StateChanged { state });
                }
            }
            Effect::Emit { epoch, event } => self.hub.emit(epoch, event),
            Effect::Silence { before } => self.hub.suppress_before(before),
            Effect::Dial {
                user_id,
                token,
                operation_id,
                background,
            } => {
                let operation_id = operation_id.unwrap_or_else(ids::operation_id);
                let target = dial_target(
                    &self.cfg.ws_addr,
                    &DialParams {
                        user_id: &user_id,
                        token: token.expose(),
                        platform_id: self.cfg.platform.id(),
                        operation_id: &operation_id,
                        is_background: background,
                        compression: self.cfg.compression,
                    },
                );
                let (ws_addr, net) = (self.cfg.ws_addr.clone(), self.net.clone());
                let timing = Timing {
                    heartbeat: self.cfg.heartbeat_interval,
                    dead_after: self.cfg.dead_connection_timeout,
                    request_timeout: self.cfg.request_timeout,
                };
                let compress = self.cfg.compression;
                log::debug!("dialing {} (operationID {operation_id})", self.cfg.ws_addr);
                self.link = Link::Dialing(Box::pin(async move {
                    let ws = match ws::dial(&target, &ws_addr, &net, timing.request_timeout).await {
                        Ok(ws) => ws,
                        Err(e) => return Dialed::Failed(e),
                    };
                    let mut conn = Box::new(Connection::new(ws, &user_id, compress, timing));
                    match greet(&mut conn, &user_id, background).await {
                        Ok(()) => Dialed::Up(conn),
                        Err(why) => Dialed::Lost(why),
                    }
                }));
            }
            Effect::Wait(delay) => self.link = Link::Waiting(Box::pin(tokio::time::sleep(delay))),
            Effect::CloseLink { logout } => {
                let link = std::mem::replace(&mut self.link, Link::Down);
                if let (Some(logout), Link::Up(conn)) = (logout, link) {
                    send_logout(*conn, logout, self.cfg.platform.id()).await;
                }
            }
            Effect::FetchUser {
                user_id,
                token,
                operation_id,
            } => {
                let api = self.api.clone();
                self.fetch = Some(Box::pin(async move {
                    api.get_self_info(&user_id, &token, &operation_id).await
                }));
            }
            Effect::ArmLoginDeadline(after) => {
                self.deadline = Some(Box::pin(tokio::time::sleep(after)));
            }
            Effect::AttemptOver => {
                self.fetch = None;
                self.deadline = None;
            }
            Effect::Answer { ticket, result } => {
                if let Some(reply) = self.logins.remove(&ticket) {
                    let _ = reply.send(result);
                }
            }
            Effect::SendBackground {
                user_id,
                background,
            } => {
                let reply = self.background_reply.take();
                if let (Link::Up(conn), Some(reply)) = (&mut self.link, reply) {
                    let data = pb::SetAppBackgroundStatusReq {
                        user_id,
                        is_background: background,
                    }
                    .encode_to_vec();
                    let op = ids::operation_id();
                    let kind = ReqKind::Background(Some(reply));
                    if let Err(why) = conn.request(kind, req::SET_BACKGROUND, &op, &data).await {
                        self.followups.push(Input::Lost { why });
                    }
                }
            }
            Effect::AckBackground => {
                if let Some(reply) = self.background_reply.take() {
                    let _ = reply.send(Ok(()));
                }
            }
            Effect::Probe => {
                if let Link::Up(conn) = &mut self.link {
                    if let Err(why) = conn.ping().await {
                        self.followups.push(Input::Lost { why });
                    }
                }
            }
            Effect::LogoutDone => {
                if let Some(reply) = self.logout_reply.take() {
                    let _ = reply.send(self.state.current());
                }
            }
            Effect::OpenStore { user_id } => {
                let opened = self.open_store(&user_id);
                self.followups.push(Input::StoreOpened(opened));
            }
            Effect::DeliverStored { epoch } => self.deliver_stored(epoch),
            Effect::Commit { epoch, id, page } => {
                let result = match store_of(&self.store, None) {
                    Some(store) => store.commit(&page).map(|()| {
                        if page.delivers() && !page.messages.is_empty() {
                            emit_stored(&self.hub, &store, epoch, page.messages);
                        }
                    }),
                    None => Err(ImError::Internal {
                        detail: "no store is open for the session".into(),
                    }),
                };
                self.followups
                    .push(Input::Sync(SyncInput::Committed { id, result }));
            }
            Effect::Sync(effect) => self.sync_request(effect).await,
            Effect::Stop => return false,
        }
        true
    }

    /// Opens the store of `user_id` (keeping it when it is already open) and reads what
    /// the sync starts from.
    fn open_store(&mut self, user_id: &str) -> Result<SyncInput> {
        let store = match store_of(&self.store, Some(user_id)) {
            Some(store) => store,
            None => {
                // The previous user's store closes first (its data is theirs alone),
                // unless batches on their way to the listener still hold it. The file is
                // opened with the lock released (offline reads and shutdown go on).
                let (previous, parked) = {
                    let mut stores = stores::lock(&self.store);
                    if stores.closed() {
                        return Err(ImError::Shutdown);
                    }
                    (stores.park_active(), stores.take_parked(user_id))
                };
                drop(previous);
                let store = match parked {
                    Some(store) => store,
                    None => {
                        let (store, outcome) = Store::open(self.cfg.data_dir.as_deref(), user_id)?;
                        log::debug!("store for {user_id:?}: {outcome:?}");
                        Arc::new(store)
                    }
                };
                if stores::lock(&self.store)
                    .activate(user_id, store.clone())
                    .is_err()
                {
                    return Err(ImError::Shutdown);
                }
                store
            }
        };
        Ok(SyncInput::Loaded {
            cursors: store.cursors()?,
            baseline_done: store.baseline_done()?,
        })
    }

    /// Delivers what was stored but not delivered (a crash, or a logout, came first).
    fn deliver_stored(&mut self, epoch: u64) {
        let Some(store) = store_of(&self.store, None) else {
            return;
        };
        match store.undelivered_now(usize::MAX, self.hub.silenced_below()) {
            Ok(rows) => {
                // Moved into their batches, not copied.
                let mut rows = rows.into_iter().peekable();
                while rows.peek().is_some() {
                    let batch = rows.by_ref().take(STORED_BATCH).collect();
                    emit_stored(&self.hub, &store, epoch, batch);
                }
            }
            Err(e) => log::warn!("reading undelivered messages failed: {e}"),
        }
    }

    /// Sends a sync request, or arms its retry timer. Without a connection the request
    /// fails at once (the sync then waits for the next connect).
    async fn sync_request(&mut self, effect: SyncEffect) {
        let user_id = self.machine.active_user().unwrap_or_default().to_owned();
        let (kind, identifier, data) = match effect {
            SyncEffect::RetryIn(delay) => {
                self.sync_retry = Some(Box::pin(tokio::time::sleep(delay)));
                return;
            }
            SyncEffect::RequestNewest => (
                ReqKind::NewestSeq,
                req::GET_NEWEST_SEQ,
                pb::GetMaxSeqReq { user_id }.encode_to_vec(),
            ),
            SyncEffect::RequestLast { conversation_ids } => (
                ReqKind::LastMessages,
                req::GET_LAST_MESSAGES,
                pb::GetLastMessageReq {
                    user_id,
                    conversation_ids: fit_ids(conversation_ids),
                }
                .encode_to_vec(),
            ),
            SyncEffect::Pull { id, request } => (
                ReqKind::Pull(id),
                req::PULL_BY_SEQS,
                pb::GetSeqMessageReq {
                    user_id,
                    conversations: request
                        .into_iter()
                        .map(|(conversation_id, seqs)| pb::ConversationSeqs {
                            conversation_id,
                            seqs,
                        })
                        .collect(),
                    order: 0,
                }
                .encode_to_vec(),
            ),
            SyncEffect::Commit { .. } | SyncEffect::Deliver(_) | SyncEffect::Event(_) => return,
        };
        let Link::Up(conn) = &mut self.link else {
            let failed = Err(ImError::network("not connected"));
            self.followups.push(Input::Sync(reply_input(kind, failed)));
            return;
        };
        let op = ids::operation_id();
        if let Err(why) = conn.request(kind, identifier, &op, &data).await {
            self.followups.push(Input::Lost { why });
        }
    }
}

/// Waits for an optional future; pending forever when there is none.
async fn optional<F: Future + Unpin>(f: &mut Option<F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// The next input from the link, if any (replies are routed here and yield none).
async fn link_input(link: &mut Link) -> Option<Input> {
    match link {
        Link::Down => std::future::pending().await,
        Link::Dialing(dial) => match dial.await {
            Dialed::Up(conn) => {
                *link = Link::Up(conn);
                Some(Input::Connected)
            }
            Dialed::Failed(e) => Some(Input::DialFailed(e)),
            Dialed::Lost(why) => Some(Input::Lost { why }),
        },
        Link::Waiting(sleep) => {
            sleep.await;
            Some(Input::RetryDue)
        }
        Link::Up(conn) => conn_input(conn.next_event().await),
    }
}

/// The input for a connection event (replies to the app's own requests are answered here
/// and yield none).
fn conn_input(event: ConnEvent) -> Option<Input> {
    match event {
        ConnEvent::Messages(messages) => Some(Input::Pushed(messages)),
        ConnEvent::Kicked => Some(Input::Kicked),
        ConnEvent::Lost(why) => Some(Input::Lost { why }),
        ConnEvent::Reply { kind, result } => match kind {
            ReqKind::Background(Some(tx)) => {
                let _ = tx.send(result.map(|_| ()));
                None
            }
            ReqKind::Background(None) | ReqKind::Logout => None,
            kind => Some(Input::Sync(reply_input(kind, result))),
        },
    }
}

/// The frame a new connection starts with: 2004 when the app is in the background (the
/// server resets the flag on every connect). The sync sends 1001 once the session is up.
async fn greet(
    conn: &mut Connection,
    user_id: &str,
    background: bool,
) -> std::result::Result<(), String> {
    let op = ids::operation_id();
    if background {
        let bg = pb::SetAppBackgroundStatusReq {
            user_id: user_id.to_owned(),
            is_background: true,
        }
        .encode_to_vec();
        conn.request(ReqKind::Background(None), req::SET_BACKGROUND, &op, &bg)
            .await?;
    }
    Ok(())
}

/// Sends 2003 and waits up to the grace for its reply or the server's close.
async fn send_logout(mut conn: Connection, logout: LogoutRequest, platform_id: i32) {
    let data = pb::DelUserPushTokenReq {
        user_id: logout.user_id,
        platform_id,
    }
    .encode_to_vec();
    let op = logout.operation_id.unwrap_or_else(ids::operation_id);
    if conn
        .request(ReqKind::Logout, req::LOGOUT, &op, &data)
        .await
        .is_err()
    {
        return;
    }
    let wait = async {
        loop {
            match conn.next_event().await {
                ConnEvent::Reply {
                    kind: ReqKind::Logout,
                    result,
                } => {
                    if let Err(e) = result {
                        log::info!("logout reply: {e}");
                    }
                    return;
                }
                ConnEvent::Lost(_) | ConnEvent::Kicked => return,
                _ => {}
            }
        }
    };
    if tokio::time::timeout(logout.grace, wait).await.is_err() {
        log::info!(
            "no logout reply within {} ms; closing anyway",
            logout.grace.as_millis()
        );
    }
}

/// Emits `messages` as one batch of `epoch`; once the listener has returned from it, the
/// rows are marked delivered. A batch dropped because no listener is set is listed as not
/// delivered, so that no later batch's mark covers it: it comes at the next login. (A batch
/// of a silenced session needs no listing: nothing after it in that session is marked, and
/// the next session reads its rows as undelivered — see `store::Handover`.)
fn emit_stored(hub: &EventHub, store: &Arc<Store>, epoch: u64, messages: Vec<Message>) {
    let handover = Handover::new(store, &messages, epoch);
    hub.emit_then(epoch, ImEvent::Messages { messages }, Box::new(handover));
}

/// A stored batch's receipt: its outcome is recorded in the store.
impl Receipt for Handover {
    fn started(&self) {
        self.start();
    }

    fn done(self: Box<Self>, delivered: bool) {
        let rows = self.len();
        if let Err(e) = self.record(delivered) {
            let outcome = if delivered {
                "delivered"
            } else {
                "not delivered"
            };
            log::warn!("recording {rows} messages as {outcome} failed: {e}");
        }
    }
}

/// Turns a sync reply (or its failure) into the sync's input.
fn reply_input(kind: ReqKind, result: Result<Vec<u8>>) -> SyncInput {
    let undecodable = |what: &str, e: prost::DecodeError| ImError::Protocol {
        protocol_code: crate::error::codes::DECODE,
        detail: format!("undecodable {what} reply: {e}"),
    };
    match kind {
        ReqKind::LastMessages => SyncInput::LastMessages(result.and_then(|d| {
            let resp = pb::GetLastMessageResp::decode(&d[..])
                .map_err(|e| undecodable("GetLastMessage", e))?;
            Ok(resp
                .msgs
                .into_iter()
                .map(|(c, m)| {
                    let n = c.starts_with("n_");
                    to_message(&c, m, n)
                })
                .collect())
        })),
        ReqKind::Pull(id) => SyncInput::Pulled {
            id,
            result: result.and_then(|d| {
                let resp =
                    pb::PushMessages::decode(&d[..]).map_err(|e| undecodable("PullMsg", e))?;
                let mut out = HashMap::new();
                for (map, notification) in [(resp.msgs, false), (resp.notification_msgs, true)] {
                    for (conv, pull) in map {
                        let messages = pull
                            .msgs
                            .into_iter()
                            .map(|m| to_message(&conv, m, notification))
                            .collect();
                        out.insert(
                            conv,
                            Pulled {
                                messages,
                                is_end: pull.is_end,
                                end_seq: pull.end_seq,
                            },
                        );
                    }
                }
                Ok(out)
            }),
        },
        // 1001, and anything else the sync asked.
        _ => SyncInput::Newest(result.and_then(|d| {
            pb::GetMaxSeqResp::decode(&d[..])
                .map(|r| r.max_seqs)
                .map_err(|e| undecodable("GetNewestSeq", e))
        })),
    }
}

/// The conversation IDs of a 1007 request that fit in one frame; the others get their
/// list entry with their next message.
fn fit_ids(mut ids: Vec<String>) -> Vec<String> {
    let mut bytes = 0;
    let keep = ids
        .iter()
        .take_while(|id| {
            bytes += id.len() + 3;
            bytes <= crate::session::sync::MAX_PULL_PAYLOAD
        })
        .count();
    ids.truncate(keep);
    ids
}

//! Lossless delivery by seq, as a pure state machine: `(state, input) → effects`.
//!
//! The rules (README "Lossless delivery"):
//! - a sync runs on every connect, on return to the foreground, when the network comes
//!   back while connected, and when a push shows a gap; a trigger while one runs marks it
//!   dirty, so it runs again right after (no trigger is ever dropped);
//! - a sync asks 1001 for every conversation's newest seq, then pulls what is missing
//!   with 1005 (explicit seqs, ascending) in pages of at most [`PAGE_SEQS`] seqs and
//!   requests well under the server's 51,200-byte frame limit;
//! - a page is committed (stored, cursors advanced) in one transaction before any of it
//!   is delivered; a cursor only moves once the store said yes, so a failure never moves
//!   it past a message that was not stored;
//! - pushes: seq 0 → delivered, not stored; at or below the cursor → a duplicate,
//!   dropped; the next one → committed and delivered; beyond → held, the gap pulled,
//!   then released in order;
//! - the first login of a user on a device (no store yet) sets each cursor to the
//!   server's newest seq (the baseline) — or to just before the first message pushed
//!   live since the login, if that is lower — and stores each conversation's newest
//!   message (1007) for the conversation list; nothing older is delivered;
//! - a failed page fails the sync (one `SyncFailed`) and retries with backoff; a page
//!   that times out, or whose connection drops while it is in flight (an overflowing
//!   reply closes the connection), halves the page size for the rest of the session.
//!
//! No I/O, no clock: the session task performs the effects and feeds the results back.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use super::events::ImEvent;
use crate::{
    error::ImError,
    model::Message,
    store::{Cursor, Page},
};

/// The most seqs one pull asks for.
pub(crate) const PAGE_SEQS: usize = 100;
/// Budget for one 1005 payload: the frame (base64 of it, in a JSON envelope) must stay
/// under the server's 51,200 bytes even uncompressed (4/3 · 36,000 + envelope < 49,000).
pub(crate) const MAX_PULL_PAYLOAD: usize = 36_000;
const RETRY_BASE: Duration = Duration::from_millis(500);
const RETRY_CAP: Duration = Duration::from_secs(30);

/// One conversation's part of a 1005 reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Pulled {
    /// The messages returned, placeholders included, in any order.
    pub messages: Vec<Message>,
    pub is_end: bool,
    pub end_seq: i64,
}

#[derive(Debug)]
pub(crate) enum SyncInput {
    /// The user's store was opened: its cursors and whether the baseline was taken.
    Loaded {
        cursors: HashMap<String, Cursor>,
        baseline_done: bool,
    },
    /// A connection is up and the session logged in.
    Online,
    /// The connection is gone (or the session ended).
    Offline,
    /// Foreground, network back: sync now (or after the running one).
    Trigger,
    Newest(Result<HashMap<String, i64>, ImError>),
    LastMessages(Result<Vec<Message>, ImError>),
    Pulled {
        id: u64,
        result: Result<HashMap<String, Pulled>, ImError>,
    },
    Pushed(Vec<Message>),
    Committed {
        id: u64,
        result: Result<(), ImError>,
    },
    RetryDue,
}

#[derive(Debug, PartialEq)]
pub(crate) enum SyncEffect {
    /// 1001 for the user.
    RequestNewest,
    /// 1007 for these conversations.
    RequestLast {
        conversation_ids: Vec<String>,
    },
    /// 1005, ascending.
    Pull {
        id: u64,
        request: Vec<(String, Vec<i64>)>,
    },
    /// Store `page` in one transaction; on success deliver its messages unless it is the
    /// baseline ([`Page::delivers`]; one batch, in the page's order), then report
    /// [`SyncInput::Committed`] either way. The page's messages are what is delivered,
    /// so they are not copied for it.
    Commit {
        id: u64,
        page: Page,
    },
    /// Deliver without storing (seq 0).
    Deliver(Vec<Message>),
    Event(ImEvent),
    RetryIn(Duration),
}

/// The ranges one pull asked: conversation, first and last seq.
type Asked = Vec<(String, i64, i64)>;
/// Cursor moves a commit makes once it succeeded.
type Moves = Vec<(String, i64)>;

#[derive(Debug)]
enum Phase {
    Idle,
    /// 1001 asked.
    Newest,
    /// First login: 1007 asked, cursors to set to these maxima.
    Baseline(HashMap<String, i64>),
    /// Pulling towards these maxima; a page may be in flight (its id and the ranges asked).
    Pulling {
        targets: BTreeMap<String, i64>,
        in_flight: Option<(u64, Asked)>,
    },
}

/// What a pending commit was for.
#[derive(Debug)]
enum Commit {
    Baseline,
    /// A pull page: targets finished by the server's isEnd.
    Page {
        done: Vec<String>,
    },
    Pushes,
}

pub(crate) struct Sync {
    cursors: HashMap<String, Cursor>,
    baseline_done: bool,
    loaded: bool,
    online: bool,
    phase: Phase,
    dirty: bool,
    /// Pushes beyond their conversation's next seq, waiting for the gap to be pulled.
    held: BTreeMap<String, BTreeMap<i64, Message>>,
    pending: Option<(u64, Commit, Moves)>,
    page_seqs: usize,
    failures: u32,
    next_id: u64,
    fx: Vec<SyncEffect>,
}

impl Sync {
    pub fn new() -> Sync {
        Sync {
            cursors: HashMap::new(),
            baseline_done: false,
            loaded: false,
            online: false,
            phase: Phase::Idle,
            dirty: false,
            held: BTreeMap::new(),
            pending: None,
            page_seqs: PAGE_SEQS,
            failures: 0,
            next_id: 1,
            fx: Vec::new(),
        }
    }

    /// The page size in use (halved after a page timed out or lost its connection).
    #[cfg(test)]
    pub fn page_seqs(&self) -> usize {
        self.page_seqs
    }

    pub fn handle(&mut self, input: SyncInput) -> Vec<SyncEffect> {
        match input {
            SyncInput::Loaded {
                cursors,
                baseline_done,
            } => {
                *self = Sync {
                    page_seqs: self.page_seqs,
                    ..Sync::new()
                };
                self.cursors = cursors;
                self.baseline_done = baseline_done;
                self.loaded = true;
            }
            SyncInput::Online => {
                self.online = true;
                self.trigger();
            }
            SyncInput::Offline => {
                self.online = false;
                if !matches!(self.phase, Phase::Idle) {
                    if matches!(
                        self.phase,
                        Phase::Pulling {
                            in_flight: Some(_),
                            ..
                        }
                    ) {
                        self.halve();
                    }
                    self.fail(
                        &ImError::network("the connection ended during the sync"),
                        false,
                    );
                }
            }
            SyncInput::Trigger | SyncInput::RetryDue => self.trigger(),
            SyncInput::Newest(result) => self.newest(result),
            SyncInput::LastMessages(result) => self.last_messages(result),
            SyncInput::Pulled { id, result } => self.pulled(id, result),
            SyncInput::Pushed(messages) => self.pushed(messages),
            SyncInput::Committed { id, result } => self.committed(id, result),
        }
        std::mem::take(&mut self.fx)
    }

    // ----- running a sync -----------------------------------------------------------

    fn trigger(&mut self) {
        if !self.online || !self.loaded {
            return;
        }
        if !matches!(self.phase, Phase::Idle) {
            self.dirty = true;
            return;
        }
        self.fx.push(SyncEffect::Event(ImEvent::SyncStarted));
        self.phase = Phase::Newest;
        self.fx.push(SyncEffect::RequestNewest);
    }

    fn newest(&mut self, result: Result<HashMap<String, i64>, ImError>) {
        if !matches!(self.phase, Phase::Newest) {
            return;
        }
        let max = match result {
            Ok(max) => max,
            Err(e) => return self.fail(&e, true),
        };
        if !self.baseline_done {
            let conversation_ids: Vec<String> = sorted_keys(&max);
            self.phase = Phase::Baseline(max);
            self.fx.push(SyncEffect::RequestLast { conversation_ids });
            return;
        }
        let mut targets: BTreeMap<String, i64> = max
            .into_iter()
            .filter(|(c, m)| *m > self.synced(c))
            .collect();
        // A held push shows its gap even where 1001 is silent (notifications of a pair
        // with no conversation record are only ever pushed).
        for (conv, held) in &self.held {
            if let Some((&top, _)) = held.last_key_value() {
                let t = targets.entry(conv.clone()).or_insert(0);
                *t = (*t).max(top - 1);
            }
        }
        targets.retain(|c, m| *m > self.synced(c));
        self.phase = Phase::Pulling {
            targets,
            in_flight: None,
        };
        self.next_page();
    }

    fn last_messages(&mut self, result: Result<Vec<Message>, ImError>) {
        let Phase::Baseline(max) = &self.phase else {
            return;
        };
        let messages = match result {
            Ok(m) => m,
            Err(e) => {
                // The list stays empty until messages arrive; the cursors are what matter.
                log::warn!("the newest messages for the conversation list failed: {e}");
                Vec::new()
            }
        };
        let messages: Vec<Message> = messages
            .into_iter()
            .filter(|m| m.seq > 0 && max.get(&m.conversation_id).is_some_and(|&x| m.seq <= x))
            .filter(|m| !is_placeholder(m))
            .filter(|m| !self.held.contains_key(&m.conversation_id))
            .collect();
        // The baseline is the server's newest seq, or just before the first message
        // pushed live since the login, whichever is lower: what arrived live is delivered.
        let mut base: BTreeMap<String, i64> = max.iter().map(|(c, m)| (c.clone(), *m)).collect();
        for (conv, held) in &self.held {
            if let Some((&first, _)) = held.first_key_value() {
                let b = base.entry(conv.clone()).or_insert(first - 1);
                *b = (*b).min(first - 1);
            }
        }
        let cursors: Vec<(String, i64)> = base.into_iter().collect();
        let page = Page {
            messages,
            delivered: true,
            cursors: cursors.clone(),
            baseline_done: true,
        };
        self.commit(Commit::Baseline, page, cursors);
    }

    /// Asks for the next page, or finishes the sync when nothing is missing.
    fn next_page(&mut self) {
        let Phase::Pulling { targets, in_flight } = &mut self.phase else {
            return;
        };
        let mut budget = self.page_seqs as i64;
        let mut bytes = 0;
        let mut asked = Vec::new();
        for (conv, &max) in targets.iter() {
            let from = self.cursors.get(conv).map_or(0, |c| c.synced_seq) + 1;
            if from > max {
                continue;
            }
            // Field tags, lengths and up to 10 bytes a seq, counted generously.
            let fixed = conv.len() + 16;
            let room = (MAX_PULL_PAYLOAD.saturating_sub(bytes + fixed) / 10) as i64;
            let n = (max - from + 1).min(budget).min(room);
            if n <= 0 {
                break;
            }
            asked.push((conv.clone(), from, from + n - 1));
            budget -= n;
            bytes += fixed + 10 * n as usize;
            if budget == 0 {
                break;
            }
        }
        if asked.is_empty() {
            return self.finish();
        }
        let id = self.next_id;
        self.next_id += 1;
        let request = asked
            .iter()
            .map(|(c, from, to)| (c.clone(), (*from..=*to).collect()))
            .collect();
        *in_flight = Some((id, asked));
        self.fx.push(SyncEffect::Pull { id, request });
    }

    /// Reads a 1005 reply (message-sync rules): returned messages resolve up to the last
    /// one; empty with isEnd → the cap is endSeq; empty without isEnd → below the
    /// conversation's min seq, all resolved; placeholders move the cursor, unseen.
    fn pulled(&mut self, id: u64, result: Result<HashMap<String, Pulled>, ImError>) {
        let Phase::Pulling { in_flight, .. } = &mut self.phase else {
            return;
        };
        let asked = match in_flight.take() {
            Some((pending, asked)) if pending == id => asked,
            other => {
                *in_flight = other;
                return;
            }
        };
        let mut reply = match result {
            Ok(r) => r,
            Err(e) => {
                if matches!(e, ImError::Timeout { .. }) {
                    self.halve();
                }
                return self.fail(&e, true);
            }
        };
        let mut messages = Vec::new();
        let mut cursors = Vec::new();
        let mut done = Vec::new();
        for (conv, _from, last_asked) in asked {
            let Some(part) = reply.remove(&conv) else {
                return self.fail(
                    &ImError::Protocol {
                        protocol_code: crate::error::codes::DECODE,
                        detail: format!("the pull reply left out the conversation {conv}"),
                    },
                    true,
                );
            };
            let top = part.messages.iter().map(|m| m.seq).max();
            let resolved = match (top, part.is_end) {
                (Some(top), _) => top.min(last_asked),
                (None, true) => part.end_seq.min(last_asked),
                (None, false) => last_asked,
            };
            if part.is_end {
                done.push(conv.clone());
            }
            let synced = self.synced(&conv);
            let mut keep: Vec<Message> = part
                .messages
                .into_iter()
                .filter(|m| m.seq > synced && m.seq <= resolved && !is_placeholder(m))
                .map(|mut m| {
                    m.conversation_id = conv.clone();
                    m
                })
                .collect();
            keep.sort_by_key(|m| m.seq);
            keep.dedup_by_key(|m| m.seq);
            messages.extend(keep);
            if resolved > synced {
                cursors.push((conv, resolved));
            }
        }
        let page = Page {
            messages,
            delivered: false,
            cursors: cursors.clone(),
            baseline_done: false,
        };
        self.commit(Commit::Page { done }, page, cursors);
    }

    fn finish(&mut self) {
        if !self.dirty && self.jump_held_gaps() {
            return; // finishes once that commit is in
        }
        self.phase = Phase::Idle;
        self.failures = 0;
        self.fx.push(SyncEffect::Event(ImEvent::SyncFinished));
        if self.dirty {
            self.dirty = false;
            self.trigger();
        }
    }

    /// The running sync failed: tell the app once, and retry after a backoff when
    /// `retry` (a lost connection retries by itself, on the next connect).
    fn fail(&mut self, e: &ImError, retry: bool) {
        if retry {
            log::warn!("sync failed: {e}");
        } else {
            // The connection or the session ended: the next connect syncs again.
            log::info!("sync cut short: {e}");
        }
        self.phase = Phase::Idle;
        self.dirty = false;
        self.fx.push(SyncEffect::Event(ImEvent::SyncFailed {
            code: e.code(),
            detail: e.to_string(),
        }));
        if retry && self.online {
            self.failures = self.failures.saturating_add(1);
            let doublings = (self.failures - 1).min(16);
            let delay = RETRY_BASE
                .checked_mul(1 << doublings)
                .map_or(RETRY_CAP, |d| d.min(RETRY_CAP));
            self.fx.push(SyncEffect::RetryIn(delay));
        }
    }

    fn halve(&mut self) {
        self.page_seqs = (self.page_seqs / 2).max(1);
        log::info!("pull pages shrink to {} seqs", self.page_seqs);
    }

    // ----- committing ---------------------------------------------------------------

    fn commit(&mut self, what: Commit, page: Page, cursors: Vec<(String, i64)>) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending = Some((id, what, cursors));
        self.fx.push(SyncEffect::Commit { id, page });
    }

    fn committed(&mut self, id: u64, result: Result<(), ImError>) {
        let Some((pending_id, what, cursors)) = self.pending.take() else {
            return;
        };
        if pending_id != id {
            self.pending = Some((pending_id, what, cursors));
            return;
        }
        if let Err(e) = result {
            // Nothing was stored: the cursors stay, the next sync fetches it all again.
            return match what {
                Commit::Pushes => {
                    log::warn!("storing pushed messages failed: {e}");
                    if matches!(self.phase, Phase::Idle) {
                        self.fail(&e, true);
                    }
                }
                _ => self.fail(&e, true),
            };
        }
        for (conv, seq) in cursors {
            let c = self.cursors.entry(conv).or_default();
            c.synced_seq = c.synced_seq.max(seq);
        }
        match what {
            Commit::Baseline => {
                self.baseline_done = true;
                self.phase = Phase::Pulling {
                    targets: BTreeMap::new(),
                    in_flight: None,
                };
                if !self.release_held(false) {
                    self.next_page();
                }
            }
            Commit::Page { done } => {
                if let Phase::Pulling { targets, .. } = &mut self.phase {
                    for c in done {
                        targets.remove(&c);
                    }
                }
                if !self.release_held(false) {
                    self.next_page();
                }
            }
            Commit::Pushes => {
                if !self.release_held(false)
                    && matches!(
                        self.phase,
                        Phase::Pulling {
                            in_flight: None,
                            ..
                        }
                    )
                {
                    self.next_page();
                }
            }
        }
    }

    // ----- pushes -------------------------------------------------------------------

    fn pushed(&mut self, messages: Vec<Message>) {
        let mut unstored = Vec::new();
        for m in messages {
            if m.seq == 0 {
                unstored.push(m);
            } else if m.seq > self.synced(&m.conversation_id) {
                self.held
                    .entry(m.conversation_id.clone())
                    .or_default()
                    .insert(m.seq, m);
            }
        }
        if !unstored.is_empty() {
            self.fx.push(SyncEffect::Deliver(unstored));
        }
        if self.pending.is_none() {
            self.release_held(true);
        }
    }

    /// Commits the held pushes that now follow their cursor. With `new_gap` (a push just
    /// arrived) a remaining gap triggers a sync, or marks the running one dirty (its
    /// targets may predate the push); after a commit the running sync already covers it.
    /// Returns whether a commit was started.
    fn release_held(&mut self, new_gap: bool) -> bool {
        if !self.baseline_done || self.pending.is_some() {
            return false;
        }
        let mut ready = Vec::new();
        let mut cursors = Vec::new();
        let mut gap = false;
        for (conv, held) in self.held.iter_mut() {
            let mut next = self.cursors.get(conv).map_or(0, |c| c.synced_seq) + 1;
            held.retain(|&seq, _| seq >= next);
            while let Some(m) = held.remove(&next) {
                ready.push(m);
                next += 1;
            }
            if ready.last().is_some_and(|m| m.conversation_id == *conv) {
                cursors.push((conv.clone(), next - 1));
            }
            gap |= !held.is_empty();
        }
        self.held.retain(|_, h| !h.is_empty());
        if gap && (new_gap || matches!(self.phase, Phase::Idle)) {
            self.trigger();
        }
        self.commit_pushes(ready, cursors)
    }

    /// At the end of a sync, pushes still held sit beyond a gap the server could not fill
    /// (a hole): they are committed with their cursor moved past the gap, so none is
    /// lost. Returns whether a commit was started.
    fn jump_held_gaps(&mut self) -> bool {
        if self.held.is_empty() || self.pending.is_some() {
            return false;
        }
        let held = std::mem::take(&mut self.held);
        let mut ready = Vec::new();
        let mut cursors = Vec::new();
        for (conv, msgs) in held {
            let synced = self.synced(&conv);
            let msgs: Vec<Message> = msgs.into_values().filter(|m| m.seq > synced).collect();
            if let Some(last) = msgs.last() {
                log::warn!(
                    "{conv}: seqs {}..{} are missing on the server; delivering what follows",
                    synced + 1,
                    msgs[0].seq - 1
                );
                cursors.push((conv.clone(), last.seq));
                ready.extend(msgs);
            }
        }
        self.commit_pushes(ready, cursors)
    }

    /// Commits pushed messages with their cursors; false when there are none.
    fn commit_pushes(&mut self, ready: Vec<Message>, cursors: Moves) -> bool {
        if ready.is_empty() {
            return false;
        }
        let page = Page {
            messages: ready,
            delivered: false,
            cursors: cursors.clone(),
            baseline_done: false,
        };
        self.commit(Commit::Pushes, page, cursors);
        true
    }

    fn synced(&self, conv: &str) -> i64 {
        self.cursors.get(conv).map_or(0, |c| c.synced_seq)
    }
}

/// A missing slot the server filled in: status 4 and no client message ID.
fn is_placeholder(m: &Message) -> bool {
    m.status == 4 && m.client_msg_id.is_empty()
}

fn sorted_keys<V>(map: &HashMap<String, V>) -> Vec<String> {
    let mut keys: Vec<String> = map.keys().cloned().collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests;

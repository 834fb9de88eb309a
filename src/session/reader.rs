//! The reading half of a gateway connection, on a task of its own: frames are read,
//! inflated and decoded here while the session task stores and delivers the ones before
//! them (on two cores the two overlap; stored pushes at one message per frame are about
//! half decoding, see the README's performance notes).
//!
//! Guarantees:
//! - events leave in the order their frames arrived; pushes that meet a full channel are
//!   merged into the batch waiting to go (until it holds [`MAX_MERGED`] messages or
//!   more), so a busy session still takes a burst in large batches, and what the reader
//!   holds is bounded (`CHANNEL` + 2 events, each one frame or at most `MAX_MERGED`
//!   messages and one frame);
//! - every frame received (pings, pongs and text frames too) is recorded in [`Heard`],
//!   from which the connection declares the path dead; the reader holds no timer of its
//!   own, so an idle connection has one timer, not two (each far timer costs the runtime
//!   wake-ups to move it down its wheel);
//! - a read error, the server's close or an undecodable frame is a `Lost` event, the
//!   last one;
//! - dropping the [`Reader`] stops the task; events it had not handed over are dropped
//!   with it, uncommitted, so the next sync pulls them again (as it would frames left in
//!   the socket).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{stream::SplitStream, Stream, StreamExt};
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    task::JoinHandle,
};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame};

use crate::{
    error::ImError,
    model::Message,
    protocol::{envelope::Response, push::decode_push, req},
    transport::ws::WsStream,
};

/// A push batch takes no more frames once it holds this many messages: the reader's
/// merging here, and the session's coalescing of the events it takes together (one
/// store transaction and one listener batch each).
pub(crate) const MAX_MERGED: usize = 500;

/// Events decoded ahead of the session, at most.
const CHANNEL: usize = 2;

/// What the reader hands to the connection.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// 2001 pushes, decoded (one frame's, or several merged).
    Messages(Vec<Message>),
    /// A 2002 frame.
    Kicked,
    /// Any other envelope: a reply, routed by `msgIncr` on the session's side.
    Response(Response),
    /// The connection is gone; nothing follows.
    Lost(String),
}

/// The reading task; dropping it stops the task.
pub(crate) struct Reader(JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Reader {
    /// Starts reading `stream` on the current runtime.
    pub fn spawn(stream: SplitStream<WsStream>) -> (Reader, mpsc::Receiver<Incoming>, Heard) {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let heard = Heard::new();
        let task = tokio::spawn(run(stream, heard.clone(), tx));
        (Reader(task), rx, heard)
    }
}

/// When the reader last received a frame (millisecond resolution; at first, when it
/// started). On tokio's clock, so that tests with paused time see it move.
#[derive(Clone)]
pub(crate) struct Heard {
    start: tokio::time::Instant,
    since_start_ms: Arc<AtomicU64>,
}

impl Heard {
    fn new() -> Heard {
        Heard {
            start: tokio::time::Instant::now(),
            since_start_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn record(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.since_start_ms.store(ms, Ordering::Relaxed);
    }

    /// The last time a frame was received.
    pub fn last(&self) -> Instant {
        let since_start = Duration::from_millis(self.since_start_ms.load(Ordering::Relaxed));
        (self.start + since_start).into_std()
    }
}

async fn run<S>(mut stream: S, heard: Heard, tx: mpsc::Sender<Incoming>)
where
    S: Stream<Item = Result<Frame, WsError>> + Unpin,
{
    let mut next = Some(read_event(&mut stream, &heard).await);
    while let Some(mut event) = next.take() {
        // Hand `event` over; while the channel is full, merge the pushes that keep
        // arriving into it, and stop reading at the first other event (kept for after).
        loop {
            let permit = match tx.try_reserve() {
                Ok(permit) => permit,
                Err(TrySendError::Closed(())) => return,
                Err(TrySendError::Full(())) if !mergeable(&event) || next.is_some() => {
                    match tx.reserve().await {
                        Ok(permit) => permit,
                        Err(_) => return,
                    }
                }
                Err(TrySendError::Full(())) => {
                    tokio::select! {
                        biased;
                        permit = tx.reserve() => match permit {
                            Ok(permit) => permit,
                            Err(_) => return,
                        },
                        more = read_event(&mut stream, &heard) => {
                            match (&mut event, more) {
                                (Incoming::Messages(batch), Incoming::Messages(more)) => {
                                    batch.extend(more)
                                }
                                (_, other) => next = Some(other),
                            }
                            continue;
                        }
                    }
                }
            };
            let lost = matches!(event, Incoming::Lost(_));
            permit.send(event);
            if lost {
                return;
            }
            break;
        }
        if next.is_none() {
            next = Some(read_event(&mut stream, &heard).await);
        }
    }
}

/// Whether more pushes may be merged into `event`.
fn mergeable(event: &Incoming) -> bool {
    matches!(event, Incoming::Messages(batch) if batch.len() < MAX_MERGED)
}

/// The next event among the frames read (pings, pongs and text frames yield none but
/// are heard). Cancel-safe: a frame is decoded in the poll that reads it.
async fn read_event<S>(stream: &mut S, heard: &Heard) -> Incoming
where
    S: Stream<Item = Result<Frame, WsError>> + Unpin,
{
    loop {
        let frame = match stream.next().await {
            None => return Incoming::Lost("the server closed the connection".into()),
            Some(Err(e)) => return Incoming::Lost(format!("read failed: {e}")),
            Some(Ok(frame)) => frame,
        };
        heard.record();
        match frame {
            Frame::Binary(bytes) => return decode(&bytes),
            Frame::Close(_) => return Incoming::Lost("the server closed the connection".into()),
            // Server pings are answered by tungstenite (queued, flushed by the reads that
            // follow); pongs to our pings only show the path is alive; text frames carry
            // only heartbeat pongs or status frames not asked for.
            Frame::Text(_) | Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => {}
        }
    }
}

/// One binary frame's event.
fn decode(bytes: &[u8]) -> Incoming {
    let resp = match Response::decode(bytes) {
        Ok(resp) => resp,
        Err(e) => return Incoming::Lost(format!("protocol violation: {}", ImError::from(e))),
    };
    match resp.req_identifier {
        req::PUSH_MSG => match decode_push(&resp.data) {
            Ok(messages) => Incoming::Messages(messages),
            Err(e) => Incoming::Lost(format!("protocol violation: undecodable 2001 payload: {e}")),
        },
        req::KICK_ONLINE => Incoming::Kicked,
        _ => Incoming::Response(resp),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use prost::Message as _;
    use tokio::time::timeout;

    use super::*;
    use crate::protocol::pb::{MsgData, PullMsgs, PushMessages};

    const WAIT: Duration = Duration::from_secs(5);

    type Feed = mpsc::Sender<Result<Frame, WsError>>;

    fn envelope(req_identifier: i32, data: &[u8]) -> Frame {
        let data = STANDARD.encode(data);
        Frame::Binary(
            format!(
                r#"{{"reqIdentifier":{req_identifier},"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":"{data}"}}"#
            )
            .into_bytes()
            .into(),
        )
    }

    /// A 2001 frame of one message with `seq`.
    pub(in crate::session) fn push(seq: i64) -> Frame {
        let mut push = PushMessages::default();
        let msg = MsgData {
            send_id: "bob".into(),
            recv_id: "alice".into(),
            content_type: 101,
            session_type: 1,
            content: br#"{"content":"hi"}"#.to_vec(),
            seq,
            ..Default::default()
        };
        push.msgs.insert(
            "si_alice_bob".into(),
            PullMsgs {
                msgs: vec![msg],
                ..Default::default()
            },
        );
        envelope(req::PUSH_MSG, &push.encode_to_vec())
    }

    /// A reader on frames fed one at a time: a send returns once the reader has taken
    /// the frame before it (and, on the test's one thread, has handled it).
    fn reader() -> (Feed, mpsc::Receiver<Incoming>, Heard, JoinHandle<()>) {
        let (feed, mut frames) = mpsc::channel(1);
        let stream = futures_util::stream::poll_fn(move |cx| frames.poll_recv(cx));
        let (tx, rx) = mpsc::channel(CHANNEL);
        let heard = Heard::new();
        let task = tokio::spawn(run(stream, heard.clone(), tx));
        (feed, rx, heard, task)
    }

    async fn next(rx: &mut mpsc::Receiver<Incoming>) -> Incoming {
        timeout(WAIT, rx.recv())
            .await
            .expect("an event in time")
            .expect("the reader is running")
    }

    fn seqs(event: &Incoming) -> Vec<i64> {
        match event {
            Incoming::Messages(batch) => batch.iter().map(|m| m.seq).collect(),
            other => panic!("expected pushes, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn pushes_that_meet_a_full_channel_are_merged_in_order_and_other_events_wait() {
        let (feed, mut rx, _heard, _task) = reader();
        // CHANNEL pushes fill the channel; the next one waits, and the 50 after it are
        // merged into it; the kick cannot be, so it is held and reading stops.
        let fed = async {
            for seq in 1..=CHANNEL as i64 + 51 {
                feed.send(Ok(push(seq))).await.unwrap();
            }
            feed.send(Ok(envelope(req::KICK_ONLINE, &[])))
                .await
                .unwrap();
            drop(feed.reserve().await.unwrap()); // the reader has taken the kick
        };
        timeout(WAIT, fed)
            .await
            .expect("the reader reads on while the channel is full");
        // Reading has stopped: a push fed now stays unread while the kick waits (were it
        // read, it would be merged ahead of the kick).
        feed.try_send(Ok(push(100))).unwrap();
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(feed.capacity(), 0, "the reader read on past a held event");
        let rest = tokio::spawn(async move {
            for seq in 101..105 {
                feed.send(Ok(push(seq))).await.unwrap();
            }
        });
        for seq in 1..=CHANNEL as i64 {
            assert_eq!(seqs(&next(&mut rx).await), [seq]);
        }
        let merged: Vec<i64> = (CHANNEL as i64 + 1..=CHANNEL as i64 + 51).collect();
        assert_eq!(seqs(&next(&mut rx).await), merged);
        assert!(matches!(next(&mut rx).await, Incoming::Kicked));
        let mut after = Vec::new();
        while after.len() < 5 {
            after.extend(seqs(&next(&mut rx).await));
        }
        assert_eq!(after, [100, 101, 102, 103, 104]);
        timeout(WAIT, rest).await.unwrap().unwrap();
        // The feed is gone: the stream ended, which is the server closing.
        match next(&mut rx).await {
            Incoming::Lost(why) => assert_eq!(why, "the server closed the connection"),
            other => panic!("expected Lost, got {other:?}"),
        }
        assert!(
            timeout(WAIT, rx.recv()).await.unwrap().is_none(),
            "nothing after Lost"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_frame_is_heard_pongs_and_text_included() {
        let (feed, _rx, heard, _task) = reader();
        let start = heard.last();
        for (at_ms, frame) in [
            (60, Frame::Pong(Vec::new().into())),
            (130, Frame::Text("pong".into())),
            (200, push(1)),
        ] {
            tokio::time::sleep_until((start + Duration::from_millis(at_ms)).into()).await;
            feed.send(Ok(frame)).await.unwrap();
            drop(feed.reserve().await.unwrap()); // taken and handled
            assert_eq!(heard.last() - start, Duration::from_millis(at_ms));
        }
    }

    #[tokio::test]
    async fn a_bad_frame_is_a_protocol_violation_and_dropping_the_reader_stops_it() {
        let (feed, mut rx, _heard, _task) = reader();
        feed.send(Ok(Frame::Binary(b"not json".to_vec().into())))
            .await
            .unwrap();
        match next(&mut rx).await {
            Incoming::Lost(why) => assert!(why.starts_with("protocol violation"), "{why}"),
            other => panic!("expected Lost, got {other:?}"),
        }
        let (feed, _rx, _heard, task) = reader();
        drop(Reader(task));
        timeout(WAIT, feed.closed())
            .await
            .expect("the stopped reader drops its stream");
    }
}

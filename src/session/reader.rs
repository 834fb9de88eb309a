//! The reading half of a gateway connection, on a task of its own: frames are read,
//! inflated and their envelopes decoded here while the session task stores and delivers
//! the ones before them (on two cores the two overlap). A 2001 push's payload, the
//! protobuf, is decoded here when it is large and by the session when it is small
//! ([`SMALL_PUSH_BYTES`]): a frame costs this task the same fixed work whatever it holds
//! (inflating it is mostly building its Huffman tables), and each message costs the
//! session its insert, so at one message per frame this task is the slower of the two and
//! at many the session; the decoding goes to the other side in each case (see the
//! README's performance notes).
//!
//! Guarantees:
//! - events leave in the order their frames arrived; pushes that meet a full channel are
//!   merged into the batch waiting to go (until it holds [`MAX_MERGED`] frames or its
//!   payloads [`MAX_MERGED_BYTES`]), so a busy session still takes a burst in large
//!   batches, and what the reader holds is bounded (`CHANNEL` + 2 events, each one frame
//!   or at most `MAX_MERGED` frames of at most `MAX_MERGED_BYTES` of payloads and one
//!   frame more);
//! - every frame received (pings, pongs and text frames too) is recorded in [`Heard`],
//!   from which the connection declares the path dead; the reader holds no timer of its
//!   own, so an idle connection has one timer, not two (each far timer costs the runtime
//!   wake-ups to move it down its wheel);
//! - a read error, the server's close, a frame whose envelope cannot be decoded or a
//!   large push whose payload cannot be decoded is a `Lost` event, the last one (a small
//!   push's undecodable payload is found on the session's side, by [`Pushes::decode`]:
//!   the session then drops the connection the same way);
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

/// The session's coalescing of the pushes it takes together (one store transaction and
/// one listener batch each) stops once the batch holds this many messages; the reader's
/// merging stops once an event holds this many frames.
pub(crate) const MAX_MERGED: usize = 500;

/// A 2001 payload smaller than this (a few text messages; one is about 220 bytes)
/// is left for the session to decode. Measured interleaved with the build that decoded
/// every payload here (`cargo bench --bench sync -- push`, gzip, medians of five): at one
/// message a frame, 100,000 pushes took 0.96 instead of 1.07 s with a `data_dir` and 0.79
/// instead of 0.97 s in memory; at 100 a frame, 0.48 and 0.49 s alike. Leaving large
/// payloads to the session too made 100 a frame slower (0.61 instead of 0.51 s).
pub(crate) const SMALL_PUSH_BYTES: usize = 1024;

/// The reader merges no more frames into a push event once their payloads hold this
/// many bytes (the reader does not decode small payloads, so it counts bytes, not
/// messages): 6 frames of 100 text messages (one-message frames meet [`MAX_MERGED`]
/// first). A decoded large frame takes a few times its payload in memory.
const MAX_MERGED_BYTES: usize = 128 * 1024;

/// Events decoded ahead of the session, at most.
const CHANNEL: usize = 2;

/// What the reader hands to the connection.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// 2001 pushes (one frame's, or several merged), small ones not decoded yet.
    Pushes(Pushes),
    /// A 2002 frame.
    Kicked,
    /// Any other envelope: a reply, routed by `msgIncr` on the session's side.
    Response(Response),
    /// The connection is gone; nothing follows.
    Lost(String),
}

/// The pushes of 2001 frames in the order they arrived, each part decoded or still a
/// payload (protobuf), and the payload bytes of all of them.
#[derive(Debug)]
pub(crate) struct Pushes {
    parts: Vec<Part>,
    bytes: usize,
}

#[derive(Debug)]
enum Part {
    Decoded(Vec<Message>),
    Payload(Vec<u8>),
}

impl Pushes {
    fn of(payload: Vec<u8>) -> Pushes {
        Pushes {
            bytes: payload.len(),
            parts: vec![Part::Payload(payload)],
        }
    }

    /// Appends `more`'s pushes after these.
    fn append(&mut self, more: Pushes) {
        self.bytes += more.bytes;
        self.parts.extend(more.parts);
    }

    /// The messages of every frame, frame by frame (each frame's in the order of
    /// [`decode_push`]). An undecodable payload is a protocol violation, and the
    /// connection is dropped: the messages of the frames merged with it are dropped too,
    /// uncommitted, so the next sync pulls them again, as it would frames left unread in
    /// the socket.
    pub fn decode(self) -> Result<Vec<Message>, String> {
        let mut messages = Vec::new();
        for part in self.parts {
            let decoded = match part {
                Part::Decoded(decoded) => decoded,
                Part::Payload(payload) => decode_push(&payload).map_err(violation)?,
            };
            if messages.is_empty() {
                messages = decoded;
            } else {
                messages.extend(decoded);
            }
        }
        Ok(messages)
    }
}

fn violation(e: prost::DecodeError) -> String {
    format!("protocol violation: undecodable 2001 payload: {e}")
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
                                (Incoming::Pushes(batch), Incoming::Pushes(more)) => {
                                    batch.append(more)
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
    matches!(event, Incoming::Pushes(batch)
        if batch.parts.len() < MAX_MERGED && batch.bytes < MAX_MERGED_BYTES)
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
        req::PUSH_MSG => {
            if resp.data.len() < SMALL_PUSH_BYTES {
                Incoming::Pushes(Pushes::of(resp.data))
            } else {
                match decode_push(&resp.data) {
                    Ok(messages) => Incoming::Pushes(Pushes {
                        bytes: resp.data.len(),
                        parts: vec![Part::Decoded(messages)],
                    }),
                    Err(e) => Incoming::Lost(violation(e)),
                }
            }
        }
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

    /// A binary frame: the JSON envelope of `data` (base64) as `req_identifier`.
    pub(in crate::session) fn envelope(req_identifier: i32, data: &[u8]) -> Frame {
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
        push_of(seq..=seq)
    }

    /// A 2001 frame of one message for each of `seqs`.
    fn push_of(seqs: std::ops::RangeInclusive<i64>) -> Frame {
        let mut push = PushMessages::default();
        let msgs = seqs
            .map(|seq| MsgData {
                send_id: "bob".into(),
                recv_id: "alice".into(),
                content_type: 101,
                session_type: 1,
                content: br#"{"content":"hi"}"#.to_vec(),
                seq,
                ..Default::default()
            })
            .collect();
        push.msgs.insert(
            "si_alice_bob".into(),
            PullMsgs {
                msgs,
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

    fn seqs(event: Incoming) -> Vec<i64> {
        match event {
            Incoming::Pushes(batch) => batch.decode().unwrap().iter().map(|m| m.seq).collect(),
            other => panic!("expected pushes, got {other:?}"),
        }
    }

    /// Whether the reader decoded every push of `event`.
    fn decoded(event: &Incoming) -> bool {
        matches!(event, Incoming::Pushes(p) if matches!(p.parts[..], [Part::Decoded(_)]))
    }

    #[test]
    fn small_pushes_are_left_to_the_session_and_large_ones_decoded_here() {
        let read = |frame: Frame| match frame {
            Frame::Binary(b) => decode(&b),
            other => panic!("not a binary frame: {other:?}"),
        };
        let small = read(push(1));
        assert!(
            !decoded(&small),
            "a one-message push was decoded by the reader"
        );
        assert_eq!(seqs(small), [1]);
        let large = read(push_of(1..=100));
        assert!(
            decoded(&large),
            "a 100-message push was left to the session"
        );
        assert_eq!(seqs(large), (1..=100).collect::<Vec<_>>());
        // An undecodable large payload is the reader's protocol violation.
        match read(envelope(req::PUSH_MSG, &[0xff; SMALL_PUSH_BYTES])) {
            Incoming::Lost(why) => {
                assert!(
                    why.starts_with("protocol violation: undecodable 2001"),
                    "{why}"
                )
            }
            other => panic!("expected Lost, got {other:?}"),
        }
    }

    #[test]
    fn pushes_keep_their_order_decoded_or_not_and_a_bad_payload_is_a_violation() {
        let pushes = |frame: Frame| match frame {
            Frame::Binary(b) => match decode(&b) {
                Incoming::Pushes(p) => p,
                other => panic!("expected pushes, got {other:?}"),
            },
            other => panic!("not a binary frame: {other:?}"),
        };
        // Small (left as payloads) and large (decoded here) frames, merged.
        let mut batch = pushes(push(1));
        batch.append(pushes(push_of(2..=101)));
        batch.append(pushes(push(102)));
        batch.append(pushes(push_of(103..=202)));
        assert!(matches!(
            batch.parts[..],
            [
                Part::Payload(_),
                Part::Decoded(_),
                Part::Payload(_),
                Part::Decoded(_)
            ]
        ));
        let seqs: Vec<i64> = batch.decode().unwrap().iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=202).collect::<Vec<_>>());

        let mut bad = pushes(push(1));
        bad.append(Pushes::of(vec![0x0a, 0xff, 0xff]));
        let why = bad.decode().unwrap_err();
        assert!(
            why.starts_with("protocol violation: undecodable 2001 payload"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn a_merged_event_holds_at_most_max_merged_frames() {
        let (feed, mut rx, _heard, _task) = reader();
        // Frames with empty payloads: only the frame count bounds what is merged.
        let frames = CHANNEL + MAX_MERGED + 100;
        let (sent_tx, mut sent) = tokio::sync::watch::channel(0);
        tokio::spawn(async move {
            for n in 1..=frames {
                if feed.send(Ok(envelope(req::PUSH_MSG, &[]))).await.is_err() {
                    return;
                }
                let _ = sent_tx.send(n);
            }
        });
        // CHANNEL events fill the channel, the next one takes MAX_MERGED - 1 more, then
        // reading stops: the feed takes one frame more and no other.
        let held = CHANNEL + MAX_MERGED + 1;
        timeout(WAIT, sent.wait_for(|n| *n >= held))
            .await
            .expect("the reader took the frames up to its bound")
            .unwrap();
        for _ in 0..CHANNEL {
            assert!(matches!(next(&mut rx).await, Incoming::Pushes(p) if p.parts.len() == 1));
        }
        match next(&mut rx).await {
            Incoming::Pushes(p) => assert_eq!(p.parts.len(), MAX_MERGED),
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
            assert_eq!(seqs(next(&mut rx).await), [seq]);
        }
        let merged: Vec<i64> = (CHANNEL as i64 + 1..=CHANNEL as i64 + 51).collect();
        assert_eq!(seqs(next(&mut rx).await), merged);
        assert!(matches!(next(&mut rx).await, Incoming::Kicked));
        let mut after = Vec::new();
        while after.len() < 5 {
            after.extend(seqs(next(&mut rx).await));
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

//! Dev-only `/dev/push_burst`: a stream of ready-made 2001 frames to one user, for
//! throughput benchmarks of clients not driven from Rust. Unlike normal pushes it waits
//! for room in each connection's send queue instead of closing a slow connection.

use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;

use crate::gateway::hub::{ConnCmd, ConnEntry};
use crate::protocol::envelope::encode_resp;
use crate::protocol::pb::{MsgData, PullMsgs, PushMessages};

/// One 2001 frame holding `batch` text messages from `from` to `to`.
fn frame(from: &str, to: &str, batch: usize) -> Vec<u8> {
    let msgs = (0..batch)
        .map(|i| MsgData {
            send_id: from.into(),
            recv_id: to.into(),
            client_msg_id: format!("burst-{i}"),
            server_msg_id: format!("burst-{i}"),
            session_type: 1,
            content_type: 101,
            content: br#"{"content":"hello, this is a short chat message"}"#.to_vec(),
            seq: i as i64 + 1,
            send_time: 1_700_000_000_000,
            ..Default::default()
        })
        .collect();
    let mut push = PushMessages::default();
    let mut ids = [from, to];
    ids.sort();
    push.msgs.insert(
        format!("si_{}_{}", ids[0], ids[1]),
        PullMsgs {
            msgs,
            ..Default::default()
        },
    );
    encode_resp(2001, "", "burst", 0, "", Some(&push.encode_to_vec()))
}

/// Queues `frames` frames of `batch` messages to each of `conns` in the background;
/// returns at once.
pub(crate) fn start(conns: Vec<ConnEntry>, to: &str, frames: usize, batch: usize) {
    let message = Message::binary(frame("burst", to, batch));
    for conn in conns {
        let message = message.clone();
        tokio::spawn(async move {
            for _ in 0..frames {
                if conn.tx.send(ConnCmd::Frame(message.clone())).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// What [`start_stored`] stores: the conversation and the seqs it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBurst {
    /// The one-to-one conversation `si_<from>_<to>`.
    pub conversation_id: String,
    /// The seq of the first message of the burst.
    pub first_seq: i64,
    /// The seq of the last one.
    pub last_seq: i64,
}

/// Dev-only `/dev/send_burst`: `count` text messages from `from` to `to`, stored at once with
/// real, increasing seqs (like `/msg/send_msg`), then pushed to `to`'s connections in the
/// background as 2001 frames of `batch` messages each, with backpressure (a slow client is
/// waited for, not dropped). Meant for throughput benchmarks of seq-syncing clients.
pub(crate) fn start_stored(
    shared: &crate::shared::Shared,
    from: &str,
    to: &str,
    count: usize,
    batch: usize,
) -> StoredBurst {
    use crate::store::ids;
    let conv = ids::single(from, to);
    let now = shared.clock.now_ms();
    let content = br#"{"content":"hello, this is a short chat message"}"#.to_vec();
    // One send at a time: no other message takes a seq inside the burst.
    let _order = shared.send_lock.lock().unwrap_or_else(|e| e.into_inner());
    let (conns, frames, first_seq, last_seq) = {
        let mut st = shared.hub.lock();
        st.store.add_record(from, &conv);
        st.store.add_record(to, &conv);
        let first_seq = st.store.max_seq(&conv) + 1;
        let mut frames = Vec::with_capacity(count.div_ceil(batch.max(1)));
        let mut left = count;
        while left > 0 {
            let n = left.min(batch.max(1));
            left -= n;
            let msgs: Vec<MsgData> = (0..n)
                .map(|i| {
                    let mut msg = MsgData {
                        send_id: from.to_string(),
                        recv_id: to.to_string(),
                        client_msg_id: format!("{:016x}{:016x}", fastrand::u64(..), left + i),
                        server_msg_id: format!("{:016x}{:016x}", fastrand::u64(..), left + i),
                        sender_platform_id: 5,
                        sender_nickname: from.to_string(),
                        session_type: ids::SINGLE_CHAT,
                        msg_from: 100,
                        content_type: 101,
                        content: content.clone(),
                        send_time: now,
                        create_time: now,
                        status: 2,
                        ..MsgData::default()
                    };
                    st.store.append(&conv, &mut msg);
                    msg
                })
                .collect();
            let mut push = PushMessages::default();
            push.msgs.insert(
                conv.clone(),
                PullMsgs {
                    msgs,
                    ..Default::default()
                },
            );
            frames.push(encode_resp(
                2001,
                "",
                "burst",
                0,
                "",
                Some(&push.encode_to_vec()),
            ));
        }
        let last_seq = st.store.max_seq(&conv);
        (st.conns_of(to), frames, first_seq, last_seq)
    };
    // Every frame is encoded (and gzipped, once, for the connections that asked for it)
    // before this returns: a benchmark timing the client from the reply on does not
    // count the gateway's deflate, which shares the machine's cores with the client.
    let gzipped: Vec<Message> = if conns.iter().any(|c| c.compression) {
        frames
            .iter()
            .map(|f| Message::binary(crate::protocol::envelope::gzip(f)))
            .collect()
    } else {
        Vec::new()
    };
    let plain: Vec<Message> = frames.into_iter().map(Message::binary).collect();
    let (plain, gzipped) = (std::sync::Arc::new(plain), std::sync::Arc::new(gzipped));
    for conn in conns {
        let frames = if conn.compression {
            gzipped.clone()
        } else {
            plain.clone()
        };
        tokio::spawn(async move {
            for message in frames.iter() {
                // A closed connection misses the rest; the messages are stored anyway.
                if conn.tx.send(ConnCmd::Frame(message.clone())).await.is_err() {
                    return;
                }
            }
        });
    }
    StoredBurst {
        conversation_id: conv,
        first_seq,
        last_seq,
    }
}

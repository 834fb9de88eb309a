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

//! One conversation's messages, densely by seq.

use prost::Message as _;

use crate::protocol::pb::MsgData;

/// `constant.MsgStatusHasDeleted`: a placeholder or a message the user deleted.
pub(crate) const STATUS_DELETED: i32 = 4;

/// The messages of one conversation. Seqs are allocated from 1 without gaps; a seq whose slot
/// is empty is a hole (allocated, no message). Each message is kept as its encoded `MsgData`
/// (about a third of the size of the decoded struct), so a million fit in a few hundred MB.
#[derive(Debug)]
pub(crate) struct ConversationLog {
    /// The conversation's min seq (retention); 1 until raised.
    pub min_seq: i64,
    /// Slot `i` holds seq `i + 1`.
    slots: Vec<Option<Box<[u8]>>>,
    /// Send time of the message at the max seq (0 for a hole).
    pub max_seq_time: i64,
}

impl Default for ConversationLog {
    fn default() -> Self {
        Self {
            min_seq: 1,
            slots: Vec::new(),
            max_seq_time: 0,
        }
    }
}

impl ConversationLog {
    /// The max seq (0 when nothing was ever allocated).
    pub(crate) fn max_seq(&self) -> i64 {
        self.slots.len() as i64
    }

    /// Allocates the next seq, stores `msg` under it (with `msg.seq` set) and returns it.
    pub(crate) fn append(&mut self, msg: &mut MsgData) -> i64 {
        let seq = self.max_seq() + 1;
        msg.seq = seq;
        self.slots
            .push(Some(msg.encode_to_vec().into_boxed_slice()));
        self.max_seq_time = msg.send_time;
        seq
    }

    /// Allocates the next seq with no message (a hole) and returns it.
    pub(crate) fn hole(&mut self) -> i64 {
        self.slots.push(None);
        self.max_seq_time = 0;
        self.max_seq()
    }

    /// The stored message at `seq`, if any (holes and out-of-range seqs are `None`).
    pub(crate) fn get(&self, seq: i64) -> Option<MsgData> {
        let index = usize::try_from(seq.checked_sub(1)?).ok()?;
        let bytes = self.slots.get(index)?.as_ref()?;
        MsgData::decode(&bytes[..]).ok()
    }

    /// Replaces the stored message at `seq`; false when there is none.
    pub(crate) fn replace(&mut self, seq: i64, msg: &MsgData) -> bool {
        let Some(slot) = usize::try_from(seq - 1)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
        else {
            return false;
        };
        if slot.is_none() {
            return false;
        }
        *slot = Some(msg.encode_to_vec().into_boxed_slice());
        true
    }

    /// Seqs that hold a message, ascending.
    pub(crate) fn stored_seqs(&self) -> Vec<i64> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as i64 + 1)
            .collect()
    }

    /// Bytes of encoded messages held (payload only, no allocator overhead).
    pub(crate) fn payload_bytes(&self) -> usize {
        self.slots.iter().flatten().map(|b| b.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_start_at_one_and_holes_stay_empty() {
        let mut log = ConversationLog::default();
        let mut m = MsgData {
            content: b"a".to_vec(),
            send_time: 7,
            ..MsgData::default()
        };
        assert_eq!(log.append(&mut m), 1);
        assert_eq!(m.seq, 1);
        assert_eq!(log.hole(), 2);
        assert_eq!(log.append(&mut m.clone()), 3);
        assert_eq!(log.max_seq(), 3);
        assert_eq!(log.get(1).unwrap().content, b"a");
        assert_eq!(log.get(2), None);
        assert_eq!(log.get(0), None);
        assert_eq!(log.get(4), None);
        assert_eq!(log.get(-1), None);
        assert_eq!(log.stored_seqs(), vec![1, 3]);
        assert_eq!(log.min_seq, 1);
        assert!(!log.replace(2, &m));
        assert!(log.replace(1, &MsgData::default()));
    }
}

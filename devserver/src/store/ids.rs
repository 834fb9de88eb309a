//! Conversation IDs (OpenIM's `msgprocessor` rules): `si_<a>_<b>` for one-to-one chats with the
//! two user IDs sorted, `sg_<group>` for groups, `sn_<a>_<b>` for server notifications, and the
//! `n_` twin of every conversation for messages flagged as notifications.

use std::collections::BTreeMap;

use crate::protocol::pb::MsgData;

/// `constant.SingleChatType`.
pub(crate) const SINGLE_CHAT: i32 = 1;
/// `constant.ReadGroupChatType` (every group of OpenIM v3).
pub(crate) const GROUP_CHAT: i32 = 3;
/// `constant.NotificationChatType`.
pub(crate) const NOTIFICATION_CHAT: i32 = 4;

/// Option keys of `MsgData.options` (`constant.IsHistory`, ...). An absent key counts as true.
pub(crate) const OPT_HISTORY: &str = "history";
/// `constant.IsNotNotification`: false makes the message a notification (`n_…`).
pub(crate) const OPT_NOT_NOTIFICATION: &str = "isNotNotification";
/// `constant.IsSenderSync`: false keeps the push away from the sender's other devices.
pub(crate) const OPT_SENDER_SYNC: &str = "senderSync";

/// OpenIM's `Options.Is`: an option is on unless it is present and false.
pub(crate) fn option_on(options: &BTreeMap<String, bool>, key: &str) -> bool {
    options.get(key).copied().unwrap_or(true)
}

fn sorted_pair(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}_{b}")
    } else {
        format!("{b}_{a}")
    }
}

/// `si_<a>_<b>` with the two user IDs sorted.
pub(crate) fn single(a: &str, b: &str) -> String {
    format!("si_{}", sorted_pair(a, b))
}

/// `sg_<group>`.
pub(crate) fn group(group_id: &str) -> String {
    format!("sg_{group_id}")
}

/// The `n_` twin of a conversation: the prefix before the first `_` becomes `n`.
pub(crate) fn notification_twin(conversation_id: &str) -> String {
    match conversation_id.split_once('_') {
        Some((_, rest)) => format!("n_{rest}"),
        None => conversation_id.to_string(),
    }
}

/// `n_<uid>_<uid>`: every user's own notification conversation.
pub(crate) fn self_notification(user_id: &str) -> String {
    format!("n_{user_id}_{user_id}")
}

/// True for `n_…` conversation IDs (their pulls land in `notificationMsgs`).
pub(crate) fn is_notification(conversation_id: &str) -> bool {
    conversation_id.starts_with("n_")
}

/// The conversation a message belongs to (`GetConversationIDByMsg`), or `None` for a session
/// type the dev gateway does not route (2, the legacy write group, and unknown types).
pub(crate) fn of_message(msg: &MsgData) -> Option<String> {
    let notification = !option_on(&msg.options, OPT_NOT_NOTIFICATION);
    let id = match msg.session_type {
        SINGLE_CHAT if notification => format!("n_{}", sorted_pair(&msg.send_id, &msg.recv_id)),
        SINGLE_CHAT => single(&msg.send_id, &msg.recv_id),
        GROUP_CHAT if notification => format!("n_{}", msg.group_id),
        GROUP_CHAT => group(&msg.group_id),
        NOTIFICATION_CHAT if notification => {
            format!("n_{}", sorted_pair(&msg.send_id, &msg.recv_id))
        }
        NOTIFICATION_CHAT => format!("sn_{}", sorted_pair(&msg.send_id, &msg.recv_id)),
        _ => return None,
    };
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(session_type: i32, notification: Option<bool>) -> MsgData {
        let mut m = MsgData {
            send_id: "u2".into(),
            recv_id: "u1".into(),
            group_id: "g1".into(),
            session_type,
            ..MsgData::default()
        };
        if let Some(n) = notification {
            m.options.insert(OPT_NOT_NOTIFICATION.into(), !n);
        }
        m
    }

    #[test]
    fn ids_follow_openims_rules() {
        assert_eq!(of_message(&msg(1, None)).unwrap(), "si_u1_u2");
        assert_eq!(of_message(&msg(1, Some(false))).unwrap(), "si_u1_u2");
        assert_eq!(of_message(&msg(1, Some(true))).unwrap(), "n_u1_u2");
        assert_eq!(of_message(&msg(3, None)).unwrap(), "sg_g1");
        assert_eq!(of_message(&msg(3, Some(true))).unwrap(), "n_g1");
        assert_eq!(of_message(&msg(4, None)).unwrap(), "sn_u1_u2");
        assert_eq!(of_message(&msg(4, Some(true))).unwrap(), "n_u1_u2");
        assert_eq!(of_message(&msg(2, None)), None);
        assert_eq!(notification_twin("si_u1_u2"), "n_u1_u2");
        assert_eq!(notification_twin("sg_g_1"), "n_g_1");
        assert_eq!(self_notification("u1"), "n_u1_u1");
        assert!(is_notification("n_u1_u1") && !is_notification("sn_a_b"));
    }
}

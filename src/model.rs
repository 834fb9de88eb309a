//! The data a session hands to the app (exported records): the logged-in user and messages.

/// The logged-in user, from `/user/get_users_info`.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct UserInfo {
    pub user_id: String,
    pub nickname: String,
    pub face_url: String,
    pub ex: String,
    /// Unix milliseconds.
    pub create_time: i64,
    pub app_manger_level: i32,
    pub global_recv_msg_opt: i32,
}

/// One message of the logged-in user (pushed, or pulled by seq).
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct Message {
    pub client_msg_id: String,
    pub server_msg_id: String,
    /// `si_<a>_<b>` for one-to-one, `sg_<group>` for groups, `n_…` for notifications.
    pub conversation_id: String,
    pub send_id: String,
    pub recv_id: String,
    pub group_id: String,
    pub sender_nickname: String,
    pub sender_platform_id: i32,
    /// OpenIM session type: 1 single, 3 group, 4 notification.
    pub session_type: i32,
    /// OpenIM content type: 101 text, 102 picture, …
    pub content_type: i32,
    /// The raw `content` bytes as UTF-8 (lossy): a JSON object for most content types.
    pub content: String,
    /// For text messages (101), the text itself (`content.content`); otherwise `None`.
    pub text: Option<String>,
    /// Position in its conversation (1, 2, …; 0 for a message the server does not store).
    pub seq: i64,
    /// Unix milliseconds, as the sender's client set it.
    pub send_time: i64,
    /// Unix milliseconds, when the server stored it.
    pub create_time: i64,
    /// OpenIM message status: 2 sent, 4 deleted (content empty).
    pub status: i32,
    /// True for notifications (`n_…` conversations, OpenIM's `notificationMsgs`).
    pub is_notification: bool,
}

/// One entry of the cached conversation list (read offline).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conversation {
    /// `si_<a>_<b>`, `sg_<group>`, `sn_…`, or the `n_…` twin of one of those.
    pub conversation_id: String,
    /// Every message up to this seq has been received (or is known not to exist).
    pub synced_seq: i64,
    /// The newest stored message, if any.
    pub latest: Option<Message>,
}

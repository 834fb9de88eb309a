//! Registered users (what `/user/user_register` creates and `/user/get_users_info` returns).

use std::collections::HashMap;

use serde::Serialize;

/// `sdkws.UserInfo` with its JSON field names and order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct UserInfo {
    #[serde(rename = "userID")]
    pub user_id: String,
    pub nickname: String,
    #[serde(rename = "faceURL")]
    pub face_url: String,
    pub ex: String,
    /// Unix milliseconds.
    #[serde(rename = "createTime")]
    pub create_time: i64,
    #[serde(rename = "appMangerLevel")]
    pub app_manger_level: i32,
    #[serde(rename = "globalRecvMsgOpt")]
    pub global_recv_msg_opt: i32,
}

impl UserInfo {
    /// A plain user with only an ID, nickname and creation time.
    pub(crate) fn new(user_id: &str, nickname: &str, create_time: i64) -> Self {
        Self {
            user_id: user_id.to_string(),
            nickname: nickname.to_string(),
            face_url: String::new(),
            ex: String::new(),
            create_time,
            app_manger_level: 0,
            global_recv_msg_opt: 0,
        }
    }
}

/// All registered users by ID.
#[derive(Default, Debug)]
pub(crate) struct UserStore {
    users: HashMap<String, UserInfo>,
}

impl UserStore {
    /// Registers a user; returns false (and changes nothing) when the ID already exists.
    pub(crate) fn insert(&mut self, info: UserInfo) -> bool {
        if self.users.contains_key(&info.user_id) {
            return false;
        }
        self.users.insert(info.user_id.clone(), info);
        true
    }

    /// True when the user is registered.
    pub(crate) fn contains(&self, user_id: &str) -> bool {
        self.users.contains_key(user_id)
    }

    /// The user's record, if registered.
    pub(crate) fn get(&self, user_id: &str) -> Option<&UserInfo> {
        self.users.get(user_id)
    }
}

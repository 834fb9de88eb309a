//! HTTP API bodies (docs/protocol.md, "The HTTP API"): the envelope and `/user/get_users_info`.

use serde::{Deserialize, Serialize};

use crate::model::UserInfo;

/// Every API reply: `{"errCode","errMsg","errDlt","data"}`; `data` may be absent.
#[derive(Debug, Deserialize)]
pub struct ApiEnvelope<T> {
    #[serde(rename = "errCode")]
    pub err_code: i32,
    #[serde(rename = "errMsg", default)]
    pub err_msg: String,
    #[serde(rename = "errDlt", default)]
    pub err_dlt: String,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

impl<T> ApiEnvelope<T> {
    /// `errMsg: errDlt`, or whichever is present.
    pub fn text(&self) -> String {
        super::describe(self.err_code, &self.err_msg, &self.err_dlt)
    }
}

/// Body of `/user/get_users_info`.
#[derive(Debug, Serialize)]
pub struct GetUsersInfoReq<'a> {
    #[serde(rename = "userIDs")]
    pub user_ids: [&'a str; 1],
}

/// `data` of `/user/get_users_info`; unknown IDs are simply absent.
#[derive(Debug, Default, Deserialize)]
pub struct GetUsersInfoResp {
    #[serde(rename = "usersInfo", default, deserialize_with = "null_as_empty")]
    pub users_info: Vec<UserInfoJson>,
}

/// `sdkws.UserInfo` as the API encodes it.
#[derive(Debug, Default, Deserialize)]
pub struct UserInfoJson {
    #[serde(rename = "userID", default)]
    pub user_id: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(rename = "faceURL", default)]
    pub face_url: String,
    #[serde(default)]
    pub ex: String,
    #[serde(rename = "createTime", default)]
    pub create_time: i64,
    #[serde(rename = "appMangerLevel", default)]
    pub app_manger_level: i32,
    #[serde(rename = "globalRecvMsgOpt", default)]
    pub global_recv_msg_opt: i32,
}

impl From<UserInfoJson> for UserInfo {
    fn from(u: UserInfoJson) -> UserInfo {
        UserInfo {
            user_id: u.user_id,
            nickname: u.nickname,
            face_url: u.face_url,
            ex: u.ex,
            create_time: u.create_time,
            app_manger_level: u.app_manger_level,
            global_recv_msg_opt: u.global_recv_msg_opt,
        }
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_info_parses_with_missing_and_null_fields() {
        let body = br#"{"errCode":0,"errMsg":"","errDlt":"","data":{"usersInfo":[{"userID":"u1","nickname":"U","faceURL":"","ex":"","createTime":5,"appMangerLevel":1,"globalRecvMsgOpt":0}]}}"#;
        let env: ApiEnvelope<GetUsersInfoResp> = serde_json::from_slice(body).unwrap();
        let u: UserInfo = env
            .data
            .unwrap()
            .users_info
            .into_iter()
            .next()
            .unwrap()
            .into();
        assert_eq!(u.user_id, "u1");
        assert_eq!(u.create_time, 5);
        let env: ApiEnvelope<GetUsersInfoResp> =
            serde_json::from_slice(br#"{"errCode":0,"data":{"usersInfo":null}}"#).unwrap();
        assert!(env.data.unwrap().users_info.is_empty());
    }

    #[test]
    fn error_envelopes_have_no_data() {
        let env: ApiEnvelope<GetUsersInfoResp> = serde_json::from_slice(
            br#"{"errCode":1501,"errMsg":"TokenExpiredError","errDlt":"d"}"#,
        )
        .unwrap();
        assert_eq!(env.err_code, 1501);
        assert!(env.data.is_none());
        assert_eq!(env.text(), "TokenExpiredError: d");
    }

    #[test]
    fn request_body_is_openim_shaped() {
        assert_eq!(
            serde_json::to_string(&GetUsersInfoReq { user_ids: ["u1"] }).unwrap(),
            r#"{"userIDs":["u1"]}"#
        );
    }
}

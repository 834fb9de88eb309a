//! The OpenIM HTTP API client: POST JSON with `operationID` and `token` headers,
//! reply envelope `{errCode, errMsg, errDlt, data}` (openim-protocol.md §7).

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;
use serde::{de::DeserializeOwned, Serialize};
use url::Url;

use crate::{
    error::{codes, Error, Result},
    model::UserInfo,
    protocol::api::{ApiEnvelope, GetUsersInfoReq, GetUsersInfoResp},
    redact::Token,
};

/// One session's API client. Cheap to clone; connections are pooled briefly.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
}

impl ApiClient {
    /// A client for `base` (the config's `api_addr`); every call times out after `timeout`.
    pub fn new(base: Url, tls: &Arc<ClientConfig>, timeout: Duration) -> Result<ApiClient> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((**tls).clone())
            .timeout(timeout)
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Internal {
                detail: format!("HTTP client: {e}"),
            })?;
        Ok(ApiClient { http, base })
    }

    /// POSTs `body` to `path` and returns the envelope's `data` (absent → `None`).
    /// A non-zero errCode becomes the matching [`Error`] (150x → token errors).
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: &Token,
        operation_id: &str,
        body: &B,
    ) -> Result<Option<T>> {
        let url = join(&self.base, path);
        let resp = self
            .http
            .post(url)
            .header("operationID", operation_id)
            .header("token", token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(path, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::network(format!(
                "{path} answered HTTP {}",
                status.as_u16()
            )));
        }
        let bytes = resp.bytes().await.map_err(|e| transport_error(path, e))?;
        let env: ApiEnvelope<T> = serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
            code: codes::DECODE,
            detail: format!("{path} answered something that is not an OpenIM envelope: {e}"),
        })?;
        if env.err_code != 0 {
            return Err(Error::from_server(env.err_code, token.scrub(&env.text())));
        }
        Ok(env.data)
    }

    /// `/user/get_users_info` for the user itself. An unknown user yields a
    /// `UserInfo` holding only the ID (the server omits unknown IDs).
    pub async fn get_self_info(
        &self,
        user_id: &str,
        token: &Token,
        operation_id: &str,
    ) -> Result<UserInfo> {
        let data: Option<GetUsersInfoResp> = self
            .post(
                "/user/get_users_info",
                token,
                operation_id,
                &GetUsersInfoReq {
                    user_ids: [user_id],
                },
            )
            .await?;
        let found = data
            .unwrap_or_default()
            .users_info
            .into_iter()
            .find(|u| u.user_id == user_id);
        Ok(found.map(UserInfo::from).unwrap_or_else(|| UserInfo {
            user_id: user_id.to_owned(),
            ..UserInfo::default()
        }))
    }
}

/// `base` + `path`, keeping any path prefix of `base` (e.g. behind a reverse proxy).
fn join(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

fn transport_error(path: &str, e: reqwest::Error) -> Error {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    if timed_out {
        Error::timeout(format!("{path}: {e}"))
    } else {
        Error::network(format!("{path}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_prefixes() {
        let u = Url::parse("http://h:1/api/").unwrap();
        assert_eq!(join(&u, "/user/x"), "http://h:1/api/user/x");
        let u = Url::parse("http://h:1").unwrap();
        assert_eq!(join(&u, "/user/x"), "http://h:1/user/x");
    }
}

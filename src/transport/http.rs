//! The OpenIM HTTP API client: POST JSON with `operationID` and `token` headers,
//! reply envelope `{errCode, errMsg, errDlt, data}` (openim-protocol.md §7).

use std::{
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use rustls::ClientConfig;
use serde::{de::DeserializeOwned, Serialize};
use url::Url;

use crate::{
    error::{codes, Error, Result},
    model::UserInfo,
    protocol::api::{ApiEnvelope, GetUsersInfoReq, GetUsersInfoResp},
    redact::Token,
};

/// One session's API client. The underlying HTTP client (connection pool, TLS) is
/// shared by every session that uses the same TLS configuration, so thousands of
/// sessions in one process cost one pool, not thousands.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl ApiClient {
    /// A client for `base` (the config's `api_addr`); every call times out after `timeout`.
    pub fn new(base: Url, tls: &Arc<ClientConfig>, timeout: Duration) -> Result<ApiClient> {
        Ok(ApiClient {
            http: shared_client(tls)?,
            base,
            timeout,
        })
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
            .timeout(self.timeout)
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

/// The process-wide HTTP client for one TLS configuration (keyed by identity; the
/// default configuration is itself shared, so almost every session lands on one client).
fn shared_client(tls: &Arc<ClientConfig>) -> Result<reqwest::Client> {
    static CLIENTS: Mutex<Vec<(Weak<ClientConfig>, reqwest::Client)>> = Mutex::new(Vec::new());
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    clients.retain(|(cfg, _)| cfg.strong_count() > 0);
    if let Some((_, client)) = clients
        .iter()
        .find(|(cfg, _)| cfg.upgrade().is_some_and(|c| Arc::ptr_eq(&c, tls)))
    {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .use_preconfigured_tls((**tls).clone())
        .pool_max_idle_per_host(16)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Internal {
            detail: format!("HTTP client: {e}"),
        })?;
    clients.push((Arc::downgrade(tls), client.clone()));
    Ok(client)
}

/// `base` + `path`, keeping any path prefix of `base` (e.g. behind a reverse proxy).
fn join(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

fn transport_error(path: &str, e: reqwest::Error) -> Error {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    // reqwest's own text is terse ("error sending request"); the causes say why.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if timed_out {
        Error::timeout(format!("{path}: {text}"))
    } else {
        Error::network(format!("{path}: {text}"))
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

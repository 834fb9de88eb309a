//! The OpenIM HTTP API client: POST JSON with `operationID` and `token` headers,
//! reply envelope `{errCode, errMsg, errDlt, data}` (openim-protocol.md §7).
//!
//! A small HTTP/1.1 client of its own (one connection per call, `Connection: close`):
//! a session makes one API call per login, and a general-purpose HTTP stack would
//! cost more binary size than the whole session core.

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;
use serde::{de::DeserializeOwned, Serialize};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{connect, http1};
use crate::{
    error::{codes, ImError, Result},
    model::UserInfo,
    protocol::api::{ApiEnvelope, GetUsersInfoReq, GetUsersInfoResp},
    redact::Token,
};

/// One session's API client.
#[derive(Clone)]
pub struct ApiClient {
    base: Url,
    tls: Arc<ClientConfig>,
    timeout: Duration,
}

impl ApiClient {
    /// A client for `base` (the config's `api_addr`); every call times out after `timeout`.
    pub fn new(base: Url, tls: &Arc<ClientConfig>, timeout: Duration) -> ApiClient {
        ApiClient {
            base,
            tls: tls.clone(),
            timeout,
        }
    }

    /// POSTs `body` to `path` and returns the envelope's `data` (absent → `None`).
    /// A non-zero errCode becomes the matching [`ImError`] (150x → token errors).
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: &Token,
        operation_id: &str,
        body: &B,
    ) -> Result<Option<T>> {
        let json = serde_json::to_vec(body).map_err(|e| ImError::Internal {
            detail: format!("encoding the {path} body: {e}"),
        })?;
        let call = self.exchange(path, token, operation_id, &json);
        let (status, bytes) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                ImError::timeout(format!(
                    "{path}: no answer within {} ms",
                    self.timeout.as_millis()
                ))
            })?
            .map_err(|e| ImError::network(format!("{path}: {}", token.scrub(&e))))?;
        if !(200..300).contains(&status) {
            return Err(ImError::network(format!("{path} answered HTTP {status}")));
        }
        let env: ApiEnvelope<T> =
            serde_json::from_slice(&bytes).map_err(|e| ImError::Protocol {
                protocol_code: codes::DECODE,
                detail: format!("{path} answered something that is not an OpenIM envelope: {e}"),
            })?;
        if env.err_code != 0 {
            return Err(ImError::from_server(env.err_code, token.scrub(&env.text())));
        }
        Ok(env.data)
    }

    /// One request and its response: (status, body).
    async fn exchange(
        &self,
        path: &str,
        token: &Token,
        operation_id: &str,
        json: &[u8],
    ) -> std::result::Result<(u16, Vec<u8>), String> {
        let mut stream = connect::open(&self.base, &self.tls).await?;
        let request = format!(
            "POST {}{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             operationID: {operation_id}\r\ntoken: {}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            self.base.path().trim_end_matches('/'),
            connect::authority(&self.base),
            token.expose(),
            json.len()
        );
        let write = async {
            stream.write_all(request.as_bytes()).await?;
            stream.write_all(json).await?;
            stream.flush().await
        };
        write.await.map_err(|e| format!("write failed: {e}"))?;
        let head = http1::read_head(&mut stream).await?;
        let status = head.status;
        let body = http1::read_body(&mut stream, head).await?;
        Ok((status, body))
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

//! The OpenIM HTTP API client: POST JSON with `operationID` and `token` headers,
//! reply envelope `{errCode, errMsg, errDlt, data}` (docs/protocol.md, "The HTTP API").
//!
//! reqwest, on the session's rustls configuration (ring provider) and its [`Net`]
//! (same resolution overrides and proxy as the gateway dial; happy eyeballs from
//! hyper-util's connector). One client per manager, so a manager's proxy, address
//! overrides and extra roots stay its own. No connection is kept idle: the session calls
//! the API once per login (`/user/get_users_info`, beside the gateway dial), so a kept
//! connection would serve only the next login, and cost every logged-in session a
//! descriptor and hyper's buffers (about 20 KiB, heap profile of 1,000 sessions) for its
//! idle lifetime. The connection closes once the answer is read.
//!
//! `1xx` answers before the final one are skipped; gzip answers are inflated (but not
//! asked for, see `exchange`); redirects are not followed (a 3xx is reported with its
//! status); the body is read with a limit as it streams in, so an endless or oversized
//! body fails fast with bounded memory. The token goes in a header marked sensitive;
//! reqwest and hyper never log headers.

use std::time::Duration;

use http::{header, HeaderValue};
use reqwest::{redirect, Client};
use serde::{de::DeserializeOwned, Serialize};
use url::Url;

use super::net::{chain, Net};
use crate::{
    error::{codes, ImError, Result},
    model::UserInfo,
    protocol::api::{ApiEnvelope, GetUsersInfoReq, GetUsersInfoResp},
    redact::Token,
};

/// The largest response body accepted (after inflation).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// Idle connections a manager keeps to the API server (see the module docs).
const MAX_IDLE_CONNECTIONS: usize = 0;

/// One manager's API client (cheap to clone: the clones share reqwest's client).
#[derive(Clone)]
pub struct ApiClient {
    base: Url,
    client: Client,
    net: Net,
    timeout: Duration,
}

impl ApiClient {
    /// A client for `base` (the config's `api_addr`); every call (connect, request
    /// and the whole body) times out after `timeout`.
    pub fn new(base: Url, net: &Net, timeout: Duration) -> Result<ApiClient> {
        let mut builder = Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(net.tls()))
            .redirect(redirect::Policy::none())
            .tcp_nodelay(true)
            .connect_timeout(timeout)
            .timeout(timeout)
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
            .gzip(true)
            // Only the configured proxy, never the environment's.
            .no_proxy();
        if let Some(p) = net.proxy() {
            let mut proxy = reqwest::Proxy::all(p.expose_url().as_str()).map_err(|_| {
                ImError::invalid(format!(
                    "proxy {} is not usable by the HTTP client",
                    p.display()
                ))
            })?;
            if let Some(list) = p.no_proxy() {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(list));
            }
            builder = builder.proxy(proxy);
        }
        for (host, ips) in net.resolve_overrides() {
            let addrs: Vec<_> = ips.iter().map(|ip| (*ip, 0).into()).collect();
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        let client = builder.build().map_err(|e| ImError::Internal {
            detail: format!("building the HTTP client: {}", chain(&e)),
        })?;
        Ok(ApiClient {
            base,
            client,
            net: net.clone(),
            timeout,
        })
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
        let call = self.exchange(path, token, operation_id, json);
        let bytes = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| self.timed_out(path))??;
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

    fn timed_out(&self, path: &str) -> ImError {
        ImError::timeout(format!(
            "{path}: no answer within {} ms",
            self.timeout.as_millis()
        ))
    }

    /// Text of a library error, with no URL, token or proxy credentials in it.
    fn describe(&self, token: &Token, e: reqwest::Error) -> String {
        let e = e.without_url();
        let text = token.scrub(&chain(&e));
        match self.net.proxy() {
            Some(p) => p.scrub(&text),
            None => text,
        }
    }

    /// One request and its body, read within [`MAX_BODY_BYTES`].
    async fn exchange(
        &self,
        path: &str,
        token: &Token,
        operation_id: &str,
        json: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        let mut token_header = HeaderValue::from_str(token.expose())
            .map_err(|_| ImError::invalid("token is not a valid HTTP header value"))?;
        token_header.set_sensitive(true);
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                self.timed_out(path)
            } else {
                ImError::network(format!("{path}: {}", self.describe(token, e)))
            }
        };
        let mut response = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/json")
            // The session's answers are a few hundred bytes: gzip would make them
            // bigger and cost both ends ~0.1 ms each (measured on the login). A server
            // that gzips anyway is still understood.
            .header(header::ACCEPT_ENCODING, "identity")
            .header("operationID", operation_id)
            .header("token", token_header)
            .body(json)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ImError::network(format!(
                "{path} answered HTTP {} (a redirect; redirects are not followed: \
                 point api_addr at the final address)",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(ImError::network(format!(
                "{path} answered HTTP {}",
                status.as_u16()
            )));
        }
        let too_large = || ImError::Protocol {
            protocol_code: codes::DECODE,
            detail: format!("{path} answered a body over the {MAX_BODY_BYTES}-byte limit"),
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
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

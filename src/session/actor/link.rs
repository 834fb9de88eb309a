//! The gateway link: dialing, waiting out the backoff, the live connection and what
//! it reports, and the redial rules (first redial at once, flap guard, network down).

use super::*;

/// The gateway link.
pub(super) enum Link {
    Down,
    Dialing(BoxFuture<std::result::Result<WsStream, DialError>>),
    Waiting(Pin<Box<Sleep>>),
    Up(Box<Connection>),
}

impl Actor {
    pub(super) fn dial(&mut self, operation_id: String) {
        let Some(creds) = self.creds() else { return };
        let target = dial_target(
            &self.cfg.ws_addr,
            &DialParams {
                user_id: &creds.user_id,
                token: creds.token.expose(),
                platform_id: self.cfg.platform.id(),
                operation_id: &operation_id,
                is_background: self.background,
                compression: self.cfg.compression,
            },
        );
        let ws_addr = self.cfg.ws_addr.clone();
        let net = self.net.clone();
        let timeout = self.cfg.request_timeout;
        log::debug!("dialing {} (operationID {operation_id})", self.cfg.ws_addr);
        self.link = Link::Dialing(Box::pin(async move {
            ws::dial(&target, &ws_addr, &net, timeout).await
        }));
    }

    pub(super) fn redial(&mut self, reason: StateReason) {
        self.publish(ConnectionState::Connecting, reason);
        self.emit(Event::Connecting);
        self.dial(ids::operation_id());
    }

    pub(super) fn dial_error(&self, e: DialError) -> Error {
        let scrub = |s: &str| match self.creds() {
            Some(c) => c.token.scrub(s),
            None => s.to_owned(),
        };
        match e {
            DialError::Refused(r) => Error::from_server(r.err_code, scrub(&r.text())),
            DialError::HttpStatus(status) => Error::Server {
                code: i32::from(status),
                detail: format!("the gateway answered HTTP {status} instead of upgrading"),
            },
            DialError::Network(d) => Error::network(scrub(&d)),
            DialError::Timeout => Error::timeout(format!(
                "the dial did not complete within {} ms",
                self.cfg.request_timeout.as_millis()
            )),
        }
    }

    pub(super) async fn on_connected(&mut self, ws: WsStream) {
        let Some(creds) = self.creds() else { return };
        let user_id = creds.user_id.clone();
        let timing = Timing {
            heartbeat: self.cfg.heartbeat_interval,
            dead_after: self.cfg.dead_connection_timeout,
            request_timeout: self.cfg.request_timeout,
        };
        let mut conn = Box::new(Connection::new(ws, &user_id, self.cfg.compression, timing));
        let sent = after_connect(&mut conn, &user_id, self.background).await;
        self.link = Link::Up(conn);
        if let Err(e) = sent {
            self.on_lost(e);
            return;
        }
        match &mut self.phase {
            Phase::LoggingIn(attempt) => {
                let api = self.api.clone();
                let token = attempt.creds.token.clone();
                let op = attempt.operation_id.clone();
                attempt.fetch = Some(Box::pin(async move {
                    api.get_self_info(&user_id, &token, &op).await
                }));
            }
            Phase::LoggedIn(_) => {
                log::info!("reconnected");
                // The backoff is reset only once this connection proves stable (see on_lost).
                self.publish(ConnectionState::Connected, StateReason::Reconnected);
                self.emit(Event::ConnectSuccess);
            }
            Phase::LoggedOut => self.link = Link::Down,
        }
    }

    /// A dial failed, or a connection died before the login finished.
    pub(super) fn on_attempt_failed(&mut self, err: Error) {
        log::info!("connect attempt failed: {err}");
        self.link = Link::Down;
        self.emit(Event::ConnectFailed {
            code: err.code(),
            detail: err.to_string(),
        });
        match &mut self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(attempt) => {
                // The user-info call belonged to the connection that just failed.
                attempt.fetch = None;
                if err.is_token_error() {
                    return self.fail_login(err);
                }
                let delay = self.backoff.next_delay(fastrand::f64());
                let remaining = attempt
                    .deadline
                    .deadline()
                    .saturating_duration_since(tokio::time::Instant::now());
                if delay >= remaining {
                    return self.fail_login(err);
                }
                attempt.last_error = Some(err);
                self.wait(delay, StateReason::DialFailed);
            }
            Phase::LoggedIn(_) => {
                if err.is_token_error() {
                    return self.end_by_server(err);
                }
                if !self.network_available {
                    return self.publish(
                        ConnectionState::Disconnected,
                        StateReason::NetworkUnavailable,
                    );
                }
                let delay = self.backoff.next_delay(fastrand::f64());
                self.wait(delay, StateReason::DialFailed);
            }
        }
    }

    pub(super) fn wait(&mut self, delay: Duration, reason: StateReason) {
        self.link = Link::Waiting(Box::pin(tokio::time::sleep(delay)));
        self.publish(
            ConnectionState::WaitingToReconnect {
                attempt: self.backoff.failures(),
                retry_in_ms: delay.as_millis() as u64,
            },
            reason,
        );
    }

    /// The live connection ended.
    pub(super) fn on_lost(&mut self, why: String) {
        let why = match self.creds() {
            Some(c) => c.token.scrub(&why),
            None => why,
        };
        log::info!("connection lost: {why}");
        let age = match &self.link {
            Link::Up(conn) => conn.age(),
            _ => Duration::ZERO,
        };
        self.link = Link::Down;
        match &self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(_) => self.on_attempt_failed(Error::network(why)),
            Phase::LoggedIn(_) => {
                if !self.network_available {
                    return self.publish(
                        ConnectionState::Disconnected,
                        StateReason::NetworkUnavailable,
                    );
                }
                // A connection that dies young counts as a failed attempt, so a server
                // that accepts and drops at once is not redialed in a tight loop.
                if age >= self.stable_after() {
                    self.backoff.reset();
                    self.redial(StateReason::ConnectionLost);
                } else {
                    let delay = self.backoff.next_delay(fastrand::f64());
                    self.wait(delay, StateReason::ConnectionLost);
                }
            }
        }
    }

    /// How long a connection must live before its loss earns an immediate redial.
    pub(super) fn stable_after(&self) -> Duration {
        self.cfg.reconnect_base * 2
    }

    pub(super) async fn on_conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Messages(msgs) => match &mut self.phase {
                Phase::LoggingIn(attempt) => attempt.held.extend(msgs),
                Phase::LoggedIn(_) => {
                    for m in msgs {
                        self.emit(Event::NewMessage(m));
                    }
                }
                Phase::LoggedOut => {}
            },
            ConnEvent::Kicked => {
                log::warn!("kicked offline by the server (2002)");
                let err = Error::TokenKicked {
                    detail: "another device logged in, or an admin forced a logout".into(),
                };
                match self.phase {
                    Phase::LoggingIn(_) => {
                        self.link = Link::Down;
                        self.emit(Event::ConnectFailed {
                            code: err.code(),
                            detail: err.to_string(),
                        });
                        self.fail_login(err);
                    }
                    _ => self.end_by_server(err),
                }
            }
            ConnEvent::Reply { kind, result } => match kind {
                ReqKind::NewestSeq => match result.map(|d| pb::GetMaxSeqResp::decode(&d[..])) {
                    Ok(Ok(seqs)) => {
                        log::debug!("newest seqs: {} conversations", seqs.max_seqs.len())
                    }
                    Ok(Err(e)) => log::warn!("undecodable GetNewestSeq reply: {e}"),
                    Err(e) => log::warn!("GetNewestSeq failed: {e}"),
                },
                ReqKind::Background(tx) => {
                    let _ = tx.send(result.map(|_| ()));
                }
                ReqKind::Logout => {}
            },
            ConnEvent::Lost(why) => self.on_lost(why),
        }
    }
}

/// The frames every new connection starts with: 1001 GetNewestSeq, and 2004 when
/// the app is in the background (the server resets the flag on every connect).
pub(super) async fn after_connect(
    conn: &mut Connection,
    user_id: &str,
    background: bool,
) -> std::result::Result<(), String> {
    let op = ids::operation_id();
    let seq = pb::GetMaxSeqReq {
        user_id: user_id.to_owned(),
    }
    .encode_to_vec();
    conn.request(ReqKind::NewestSeq, req::GET_NEWEST_SEQ, &op, &seq)
        .await?;
    if background {
        let (tx, _rx) = oneshot::channel();
        let bg = pb::SetAppBackgroundStatusReq {
            user_id: user_id.to_owned(),
            is_background: true,
        }
        .encode_to_vec();
        conn.request(ReqKind::Background(tx), req::SET_BACKGROUND, &op, &bg)
            .await?;
    }
    Ok(())
}

pub(super) async fn link_input(link: &mut Link) -> Input {
    match link {
        Link::Down => std::future::pending().await,
        Link::Dialing(fut) => Input::Dialed(fut.await),
        Link::Waiting(sleep) => {
            sleep.await;
            Input::RetryDue
        }
        Link::Up(conn) => Input::Conn(conn.next_event().await),
    }
}

//! Logging in: the attempt (dial, then `/user/get_users_info`) inside the login
//! timeout, and how it ends — logged in, or failed with the error the caller gets.

use super::*;

/// A login that has not finished yet.
pub(super) struct LoginAttempt {
    pub(super) creds: Creds,
    pub(super) ticket: u64,
    pub(super) operation_id: String,
    pub(super) reply: oneshot::Sender<Result<UserInfo>>,
    pub(super) deadline: Pin<Box<Sleep>>,
    /// Why the last attempt failed, returned if the login runs out of time.
    pub(super) last_error: Option<Error>,
    /// `/user/get_users_info`, running once the gateway accepted the dial.
    pub(super) fetch: Option<BoxFuture<Result<UserInfo>>>,
    /// Messages pushed before the login finished, delivered right after connect_success.
    pub(super) held: Vec<Message>,
}

impl Actor {
    pub(super) fn start_login(
        &mut self,
        creds: Creds,
        operation_id: Option<String>,
        ticket: u64,
        reply: oneshot::Sender<Result<UserInfo>>,
    ) {
        log::info!("login of {:?} starts", creds.user_id);
        self.backoff.reset();
        let operation_id = operation_id.unwrap_or_else(ids::operation_id);
        self.phase = Phase::LoggingIn(Box::new(LoginAttempt {
            creds,
            ticket,
            operation_id: operation_id.clone(),
            reply,
            deadline: Box::pin(tokio::time::sleep(self.cfg.login_timeout)),
            last_error: None,
            fetch: None,
            held: Vec::new(),
        }));
        self.publish(ConnectionState::Connecting, StateReason::LoginStarted);
        self.emit(Event::Connecting);
        self.dial(operation_id);
    }

    pub(super) fn on_fetched(&mut self, result: Result<UserInfo>) {
        let Phase::LoggingIn(_) = &self.phase else {
            return;
        };
        let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) else {
            return;
        };
        match result {
            Ok(user) => {
                log::info!("logged in as {:?}", attempt.creds.user_id);
                self.phase = Phase::LoggedIn(Box::new(Active {
                    creds: attempt.creds,
                    user: user.clone(),
                }));
                self.publish(ConnectionState::Connected, StateReason::LoggedIn);
                self.emit(Event::ConnectSuccess);
                for m in attempt.held {
                    self.emit(Event::NewMessage(m));
                }
                let _ = attempt.reply.send(Ok(user));
            }
            Err(err) => {
                let err = scrub_error(err, &attempt.creds.token);
                self.phase = Phase::LoggingIn(attempt);
                self.link = Link::Down;
                self.emit(Event::ConnectFailed {
                    code: err.code(),
                    detail: err.to_string(),
                });
                self.fail_login(err);
            }
        }
    }

    pub(super) fn on_login_deadline(&mut self) {
        let in_flight = matches!(self.link, Link::Dialing(_) | Link::Up(_));
        let timeout = Error::timeout(format!(
            "login did not complete within {} ms",
            self.cfg.login_timeout.as_millis()
        ));
        if in_flight {
            self.emit(Event::ConnectFailed {
                code: timeout.code(),
                detail: timeout.to_string(),
            });
        }
        let err = match &mut self.phase {
            Phase::LoggingIn(a) if !in_flight => a.last_error.take().unwrap_or(timeout),
            _ => timeout,
        };
        self.fail_login(err);
    }

    /// The login failed: back to logged out, and the caller gets `err`.
    pub(super) fn fail_login(&mut self, err: Error) {
        self.link = Link::Down;
        if let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) {
            log::info!("login failed: {err}");
            self.publish(ConnectionState::Disconnected, StateReason::LoginFailed);
            let _ = attempt.reply.send(Err(err));
        }
    }
}

pub(super) fn scrub_error(err: Error, token: &Token) -> Error {
    match err {
        Error::Network { detail } => Error::network(token.scrub(&detail)),
        Error::Timeout { detail } => Error::timeout(token.scrub(&detail)),
        other => other,
    }
}

pub(super) async fn login_input(phase: &mut Phase) -> Input {
    let Phase::LoggingIn(attempt) = phase else {
        return std::future::pending().await;
    };
    let LoginAttempt {
        deadline, fetch, ..
    } = &mut **attempt;
    tokio::select! {
        _ = deadline.as_mut() => Input::LoginDeadline,
        r = async {
            match fetch {
                Some(f) => f.await,
                None => std::future::pending().await,
            }
        } => Input::Fetched(r),
    }
}

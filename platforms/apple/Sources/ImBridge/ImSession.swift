import Foundation

/// One imbridge session made idiomatic for Swift: `async` `login` / `logout`, the session state,
/// pushed messages and the OpenIM connection events as `AsyncStream`s, and opt-in lifecycle
/// bindings (`bindLogoutToAppTermination`, `bindAppBackground`, `bindNetworkPath`).
///
/// ```swift
/// let session = try ImSession(config: ImConfig(apiAddr: "https://im.example.com:10002",
///                                              wsAddr: "wss://im.example.com:10001",
///                                              platform: .ios))
/// Task { for await state in session.states { print(state.loginStatus) } }
/// let me = try await session.login(userId: "alice", token: token)
/// ```
///
/// Threading: every method may be called from any thread or actor; the `async` ones never
/// block the caller (imbridge runs them on its own threads). Stream values are produced per
/// `EventDelivery`, one at a time and in order.
///
/// Cancellation: Swift `Task` cancellation does not reach Rust, so `login` handles it itself
/// (see `login`). `logout` is not cancellable: it ends within `ImConfig.logoutTimeoutMs`.
///
/// Dropping the last reference ends the streams, cancels the bindings and frees the manager,
/// which logs out in the background (best effort).
public final class ImSession: @unchecked Sendable {
    // @unchecked: the stored properties are Sendable or behind a lock (`lifecycle`).

    /// The manager this session drives, for the calls not wrapped here. Its listener belongs to
    /// the session: do not replace it.
    public let manager: ImManager

    private let broadcaster: EventBroadcaster
    private let loginGate = LoginGate()
    private let lifecycle = Locked(LifecycleState())

    private struct LifecycleState {
        var isShutDown = false
        var bindings: [ImBinding] = []
    }

    /// Creates the manager (`ImManager(config:)` checks the config: a bad one throws
    /// `ImError.InvalidArgument` saying which field is wrong) and listens to it.
    public convenience init(config: ImConfig, delivery: EventDelivery = .immediate) throws {
        try self.init(manager: ImManager(config: config), delivery: delivery)
    }

    /// Wraps an existing manager and installs the session's listener on it.
    public init(manager: ImManager, delivery: EventDelivery = .immediate) {
        self.manager = manager
        broadcaster = EventBroadcaster(initial: manager.sessionState(), delivery: delivery)
        manager.setListener(listener: broadcaster)
    }

    deinit {
        for binding in lifecycle.withLock({ $0.bindings }) {
            binding.cancel()
        }
        manager.setListener(listener: nil)
        broadcaster.finish()
    }

    // MARK: state and streams

    /// The current state snapshot (read from imbridge; never blocks).
    public var state: SessionState { manager.sessionState() }

    public var loginStatus: LoginStatus { manager.loginStatus() }

    /// The user of the current or logging-in session.
    public var loginUserId: String? { manager.loginUserId() }

    public var connectionState: ConnectionState { manager.connectionState() }

    /// A new subscription to the session state: the latest published state first, then every
    /// change, `seq` strictly growing. Besides imbridge's own callbacks it gets the state read
    /// after `login` and `logout` return (an explicit logout silences the session, so imbridge
    /// itself does not report its final `loggedOut`). Ends after `shutdown()` (last value:
    /// `loggedOut`, reason `shutdown`) or when the session is freed. Each access is a separate
    /// stream; a consumer more than 64 states behind skips to the newest.
    public var states: AsyncStream<SessionState> { broadcaster.states() }

    /// A new subscription to the messages pushed to the logged-in user from now on. None of a
    /// session arrives after its `logout()` returned. Unbounded buffer: none is dropped.
    public var messages: AsyncStream<Message> { broadcaster.messages() }

    /// A new subscription to the OpenIM connection callbacks from now on, in order.
    public var connectionEvents: AsyncStream<ConnectionEvent> { broadcaster.connectionEvents() }

    // MARK: commands

    /// Logs in (the session contract in the README): the same user already logged in → that user
    /// at once; another user → the current session logs out first; while another login runs →
    /// `ImError.LoginInProgress`.
    ///
    /// Cancelling the calling `Task` cancels the login: the session calls `logout()` (imbridge's
    /// way to end a pending login, which then fails with `LoginCancelled`), waits for it, and
    /// this call throws `CancellationError`. If the login had already succeeded when the
    /// cancellation arrived, the session is logged out again, so a cancelled login never leaves a
    /// session behind. A login ended by somebody else's `logout()` throws `ImError.LoginCancelled`.
    /// Repeating the login of the user already logged in is not undone by a cancellation.
    ///
    /// - Throws: `ImError` (`TokenExpired`, `TokenInvalid`, `TokenKicked`, `Network`, `Timeout`,
    ///   `InvalidArgument`, `LoginInProgress`, `LoginCancelled`, `Shutdown`, …) or
    ///   `CancellationError`.
    public func login(userId: String, token: String, operationId: String? = nil) async throws -> UserInfo {
        let manager = self.manager
        defer { refreshState() }
        if manager.loginStatus() == .loggedIn, manager.loginUserId() == userId {
            // imbridge answers at once and redoes nothing: there is nothing to cancel.
            return try await manager.login(userId: userId, token: token, operationId: operationId)
        }
        guard let ticket = loginGate.begin() else {
            // Another login call of this session runs: imbridge says LoginInProgress at once.
            return try await manager.login(userId: userId, token: token, operationId: operationId)
        }
        defer { loginGate.end(ticket) }
        try Task.checkCancellation()

        let gate = loginGate
        let outcome: Result<UserInfo, Error>
        do {
            let user = try await withTaskCancellationHandler {
                try await manager.login(userId: userId, token: token, operationId: operationId)
            } onCancel: {
                gate.cancel(ticket) {
                    Task {
                        _ = try? await manager.logout(operationId: nil)
                    }
                }
            }
            outcome = .success(user)
        } catch {
            outcome = .failure(error)
        }
        guard Task.isCancelled else {
            return try outcome.get()
        }
        // Cancelled. The logout started by the handler may have reached imbridge before the
        // login did (then the login went on), or the login may have won the race: either way,
        // end what is left, then report the cancellation.
        await gate.cancellingLogout(ticket)?.value
        if case .success = outcome {
            _ = try? await manager.logout(operationId: nil)
        }
        broadcaster.silence()
        throw CancellationError()
    }

    /// Logs out; idempotent, and a no-op after `shutdown()`. When it returns, nothing more of
    /// the ended session is yielded and `states` has yielded (or queued, with `.mainActor`) the
    /// `loggedOut` state.
    public func logout(operationId: String? = nil) async throws {
        if lifecycle.withLock({ $0.isShutDown }) { return }
        try await manager.logout(operationId: operationId)
        didLogOut()
    }

    /// Tells the server whether the app is in the background (OpenIM 2004); imbridge also uses it
    /// on its next dials. Returning to the foreground redials at once if it was waiting to.
    /// `bindAppBackground()` does this for you.
    public func setAppBackground(_ background: Bool) async throws {
        try await manager.setAppBackground(background: background)
    }

    /// The device's network came (`true`: redial now, backoff reset) or went (`false`: stop
    /// dialing). `bindNetworkPath()` does this for you.
    public func networkChanged(available: Bool) throws {
        try manager.networkChanged(available: available)
    }

    /// Stops the session for good: cancels the bindings, shuts the manager down (it logs out in
    /// the background, best effort; later calls throw `ImError.Shutdown`), yields a last
    /// `loggedOut` / `shutdown` state and ends the streams. Never blocks. Idempotent.
    public func shutdown() {
        let bindings = lifecycle.withLock { s -> [ImBinding]? in
            guard !s.isShutDown else { return nil }
            s.isShutDown = true
            defer { s.bindings = [] }
            return s.bindings
        }
        guard let bindings else { return }
        for binding in bindings {
            binding.cancel()
        }
        manager.shutdown()
        broadcaster.silence()
        let last = manager.sessionState()
        if last.loginStatus == .loggedOut, last.reason == .shutdown {
            broadcaster.publish(last)
        } else {
            broadcaster.publish(SessionState(
                loginStatus: .loggedOut,
                connection: .disconnected,
                userId: nil,
                reason: .shutdown,
                seq: last.seq + 1
            ))
        }
        broadcaster.finish()
    }

    // MARK: for the bindings

    /// Keeps `binding` until `shutdown()` or deinit; cancels it at once if already shut down.
    func keep(_ binding: ImBinding) -> ImBinding {
        let kept = lifecycle.withLock { s -> Bool in
            guard !s.isShutDown else { return false }
            s.bindings.append(binding)
            return true
        }
        if !kept {
            binding.cancel()
        }
        return binding
    }

    /// After an explicit logout returned: drops what is still queued of the ended session and
    /// publishes the `loggedOut` state imbridge no longer reports.
    func didLogOut() {
        broadcaster.silence()
        refreshState()
    }

    /// Publishes the current state into `states` (ignored if not newer than the last one).
    func refreshState() {
        if lifecycle.withLock({ $0.isShutDown }) { return }
        broadcaster.publish(manager.sessionState())
    }
}

import Foundation

/// One imbridge session made idiomatic for Swift: `async` `login` / `logout`, the session state,
/// the messages one by one and every `ImEvent` as `AsyncStream`s, offline reads of the local
/// store, and opt-in lifecycle bindings (`bindLogoutToAppTermination`, `bindAppBackground`,
/// `bindNetworkPath`).
///
/// ```swift
/// initLogging(level: .info)   // once per process; without it imbridge logs nothing
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
/// Dropping the last reference ends the streams, cancels the bindings and frees the manager,
/// which logs out in the background (best effort).
public final class ImSession: @unchecked Sendable {
    // @unchecked: the stored properties are Sendable or behind a lock (`lifecycle`).

    /// The manager this session drives, for the calls not wrapped here. Its listener belongs to
    /// the session: do not replace it.
    public let manager: ImManager

    /// Where the local store lives (`ImConfig.dataDir`); nil: in memory, for the manager's life.
    public let dataDir: String?

    private let broadcaster: EventBroadcaster
    private let lifecycle = Locked(LifecycleState())

    private struct LifecycleState {
        var isShutDown = false
        var bindings: [ImBinding] = []
    }

    /// Creates the manager and listens to it. `ImManager(config:)` checks the config: a bad one
    /// throws `ImError.InvalidArgument` saying which field is wrong.
    ///
    /// The local message store: `config.dataDir` when set; otherwise, with `persistent` (the
    /// default), `<Application Support>/imbridge` (`defaultDataDir()`, created if missing);
    /// with `persistent: false`, in memory (nothing survives the manager).
    public convenience init(config: ImConfig, delivery: EventDelivery = .immediate, persistent: Bool = true) throws {
        var config = config
        if config.dataDir == nil, persistent {
            config.dataDir = try Self.defaultDataDir()
        }
        try self.init(manager: ImManager(config: config), delivery: delivery, dataDir: config.dataDir)
    }

    /// Wraps an existing manager and installs the session's listener on it. `dataDir` is only
    /// reported back (`dataDir`): pass the one the manager's config has.
    public init(manager: ImManager, delivery: EventDelivery = .immediate, dataDir: String? = nil) {
        self.manager = manager
        self.dataDir = dataDir
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

    /// `<Application Support>/imbridge` of the user domain, created if missing (on Linux:
    /// `~/.local/share/imbridge`). Throws `ImError.Storage` when it cannot be made.
    public static func defaultDataDir() throws -> String {
        do {
            let support = try FileManager.default.url(
                for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true
            )
            let dir = support.appendingPathComponent("imbridge", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return dir.path
        } catch {
            throw ImError.Storage(detail: "cannot create the default data directory: \(error)")
        }
    }

    // MARK: state and streams

    /// The current state snapshot (read from imbridge; never blocks).
    public var state: SessionState { manager.sessionState() }

    public var loginStatus: LoginStatus { manager.loginStatus() }

    /// The user of the current or logging-in session.
    public var loginUserId: String? { manager.loginUserId() }

    public var connectionState: ConnectionState { manager.connectionState() }

    /// A new subscription to the session state: the latest published state first, then every
    /// change imbridge delivers, `seq` strictly growing (one seq names one state). Also gets the
    /// state read when `login` returns. After `logout()` its last value is the final state that
    /// `logout()` returned; after `shutdown()` the final `shutdown` state, and then it ends (also
    /// when the session is freed). A consumer more than 64 states behind skips to the newest.
    public var states: AsyncStream<SessionState> { broadcaster.states() }

    /// A new subscription to the messages delivered from now on, one by one, in order
    /// (imbridge delivers them in batches: `ImEvent.messages`). None of a session arrives after
    /// its `logout()` returned. Unbounded buffer: none is dropped.
    public var messages: AsyncStream<Message> { broadcaster.messages() }

    /// A new subscription to every `ImEvent` delivered from now on, in order: the connection
    /// callbacks, message batches, state changes and sync events. Switch with a `default:`
    /// branch: later versions add events. Unbounded buffer.
    public var events: AsyncStream<ImEvent> { broadcaster.events() }

    // MARK: commands

    /// Logs in (the session contract in the README): the same user already logged in → that user
    /// at once; another user → the current session logs out first; while another login runs →
    /// `ImError.LoginInProgress`.
    ///
    /// Cancelling the calling `Task` cancels the pending login through `manager.cancelLogin()`:
    /// the `loggedOut` / `loginCancelled` state is heard, and this call throws
    /// `CancellationError`. A login that had already finished when the task was cancelled stays
    /// logged in (the call still throws `CancellationError`); so does the repeated login of the
    /// user already logged in, which returns that user at once. A task cancelled before the call
    /// starts nothing. A login ended by somebody else's `logout()` throws `ImError.LoginCancelled`.
    /// (`cancelLogin()` has no ticket: it ends whichever login of the manager is pending, and a
    /// cancellation in the instant before imbridge has queued this login finds none.)
    ///
    /// - Throws: `ImError` (`TokenExpired`, `TokenInvalid`, `TokenKicked`, `Network`, `Timeout`,
    ///   `InvalidArgument`, `LoginInProgress`, `LoginCancelled`, `Storage`, `Shutdown`, …) or
    ///   `CancellationError`.
    public func login(userId: String, token: String, operationId: String? = nil) async throws -> UserInfo {
        let manager = self.manager
        let repeated = manager.loginStatus() == .loggedIn && manager.loginUserId() == userId
        if !repeated {
            try Task.checkCancellation()
        }
        let outcome: Result<UserInfo, Error>
        do {
            outcome = .success(try await withTaskCancellationHandler {
                try await manager.login(userId: userId, token: token, operationId: operationId)
            } onCancel: {
                // Ends the pending login (not undone if it has finished); after shutdown: nothing.
                try? manager.cancelLogin()
            })
        } catch {
            outcome = .failure(error)
        }
        if !lifecycle.withLock({ $0.isShutDown }) {
            // So that `states` reads loggedIn when this returns (hops included).
            broadcaster.publish(manager.sessionState())
            await broadcaster.flush()
        }
        if !repeated, Task.isCancelled {
            throw CancellationError()
        }
        return try outcome.get()
    }

    /// Logs out (idempotent) and returns imbridge's final state of the session (`loggedOut`, its
    /// own `seq`). That state is also the last value `states` yields for the session: when this
    /// returns it has been yielded (with `.mainActor` too) and nothing more of the ended session
    /// follows. After `shutdown()`: returns the final `shutdown` state. Not cancellable; it ends
    /// within `ImConfig.logoutTimeoutMs` (default 5 s).
    @discardableResult
    public func logout(operationId: String? = nil) async throws -> SessionState {
        if lifecycle.withLock({ $0.isShutDown }) { return manager.shutdown() }
        let last = try await manager.logout(operationId: operationId)
        await broadcaster.flush()
        return last
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

    // MARK: offline reads (the local store of the user whose login was last started)

    /// The cached conversation list, newest activity first. Readable from the moment `login` is
    /// called (also after it failed, with no network, and after `logout()`) until another user
    /// logs in; `ImError.NotLoggedIn` before any login or after `eraseLocalData` of that user.
    public func conversations() throws -> [Conversation] {
        try manager.conversations()
    }

    /// A conversation's stored messages, newest first: seqs below `beforeSeq` (from the newest
    /// when nil), at most `limit` (1–1000). To page back, pass the lowest seq of the last page.
    public func messages(conversationId: String, beforeSeq: Int64? = nil, limit: UInt32 = 50) throws -> [Message] {
        try manager.messages(conversationId: conversationId, beforeSeq: beforeSeq, limit: limit)
    }

    /// Deletes everything stored locally for `userId` (account removal, privacy). Refused with
    /// `ImError.InvalidArgument` while that user is logged in or logging in here.
    public func eraseLocalData(userId: String) async throws {
        try await manager.eraseLocalData(userId: userId)
    }

    /// Stops the session for good: cancels the bindings, shuts the manager down (it logs out in
    /// the background, best effort; later calls throw `ImError.Shutdown`) and returns its final
    /// state (`loggedOut`, reason `shutdown`, its own `seq`), which `states` yields last before
    /// every stream ends. Never blocks. Idempotent.
    @discardableResult
    public func shutdown() -> SessionState {
        let bindings = lifecycle.withLock { s -> [ImBinding]? in
            guard !s.isShutDown else { return nil }
            s.isShutDown = true
            defer { s.bindings = [] }
            return s.bindings
        }
        // Shutting down again returns the same final state: it never changes after shutdown.
        guard let bindings else { return manager.shutdown() }
        for binding in bindings {
            binding.cancel()
        }
        let last = manager.shutdown()
        broadcaster.publish(last)
        broadcaster.finish()
        return last
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
}

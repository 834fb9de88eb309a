import Foundation

/// The `ImListener` an `ImSession` installs: turns imbridge's callbacks into values of the
/// session's streams, either right on the imbridge thread that calls it or hopped, in order,
/// onto the main queue (`EventDelivery`).
///
/// It holds no reference to the manager or the session, so a forgotten session is still freed.
final class EventBroadcaster: ImListener, @unchecked Sendable {
    // @unchecked: every mutable field below is read and written with `lock` held. The lock is
    // recursive because finishing a stream runs its `onTermination` (which removes it) at once,
    // on the same thread. Values are yielded with the lock held, so two threads never interleave
    // their values; `yield` never blocks.
    private let lock = NSRecursiveLock()
    private let delivery: EventDelivery

    /// Bumped by `silence()`: hops queued before it are dropped.
    private var epoch: UInt64 = 0
    private var latest: SessionState
    private var finished = false
    private var nextID: UInt64 = 0
    private var stateStreams = StreamFanOut<SessionState>()
    private var messageStreams = StreamFanOut<Message>()
    private var eventStreams = StreamFanOut<ConnectionEvent>()

    /// States are snapshots: a consumer that falls this far behind skips to the newest ones.
    static let stateBufferSize = 64

    init(initial: SessionState, delivery: EventDelivery) {
        latest = initial
        self.delivery = delivery
    }

    // MARK: subscriptions

    /// A new stream of states: the latest published state first, then every newer one.
    func states() -> AsyncStream<SessionState> {
        AsyncStream(bufferingPolicy: .bufferingNewest(Self.stateBufferSize)) { continuation in
            self.locked {
                continuation.yield(self.latest)
                guard !self.finished else {
                    continuation.finish()
                    return
                }
                let id = self.makeID()
                self.stateStreams.add(id, continuation)
                continuation.onTermination = { [weak self] _ in
                    self?.removeStream(id)
                }
            }
        }
    }

    /// A new stream of the messages pushed from now on (unbounded: none is dropped).
    func messages() -> AsyncStream<Message> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            self.locked {
                guard !self.finished else {
                    continuation.finish()
                    return
                }
                let id = self.makeID()
                self.messageStreams.add(id, continuation)
                continuation.onTermination = { [weak self] _ in
                    self?.removeStream(id)
                }
            }
        }
    }

    /// A new stream of the connection events from now on (unbounded: none is dropped).
    func connectionEvents() -> AsyncStream<ConnectionEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            self.locked {
                guard !self.finished else {
                    continuation.finish()
                    return
                }
                let id = self.makeID()
                self.eventStreams.add(id, continuation)
                continuation.onTermination = { [weak self] _ in
                    self?.removeStream(id)
                }
            }
        }
    }

    // MARK: publishing (used by ImSession)

    /// Publishes `state` (in the delivery context) unless a state at least as new (`seq`) was
    /// published already, so the stream never goes back, whoever publishes first.
    func publish(_ state: SessionState) {
        deliver { $0.publishNow(state) }
    }

    /// Called once `logout()` (or `shutdown()`) has returned: imbridge calls nothing more for
    /// that session, and values of it still queued for the main queue are dropped too.
    func silence() {
        locked { epoch &+= 1 }
    }

    /// Ends every stream, after the values already queued for them. Nothing is published later.
    func finish() {
        deliver(evenIfSilenced: true) { broadcaster in
            broadcaster.finished = true
            // Taken out first, finished after: each finish() runs that stream's onTermination
            // (removeStream) right here, which must not happen inside a mutating access to the
            // same property (StreamFanOut.removeAll).
            let states = broadcaster.stateStreams.removeAll()
            let messages = broadcaster.messageStreams.removeAll()
            let events = broadcaster.eventStreams.removeAll()
            states.forEach { $0.finish() }
            messages.forEach { $0.finish() }
            events.forEach { $0.finish() }
        }
    }

    // MARK: ImListener (called by imbridge, one call at a time, in order)

    func onConnecting() {
        deliver { $0.eventStreams.yield(.connecting) }
    }

    func onConnectSuccess() {
        deliver { $0.eventStreams.yield(.connectSuccess) }
    }

    func onConnectFailed(code: Int32, errorText: String) {
        deliver { $0.eventStreams.yield(.connectFailed(code: code, errorText: errorText)) }
    }

    func onKickedOffline() {
        deliver { $0.eventStreams.yield(.kickedOffline) }
    }

    func onUserTokenExpired() {
        deliver { $0.eventStreams.yield(.userTokenExpired) }
    }

    func onUserTokenInvalid(errorText: String) {
        deliver { $0.eventStreams.yield(.userTokenInvalid(errorText: errorText)) }
    }

    func onRecvNewMessage(message: Message) {
        deliver { $0.messageStreams.yield(message) }
    }

    func onSessionStateChanged(state: SessionState) {
        deliver { $0.publishNow(state) }
    }

    // MARK: internals

    /// Runs `work` with the lock held: now (`.immediate`), or later on the main queue
    /// (`.mainActor`) unless `silence()` was called in between (or `evenIfSilenced`). The main
    /// queue is serial and FIFO, so hops keep their order. Nothing runs once finished.
    private func deliver(
        evenIfSilenced: Bool = false,
        _ work: @escaping @Sendable (EventBroadcaster) -> Void
    ) {
        switch delivery {
        case .immediate:
            locked {
                guard !finished else { return }
                work(self)
            }
        case .mainActor:
            let stamp = locked { epoch }
            DispatchQueue.main.async {
                self.locked {
                    guard !self.finished, evenIfSilenced || stamp == self.epoch else { return }
                    work(self)
                }
            }
        }
    }

    /// Lock held.
    private func publishNow(_ state: SessionState) {
        guard state.seq > latest.seq else { return }
        latest = state
        stateStreams.yield(state)
    }

    /// A consumer stopped listening (or its stream was finished). IDs are unique across the
    /// three kinds, so removing from all of them is exact.
    private func removeStream(_ id: UInt64) {
        locked {
            stateStreams.remove(id)
            messageStreams.remove(id)
            eventStreams.remove(id)
        }
    }

    /// Lock held.
    private func makeID() -> UInt64 {
        nextID &+= 1
        return nextID
    }

    private func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

import Foundation

/// The `ImListener` an `ImSession` installs: turns each `ImEvent` into values of the session's
/// streams, either right on the imbridge thread that calls it or hopped, in order, onto the main
/// queue (`EventDelivery`). Silencing an ended session is imbridge's job: this only forwards.
///
/// It holds no reference to the manager or the session, so a forgotten session is still freed.
final class EventBroadcaster: ImListener, @unchecked Sendable {
    // @unchecked: every mutable field below is read and written with `lock` held. The lock is
    // recursive because finishing a stream runs its `onTermination` (which removes it) at once,
    // on the same thread. Values are yielded with the lock held, so two threads never interleave
    // their values; `yield` never blocks.
    private let lock = NSRecursiveLock()
    private let delivery: EventDelivery

    private var latest: SessionState
    private var finished = false
    private var nextID: UInt64 = 0
    private var stateStreams = StreamFanOut<SessionState>()
    private var messageStreams = StreamFanOut<Message>()
    private var eventStreams = StreamFanOut<ImEvent>()

    /// States are snapshots: a consumer that falls this far behind skips to the newest ones.
    static let stateBufferSize = 64

    init(initial: SessionState, delivery: EventDelivery) {
        latest = initial
        self.delivery = delivery
    }

    // MARK: subscriptions

    /// A new stream of states: the latest published state first, then every newer one.
    func states() -> AsyncStream<SessionState> {
        subscribe(\.stateStreams, .bufferingNewest(Self.stateBufferSize)) { $0.yield(self.latest) }
    }

    /// A new stream of the messages delivered from now on, one by one (unbounded).
    func messages() -> AsyncStream<Message> {
        subscribe(\.messageStreams, .unbounded)
    }

    /// A new stream of every event delivered from now on (unbounded).
    func events() -> AsyncStream<ImEvent> {
        subscribe(\.eventStreams, .unbounded)
    }

    // MARK: publishing (used by ImSession)

    /// Publishes a state imbridge returned (in the delivery context), unless one at least as new
    /// (`seq`) was published already: the stream never goes back, whoever publishes first.
    func publish(_ state: SessionState) {
        deliver { $0.publishNow(state) }
    }

    /// Returns once everything delivered to this listener so far has reached the streams: with
    /// `.mainActor`, once a marker queued behind the hops has run on the main queue.
    func flush() async {
        guard delivery == .mainActor else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.main.async { done.resume() }
        }
    }

    /// Ends every stream, after the values already queued for them. Nothing is yielded later.
    func finish() {
        deliver { broadcaster in
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

    func onEvent(event: ImEvent) {
        deliver { broadcaster in
            switch event {
            case .stateChanged(let state):
                broadcaster.publishNow(state)
            case .messages(let messages):
                messages.forEach { broadcaster.messageStreams.yield($0) }
            default:
                break
            }
            broadcaster.eventStreams.yield(event)
        }
    }

    // MARK: internals

    /// Runs `work` with the lock held: now (`.immediate`), or later on the main queue
    /// (`.mainActor`; serial and FIFO, so hops keep their order). Nothing runs once finished.
    private func deliver(_ work: @escaping @Sendable (EventBroadcaster) -> Void) {
        let run: @Sendable () -> Void = {
            self.locked {
                guard !self.finished else { return }
                work(self)
            }
        }
        switch delivery {
        case .immediate: run()
        case .mainActor: DispatchQueue.main.async(execute: run)
        }
    }

    /// Lock held.
    private func publishNow(_ state: SessionState) {
        guard state.seq > latest.seq else { return }
        latest = state
        stateStreams.yield(state)
    }

    /// A new stream registered in `fanOut`; `first` runs on it before it is registered.
    private func subscribe<Element: Sendable>(
        _ fanOut: ReferenceWritableKeyPath<EventBroadcaster, StreamFanOut<Element>>,
        _ buffering: AsyncStream<Element>.Continuation.BufferingPolicy,
        first: (AsyncStream<Element>.Continuation) -> Void = { _ in }
    ) -> AsyncStream<Element> {
        AsyncStream(bufferingPolicy: buffering) { continuation in
            self.locked {
                first(continuation)
                guard !self.finished else {
                    continuation.finish()
                    return
                }
                nextID &+= 1
                let id = nextID
                self[keyPath: fanOut].add(id, continuation)
                continuation.onTermination = { [weak self] _ in
                    self?.removeStream(id)
                }
            }
        }
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

    private func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

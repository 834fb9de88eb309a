/// An opt-in lifecycle binding of an `ImSession`: `bindLogoutToAppTermination`,
/// `bindAppBackground`, `bindNetworkPath`.
///
/// The session keeps its bindings until it goes away (or `shutdown()`), so the result may be
/// ignored; `cancel()` ends one sooner. Thread-safe and idempotent.
public final class ImBinding: Sendable {
    private let undo: Locked<(@Sendable () -> Void)?>

    init(_ undo: @escaping @Sendable () -> Void) {
        self.undo = Locked(undo)
    }

    /// Stops observing. Safe to call any number of times, from any thread.
    public func cancel() {
        let undo = self.undo.withLock { slot -> (@Sendable () -> Void)? in
            defer { slot = nil }
            return slot
        }
        undo?()
    }

    /// True once `cancel()` ran (by you or by the session).
    public var isCancelled: Bool {
        undo.withLock { $0 == nil }
    }
}

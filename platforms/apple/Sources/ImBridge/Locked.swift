import Foundation

/// A value behind a lock. Every piece of shared mutable state of the Swift layer goes through
/// one, which is what makes the `@unchecked Sendable` types of this module safe.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with the lock held. `body` must not block, and must not call back into
    /// anything that takes the same lock.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Carries a value that is not `Sendable` (an observer token, a path monitor) into a
/// `@Sendable` closure. Only for values that are safe to use from any thread.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// The open `AsyncStream`s of one kind of value: each subscriber gets its own stream (an
/// `AsyncStream` must not be iterated by two tasks at once), and every value goes to all of them.
/// Not thread-safe by itself: `EventBroadcaster` uses it under its lock.
struct StreamFanOut<Element: Sendable> {
    private var continuations: [UInt64: AsyncStream<Element>.Continuation] = [:]

    mutating func add(_ id: UInt64, _ continuation: AsyncStream<Element>.Continuation) {
        continuations[id] = continuation
    }

    mutating func remove(_ id: UInt64) {
        continuations[id] = nil
    }

    func yield(_ value: Element) {
        for continuation in continuations.values {
            continuation.yield(value)
        }
    }

    /// Removes every stream and returns them, for the caller to `finish()` once this access has
    /// ended: finishing runs a stream's `onTermination` at once, which removes it from here
    /// again, and that nested access to the same `StreamFanOut` would trap (Swift's exclusivity
    /// check: "Simultaneous accesses … Fatal access conflict detected").
    mutating func removeAll() -> [AsyncStream<Element>.Continuation] {
        defer { continuations = [:] }
        return Array(continuations.values)
    }
}

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

    /// Ends every stream (their `for await` loops finish after the values already buffered).
    mutating func finishAll() {
        let all = continuations.values
        continuations = [:]
        for continuation in all {
            continuation.finish()
        }
    }
}

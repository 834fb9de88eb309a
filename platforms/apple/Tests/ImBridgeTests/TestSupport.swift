import Foundation
import XCTest
import ImBridge

/// A test failure with a message (thrown, so `XCTAssertNoThrow`-free tests read straight).
struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Waits for the first value of `stream` that satisfies `predicate`, at most `timeout` seconds.
/// No test sleeps to wait for something: each waits on a value like this.
func firstValue<T: Sendable>(
    of stream: AsyncStream<T>,
    timeout: TimeInterval = 10,
    _ what: String,
    where predicate: @escaping @Sendable (T) -> Bool = { _ in true }
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await value in stream where predicate(value) {
                return value
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestFailure("timed out (or the stream ended) waiting for \(what)")
        }
        return value
    }
}

/// Collects the values of `stream` until one satisfies `last` (included), at most `timeout` seconds.
func values<T: Sendable>(
    of stream: AsyncStream<T>,
    timeout: TimeInterval = 10,
    _ what: String,
    until last: @escaping @Sendable (T) -> Bool
) async throws -> [T] {
    try await withThrowingTaskGroup(of: [T]?.self) { group in
        group.addTask {
            var seen: [T] = []
            for await value in stream {
                seen.append(value)
                if last(value) { return seen }
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let collected = first else {
            throw TestFailure("timed out (or the stream ended) waiting for \(what)")
        }
        return collected
    }
}

/// Collects the values of `stream` until it ends, at most `timeout` seconds.
func remainingValues<T: Sendable>(
    of stream: AsyncStream<T>,
    timeout: TimeInterval = 10,
    _ what: String
) async throws -> [T] {
    try await withThrowingTaskGroup(of: [T]?.self) { group in
        group.addTask {
            var seen: [T] = []
            for await value in stream {
                seen.append(value)
            }
            return seen
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let collected = first else {
            throw TestFailure("timed out waiting for the end of \(what)")
        }
        return collected
    }
}

/// `initLogging` once per process, as an app does: errors to stderr (the warnings of syncs cut
/// short by a test's shutdown would drown the XCTest output).
let enableTestLogging: Void = initLogging(level: .error)

/// The OpenIM connection callbacks among the events (no state changes, batches or syncs).
extension ImEvent {
    var isConnectionEvent: Bool {
        switch self {
        case .connecting, .connectSuccess, .connectFailed, .kickedOffline, .userTokenExpired, .userTokenInvalid:
            return true
        default:
            return false
        }
    }
}

/// A user ID no other test uses.
func uniqueUser(_ prefix: String = "u") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

extension SessionState {
    var isLoggedOut: Bool { loginStatus == .loggedOut }
    var isLoggedIn: Bool { loginStatus == .loggedIn }
}

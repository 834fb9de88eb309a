import Foundation
import XCTest
import ImBridge

/// `shutdown()` and freeing a session end the streams that are still open. Ending a stream runs
/// its `onTermination` at once, which unsubscribes it: these pin that this happens outside the
/// access that takes the streams away (a nested access traps: "Simultaneous accesses").
/// No server needed: nothing logs in.
final class StreamEndTests: XCTestCase {
    private func makeSession() throws -> ImSession {
        _ = enableTestLogging
        return try ImSession(config: ImConfig(apiAddr: "http://127.0.0.1:10002", wsAddr: "ws://127.0.0.1:10001",
                                              platform: .osx), persistent: false)
    }

    func test_shutdown_ends_an_open_states_stream_with_the_shutdown_state() async throws {
        let session = try makeSession()
        let states = session.states
        let before = session.state

        let final = session.shutdown()

        let seen = try await remainingValues(of: states, "the states stream")
        XCTAssertEqual(seen, [before, final], "the state before, then the final one imbridge returned")
        XCTAssertEqual(final.reason, .shutdown)
        XCTAssertEqual(final.seq, before.seq + 1, "its own seq, the next one")
    }

    func test_shutdown_ends_several_open_streams_of_every_kind() async throws {
        let session = try makeSession()
        let states = (0..<3).map { _ in session.states }
        let messages = (0..<3).map { _ in session.messages }
        let events = (0..<3).map { _ in session.events }

        session.shutdown()

        for stream in states {
            let seen = try await remainingValues(of: stream, "a states stream")
            XCTAssertEqual(seen.last?.reason, .shutdown)
        }
        for stream in messages {
            let seen = try await remainingValues(of: stream, "a messages stream")
            XCTAssertEqual(seen.count, 0)
        }
        for stream in events {
            let seen = try await remainingValues(of: stream, "an events stream")
            Self.assertAtMostTheListenersSnapshot(seen)
        }
    }

    func test_shutdown_ends_a_stream_whose_consumer_is_waiting() async throws {
        let session = try makeSession()
        let states = session.states
        let received = AsyncStream<SessionState>.makeStream()
        let consumer = Task {
            var last: SessionState?
            for await state in states {
                last = state
                received.continuation.yield(state)
            }
            return last
        }
        // The consumer has its first state and waits for the next one.
        _ = try await firstValue(of: received.stream, "the consumer's first state")

        session.shutdown()

        let last = try await firstValue(of: Self.result(of: consumer), "the consumer's loop to end")
        XCTAssertEqual(last?.reason, .shutdown)
    }

    func test_freeing_a_session_ends_its_open_streams() async throws {
        weak var freed: ImSession?
        let (states, messages, events) = try {
            let session = try makeSession()
            freed = session
            return ([session.states, session.states], [session.messages, session.messages],
                    [session.events, session.events])
        }()

        XCTAssertNil(freed, "the last reference is gone")
        for stream in states {
            let seen = try await remainingValues(of: stream, "a states stream of a freed session")
            XCTAssertEqual(seen.first?.loginStatus, .loggedOut)
        }
        for stream in messages {
            let seen = try await remainingValues(of: stream, "a messages stream of a freed session")
            XCTAssertEqual(seen.count, 0)
        }
        for stream in events {
            let seen = try await remainingValues(of: stream, "an events stream of a freed session")
            Self.assertAtMostTheListenersSnapshot(seen)
        }
    }

    /// Nothing logged in: the only event a session can deliver is the state snapshot a new
    /// listener hears first (delivered asynchronously, so it may come after a subscription).
    private static func assertAtMostTheListenersSnapshot(
        _ seen: [ImEvent], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertLessThanOrEqual(seen.count, 1, "\(seen)", file: file, line: line)
        for event in seen {
            guard case .stateChanged(let state) = event, state.seq == 0, state.loginStatus == .loggedOut else {
                return XCTFail("unexpected event \(event)", file: file, line: line)
            }
        }
    }

    /// The value of `task`, as a one-value stream (so that waiting for it has a timeout).
    private static func result<T: Sendable>(of task: Task<T, Never>) -> AsyncStream<T> {
        AsyncStream { continuation in
            Task {
                continuation.yield(await task.value)
                continuation.finish()
            }
        }
    }
}

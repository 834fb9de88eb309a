// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// Connection events, delivered messages and session-ending events on the streams.
final class EventTests: GatewayTestCase {
    func test_login_streams_connecting_then_connect_success() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession()
        let events = session.events

        _ = try await session.login(userId: userId, token: token)

        let seen = try await values(of: events, "connectSuccess") { $0 == .connectSuccess }
        XCTAssertEqual(seen.filter(\.isConnectionEvent), [.connecting, .connectSuccess])
        XCTAssertTrue(seen.contains { if case .stateChanged = $0 { return true } else { return false } },
                      "state changes are events too: \(seen)")
    }

    func test_a_pushed_message_arrives_on_the_messages_stream() async throws {
        let (session, userId, _) = try await loggedInSession()
        let messages = session.messages

        try await gateway.sendText(to: userId, "hello from the gateway")

        let message = try await firstValue(of: messages, "the pushed message")
        XCTAssertEqual(message.text, "hello from the gateway")
        XCTAssertEqual(message.sendId, DevGateway.admin)
        XCTAssertEqual(message.recvId, userId)
        XCTAssertEqual(message.contentType, 101)
        XCTAssertEqual(message.sessionType, 1)
        XCTAssertFalse(message.serverMsgId.isEmpty)
        XCTAssertFalse(message.conversationId.isEmpty)
        XCTAssertGreaterThan(message.seq, 0)
    }

    func test_every_subscriber_gets_every_message_in_order() async throws {
        let (session, userId, _) = try await loggedInSession()
        let first = session.messages
        let second = session.messages

        for n in 1...3 {
            try await gateway.sendText(to: userId, "m\(n)")
        }

        for stream in [first, second] {
            let got = try await values(of: stream, "three messages") { $0.text == "m3" }
            XCTAssertEqual(got.map(\.text), ["m1", "m2", "m3"])
        }
    }

    func test_messages_pushed_while_connected_arrive_one_stream_item_each_in_order() async throws {
        let (session, userId, _) = try await loggedInSession()
        let messages = session.messages
        let events = session.events
        let texts = (1...20).map { "n\($0)" }

        for text in texts {
            try await gateway.sendText(to: userId, text)
        }

        let got = try await values(of: messages, "20 messages") { $0.text == "n20" }
        XCTAssertEqual(got.map(\.text), texts)
        let seqs = got.map(\.seq)
        XCTAssertEqual(seqs, Array(seqs[0]..<(seqs[0] + 20)), "consecutive seqs, in order")
        // The same messages as batches on `events`, flattened in the same order.
        let batches = try await values(of: events, "the batch with n20") {
            if case .messages(let batch) = $0 { return batch.contains { $0.text == "n20" } }
            return false
        }
        let flattened = batches.flatMap { event -> [Message] in
            if case .messages(let batch) = event { return batch }
            return []
        }
        XCTAssertEqual(flattened, got)
    }

    func test_a_kick_ends_the_session_with_kicked_offline_and_a_logged_out_state() async throws {
        let (session, userId, _) = try await loggedInSession()
        let events = session.events
        let states = session.states

        try await gateway.forceLogout(userId)

        _ = try await firstValue(of: events, "kickedOffline") { $0 == .kickedOffline }
        let state = try await firstValue(of: states, "the kicked state") { $0.isLoggedOut }
        XCTAssertEqual(state.reason, .kicked)
        XCTAssertEqual(session.loginStatus, .loggedOut)
    }

    func test_main_actor_delivery_keeps_the_order_and_the_silence_after_logout() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession(delivery: .mainActor)
        let events = session.events
        let states = session.states

        _ = try await session.login(userId: userId, token: token)
        let seen = try await values(of: events, "connectSuccess on the main queue") { $0 == .connectSuccess }
        XCTAssertEqual(seen.filter(\.isConnectionEvent), [.connecting, .connectSuccess])
        _ = try await firstValue(of: states, "loggedIn on the main queue") { $0.isLoggedIn }

        let messages = session.messages
        let last = try await session.logout()
        // logout() flushed the main-queue hops: the final state is already the latest one.
        let latest = try await firstValue(of: session.states, "the latest state")
        XCTAssertEqual(latest, last)
        let loggedOut = try await firstValue(of: states, "loggedOut on the main queue") { $0.isLoggedOut }
        XCTAssertEqual(loggedOut, last)
        XCTAssertEqual(loggedOut.reason, .loggedOut)

        // Logged out: a message to the user is not delivered to this session.
        try await gateway.sendText(to: userId, "after logout")
        session.shutdown()
        let after = try await remainingValues(of: messages, "the messages stream").map(\.text)
        XCTAssertEqual(after, [])
    }

    func test_main_actor_logout_returns_after_the_hops_queued_behind_a_busy_main_thread() async throws {
        let (session, _, _) = try await loggedInSession(delivery: .mainActor)
        _ = try await firstValue(of: session.states, "loggedIn on the main queue") { $0.isLoggedIn }
        let busy = AsyncStream<Void>.makeStream()
        // The main thread is busy (UI work) while imbridge delivers the logout's final state:
        // its hop waits in the main queue behind this block.
        DispatchQueue.main.async {
            busy.continuation.yield()
            Thread.sleep(forTimeInterval: 0.5)
        }
        _ = try await firstValue(of: busy.stream, "the main thread to be busy")

        let last = try await session.logout()

        // Read without hopping: the stream's first value is the latest state published.
        let latest = try await firstValue(of: session.states, "the latest state")
        XCTAssertEqual(latest, last, "logout() returned before its final state reached the streams")
    }
}
#endif

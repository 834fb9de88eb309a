// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// Login and logout through `ImSession` against the dev gateway.
final class LoginLogoutTests: GatewayTestCase {
    func test_a_new_session_streams_its_current_state_first() async throws {
        let session = try makeSession()
        let first = try await firstValue(of: session.states, "the first state")
        XCTAssertEqual(first.loginStatus, .loggedOut)
        XCTAssertEqual(first.connection, .disconnected)
        XCTAssertNil(first.userId)
        XCTAssertEqual(first, session.state)
    }

    func test_login_returns_the_user_and_the_state_reaches_logged_in() async throws {
        let userId = uniqueUser("alice")
        let token = try await gateway.registerUser(userId, nickname: "Alice")
        let session = try makeSession()
        let states = session.states

        let user = try await session.login(userId: userId, token: token)

        XCTAssertEqual(user.userId, userId)
        XCTAssertEqual(user.nickname, "Alice")
        XCTAssertEqual(session.loginStatus, .loggedIn)
        XCTAssertEqual(session.loginUserId, userId)
        XCTAssertEqual(session.connectionState, .connected)
        let loggedIn = try await firstValue(of: states, "the loggedIn state") { $0.isLoggedIn }
        XCTAssertEqual(loggedIn.userId, userId)
        XCTAssertEqual(loggedIn.connection, .connected)
    }

    func test_logout_publishes_logged_out_and_is_idempotent() async throws {
        let (session, _, _) = try await loggedInSession()
        let states = session.states

        try await session.logout()

        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertNil(session.loginUserId)
        // imbridge silences an explicitly ended session; the layer publishes the final state.
        let loggedOut = try await firstValue(of: states, "the loggedOut state") { $0.isLoggedOut }
        XCTAssertEqual(loggedOut.reason, .loggedOut)
        XCTAssertEqual(loggedOut.connection, .disconnected)

        try await session.logout()
        try await session.logout(operationId: "op-twice")
        XCTAssertEqual(session.loginStatus, .loggedOut)
    }

    func test_state_seq_only_grows_across_login_and_logout() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession()
        let states = session.states

        _ = try await session.login(userId: userId, token: token)
        try await session.logout()

        let seen = try await values(of: states, "login then logout") { $0.isLoggedOut && $0.reason == .loggedOut }
        let seqs = seen.map(\.seq)
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertEqual(Set(seqs).count, seqs.count, "no state twice: \(seen)")
        XCTAssertTrue(seen.contains { $0.isLoggedIn }, "\(seen)")
    }

    func test_repeating_the_login_of_the_logged_in_user_returns_it_at_once() async throws {
        let (session, userId, token) = try await loggedInSession()
        let before = session.state.seq

        let again = try await session.login(userId: userId, token: token)

        XCTAssertEqual(again.userId, userId)
        XCTAssertEqual(session.loginStatus, .loggedIn)
        XCTAssertEqual(session.state.seq, before, "nothing redone")
    }

    func test_login_as_another_user_switches_the_session() async throws {
        let (session, _, _) = try await loggedInSession()
        let bob = uniqueUser("bob")
        let bobToken = try await gateway.registerUser(bob)

        let user = try await session.login(userId: bob, token: bobToken)

        XCTAssertEqual(user.userId, bob)
        XCTAssertEqual(session.loginUserId, bob)
        XCTAssertEqual(session.loginStatus, .loggedIn)
    }

    func test_two_sessions_in_one_process_are_independent() async throws {
        let (first, firstUser, _) = try await loggedInSession()
        let (second, secondUser, _) = try await loggedInSession()

        try await first.logout()

        XCTAssertEqual(first.loginStatus, .loggedOut)
        XCTAssertEqual(second.loginStatus, .loggedIn)
        XCTAssertEqual(second.loginUserId, secondUser)
        XCTAssertNotEqual(firstUser, secondUser)
    }
}
#endif

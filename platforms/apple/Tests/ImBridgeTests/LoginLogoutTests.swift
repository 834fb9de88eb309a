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

        let last = try await session.logout()

        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertNil(session.loginUserId)
        // imbridge delivers the final state itself, as the ended session's last callback.
        let loggedOut = try await firstValue(of: states, "the loggedOut state") { $0.isLoggedOut }
        XCTAssertEqual(loggedOut, last)
        XCTAssertEqual(loggedOut.reason, .loggedOut)
        XCTAssertEqual(loggedOut.connection, .disconnected)

        let again = try await session.logout()
        let twice = try await session.logout(operationId: "op-twice")
        XCTAssertEqual(session.loginStatus, .loggedOut)
        // Each logout returns its own final state (a new seq), and it is the latest one.
        XCTAssertTrue(again.isLoggedOut && twice.isLoggedOut)
        XCTAssertGreaterThan(again.seq, last.seq)
        XCTAssertGreaterThan(twice.seq, again.seq)
        XCTAssertEqual(twice, session.state)
    }

    func test_logout_returns_the_final_state_which_is_the_last_state_with_a_seq_of_its_own() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession()
        let states = session.states
        _ = try await session.login(userId: userId, token: token)

        let last = try await session.logout()

        XCTAssertEqual(last.loginStatus, .loggedOut)
        XCTAssertEqual(last.reason, .loggedOut)
        XCTAssertNil(last.userId)
        XCTAssertEqual(last, session.state)
        // When logout() returned, the final state was the latest: a new stream starts with it.
        let latest = try await firstValue(of: session.states, "the latest state")
        XCTAssertEqual(latest, last)
        // Ending the streams: the final state is the last one of the session, then shutdown's.
        let final = session.shutdown()
        let seen = try await remainingValues(of: states, "the states stream")
        XCTAssertEqual(Array(seen.suffix(2)), [last, final], "\(seen)")
        XCTAssertTrue(seen.contains { $0.isLoggedIn }, "\(seen)")
        let seqs = seen.map(\.seq)
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertEqual(Set(seqs).count, seqs.count, "one seq names one state: \(seen)")
        XCTAssertEqual(seen.filter { $0.seq == last.seq }, [last])
    }

    func test_shutdown_returns_a_final_state_with_the_next_seq_and_it_is_the_last_state() async throws {
        let (session, _, _) = try await loggedInSession()
        let states = session.states
        let before = session.state
        XCTAssertTrue(before.isLoggedIn)

        let final = session.shutdown()

        XCTAssertEqual(final.loginStatus, .loggedOut)
        XCTAssertEqual(final.reason, .shutdown)
        XCTAssertEqual(final.seq, before.seq + 1)
        let seen = try await remainingValues(of: states, "the states stream")
        XCTAssertEqual(seen.last, final)
        XCTAssertEqual(seen.filter { $0.seq == final.seq }, [final])
        XCTAssertEqual(session.shutdown(), final, "idempotent")
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

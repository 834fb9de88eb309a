// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// Swift Task cancellation does not reach Rust; `ImSession.login` turns it into a logout.
/// Parks the current task until it is cancelled (the tests cancel it right after creating it),
/// so that what follows runs in an already cancelled task.
private func untilCancelled() async {
    while !Task.isCancelled {
        await Task.yield()
    }
}

final class CancellationTests: GatewayTestCase {
    /// A session whose gateway address refuses connections: its login stays pending (retried
    /// with backoff inside a 60 s login timeout) until something ends it.
    private func sessionWithAPendingLogin() async throws -> (ImSession, Task<UserInfo, Error>) {
        let config = ImConfig(
            apiAddr: gateway.apiAddr,
            wsAddr: "ws://127.0.0.1:1",
            platform: .osx,
            logLevel: .warn,
            loginTimeoutMs: 60_000
        )
        let session = try makeSession(config: config)
        let events = session.connectionEvents
        let login = Task { try await session.login(userId: uniqueUser(), token: "some-token") }
        _ = try await firstValue(of: events, "a failed dial") {
            if case .connectFailed = $0 { return true }
            return false
        }
        XCTAssertEqual(session.loginStatus, .loggingIn)
        return (session, login)
    }

    func test_cancelling_the_task_of_a_pending_login_logs_out_and_throws_cancellation() async throws {
        let (session, login) = try await sessionWithAPendingLogin()
        let started = Date()

        login.cancel()

        do {
            _ = try await login.value
            XCTFail("a cancelled login must throw")
        } catch is CancellationError {
            // expected
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "cancelled promptly, not at the login timeout")
        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertEqual(session.state.reason, .loginCancelled)
        let last = try await firstValue(of: session.states, "the loggedOut state")
        XCTAssertTrue(last.isLoggedOut)
    }

    func test_logout_while_logging_in_makes_the_login_fail_with_login_cancelled() async throws {
        let (session, login) = try await sessionWithAPendingLogin()

        try await session.logout()

        do {
            _ = try await login.value
            XCTFail("the login must fail")
        } catch ImError.LoginCancelled {
            XCTAssertEqual(ImError.LoginCancelled.code(), 19001)
        }
        XCTAssertEqual(session.loginStatus, .loggedOut)
    }

    func test_a_task_cancelled_before_its_login_starts_changes_nothing() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession()
        let before = session.state.seq

        let login = Task { () async throws -> UserInfo in
            await untilCancelled()
            return try await session.login(userId: userId, token: token)
        }
        login.cancel()

        do {
            _ = try await login.value
            XCTFail("a cancelled login must throw")
        } catch is CancellationError {
            // expected
        }
        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertEqual(session.state.seq, before)
    }

    func test_cancelling_a_repeated_login_of_the_logged_in_user_keeps_the_session() async throws {
        let (session, userId, token) = try await loggedInSession()

        let again = Task { () async throws -> UserInfo in
            await untilCancelled()
            return try await session.login(userId: userId, token: token)
        }
        again.cancel()

        let user = try await again.value
        XCTAssertEqual(user.userId, userId)
        XCTAssertEqual(session.loginStatus, .loggedIn)
    }

    func test_a_cancelled_second_login_leaves_the_pending_login_alone() async throws {
        let (session, first) = try await sessionWithAPendingLogin()

        let second = Task { () async throws -> UserInfo in
            await untilCancelled()
            return try await session.login(userId: uniqueUser(), token: "other-token")
        }
        second.cancel()
        do {
            _ = try await second.value
            XCTFail("a second login must fail")
        } catch ImError.LoginInProgress {
            // expected: the first login call owns the pending login
        } catch is CancellationError {
            // also fine
        }

        XCTAssertEqual(session.loginStatus, .loggingIn, "the first login goes on")
        first.cancel()
        _ = await first.result
        XCTAssertEqual(session.loginStatus, .loggedOut)
    }
}
#endif

// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// Parks the current task until it is cancelled (the tests cancel it right after creating it),
/// so that what follows runs in an already cancelled task.
private func untilCancelled() async {
    while !Task.isCancelled {
        await Task.yield()
    }
}

/// Swift `Task` cancellation of `ImSession.login` goes through `ImManager.cancelLogin()`.
final class CancellationTests: GatewayTestCase {
    private var silent: SilentPort?

    override func tearDown() {
        super.tearDown()
        silent = nil
    }

    /// A session whose login stays pending until something ends it: its gateway address either
    /// refuses connections (retried with backoff inside a 60 s login timeout: `connectFailed`
    /// events) or is a silent port (the upgrade waits 30 s for a reply that never comes).
    private func sessionWithAPendingLogin(
        silentGateway: Bool = false
    ) async throws -> (ImSession, Task<UserInfo, Error>) {
        var wsAddr = "ws://127.0.0.1:1"
        if silentGateway {
            let port = try SilentPort()
            silent = port
            wsAddr = port.wsAddr
        }
        let config = ImConfig(
            apiAddr: gateway.apiAddr,
            wsAddr: wsAddr,
            platform: .osx,
            loginTimeoutMs: 60_000,
            requestTimeoutMs: 30_000
        )
        let session = try makeSession(config: config)
        let events = session.events
        // A real token: the user-info call runs beside the dial and would end the login at
        // once with TokenInvalid for a made-up one.
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let login = Task { try await session.login(userId: userId, token: token) }
        _ = try await firstValue(of: events, silentGateway ? "a dial" : "a failed dial") {
            switch $0 {
            case .connecting: return silentGateway
            case .connectFailed: return true
            default: return false
            }
        }
        XCTAssertEqual(session.loginStatus, .loggingIn)
        return (session, login)
    }

    private func assertCancellingThePendingLogin(silentGateway: Bool) async throws {
        let (session, login) = try await sessionWithAPendingLogin(silentGateway: silentGateway)
        let states = session.states
        let started = Date()

        login.cancel()

        do {
            _ = try await login.value
            XCTFail("a cancelled login must throw")
        } catch is CancellationError {
            // expected
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "cancelled promptly, not at a timeout")
        // imbridge answers the login before it publishes the state: wait for the state heard.
        let heard = try await firstValue(of: states, "the loginCancelled state") { $0.isLoggedOut }
        XCTAssertEqual(heard.reason, .loginCancelled)
        XCTAssertEqual(heard, session.state, "the stream holds imbridge's own state")
        XCTAssertEqual(session.loginStatus, .loggedOut)

        // The manager is usable again: a new login starts (and is in turn ended by a logout).
        let events = session.events
        let nextUser = uniqueUser()
        let nextToken = try await gateway.registerUser(nextUser)
        let again = Task { try await session.login(userId: nextUser, token: nextToken) }
        _ = try await firstValue(of: events, "the next login's dial") { $0 == .connecting }
        XCTAssertEqual(session.loginStatus, .loggingIn)
        let last = try await session.logout()
        XCTAssertEqual(last.reason, .loginCancelled)
        do {
            _ = try await again.value
            XCTFail("the second login must fail")
        } catch ImError.LoginCancelled {
            // expected
        }
    }

    func test_cancelling_the_task_of_a_login_to_a_refusing_gateway_cancels_it() async throws {
        try await assertCancellingThePendingLogin(silentGateway: false)
    }

    func test_cancelling_the_task_of_a_login_to_a_silent_gateway_cancels_it() async throws {
        try await assertCancellingThePendingLogin(silentGateway: true)
    }

    func test_logout_while_logging_in_makes_the_login_fail_with_login_cancelled() async throws {
        let (session, login) = try await sessionWithAPendingLogin()

        let last = try await session.logout()

        do {
            _ = try await login.value
            XCTFail("the login must fail")
        } catch ImError.LoginCancelled {
            XCTAssertEqual(ImError.LoginCancelled.code(), 19001)
        }
        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertEqual(last.loginStatus, .loggedOut)
        XCTAssertEqual(last.reason, .loginCancelled)
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
            // also fine: the first login call owns the pending login
        } catch is CancellationError {
            // expected: a cancelled task starts no login
        }

        XCTAssertEqual(session.loginStatus, .loggingIn, "the first login goes on")
        let states = session.states
        first.cancel()
        _ = await first.result
        let heard = try await firstValue(of: states, "the loginCancelled state") { $0.isLoggedOut }
        XCTAssertEqual(heard.reason, .loginCancelled)
        XCTAssertEqual(session.loginStatus, .loggedOut)
    }
}
#endif

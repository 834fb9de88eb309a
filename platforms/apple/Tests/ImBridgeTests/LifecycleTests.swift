// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
#if canImport(AppKit)
import AppKit
#endif
import Foundation
import XCTest
import ImBridge

#if canImport(AppKit)
/// macOS: the app's own notifications, bound by the platform bindings.
private let willTerminate = willTerminate
private let didHide = didHide
private let didUnhide = didUnhide

private extension ImSession {
    @discardableResult
    func bindTermination(timeout: TimeInterval = 1) -> ImBinding { bindLogoutToAppTermination(timeout: timeout) }
    @discardableResult
    func bindHideUnhide() -> ImBinding { bindAppBackground() }
}
#else
/// No AppKit (Linux): stand-in names, bound through the same `bindLogout(to:)` and
/// `bindAppBackground(background:foreground:)` that the platform bindings call with AppKit's or
/// UIKit's names. Which names those are is checked on a Mac only.
private let willTerminate = Notification.Name("test.willTerminate")
private let didHide = Notification.Name("test.didHide")
private let didUnhide = Notification.Name("test.didUnhide")

private extension ImSession {
    @discardableResult
    func bindTermination(timeout: TimeInterval = 1) -> ImBinding { bindLogout(to: willTerminate, timeout: timeout) }
    @discardableResult
    func bindHideUnhide() -> ImBinding { bindAppBackground(background: didHide, foreground: didUnhide) }
}
#endif

/// The opt-in lifecycle bindings: logout at termination, background / foreground.
final class LifecycleTests: GatewayTestCase {
    /// Posts like AppKit does: on the main thread, observers run before `post` returns.
    private func post(_ name: Notification.Name) async {
        await MainActor.run {
            NotificationCenter.default.post(name: name, object: nil)
        }
    }

    func test_will_terminate_logs_out_before_the_notification_returns() async throws {
        let (session, _, _) = try await loggedInSession()
        let states = session.states
        session.bindTermination(timeout: 1)
        let started = Date()

        await post(willTerminate)

        XCTAssertEqual(session.loginStatus, .loggedOut, "logged out by the time the observers returned")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "bounded by the timeout")
        let state = try await firstValue(of: states, "the loggedOut state") { $0.isLoggedOut }
        XCTAssertEqual(state.reason, .loggedOut)
    }

    func test_without_the_binding_termination_changes_nothing() async throws {
        let (session, _, _) = try await loggedInSession()
        let binding = session.bindTermination()
        binding.cancel()
        XCTAssertTrue(binding.isCancelled)

        await post(willTerminate)

        XCTAssertEqual(session.loginStatus, .loggedIn)
    }

    func test_a_blocking_logout_that_cannot_finish_in_time_shuts_the_session_down() async throws {
        let (session, _, _) = try await loggedInSession()
        let states = session.states

        // A zero budget: the logout cannot be done yet, so the session shuts down instead
        // (imbridge finishes the logout in the background).
        let finished = await MainActor.run { session.logoutBlocking(timeout: 0) }

        if !finished {
            let seen = try await remainingValues(of: states, "the states stream")
            XCTAssertEqual(seen.last?.reason, .shutdown)
            do {
                _ = try await session.login(userId: uniqueUser(), token: "t")
                XCTFail("the session is shut down")
            } catch ImError.Shutdown {
                // expected
            }
        } else {
            XCTAssertEqual(session.loginStatus, .loggedOut)
        }
    }

    func test_hide_and_unhide_reach_imbridge_without_disturbing_the_session() async throws {
        let (session, userId, _) = try await loggedInSession()
        session.bindHideUnhide()
        let messages = session.messages

        await post(didHide)
        await post(didUnhide)
        await post(didHide)

        // Still logged in and connected: a message still arrives.
        try await gateway.sendText(to: userId, "while hidden")
        let message = try await firstValue(of: messages, "a message after the flips")
        XCTAssertEqual(message.text, "while hidden")
        XCTAssertEqual(session.loginStatus, .loggedIn)
    }

    func test_custom_background_notifications_are_applied_in_order() async throws {
        let (session, _, _) = try await loggedInSession()
        let background = Notification.Name("test.enterBackground")
        let foreground = Notification.Name("test.enterForeground")
        let binding = session.bindAppBackground(background: background, foreground: foreground)

        for _ in 0..<5 {
            await post(background)
            await post(foreground)
        }
        binding.cancel()

        XCTAssertTrue(binding.isCancelled)
        XCTAssertEqual(session.loginStatus, .loggedIn)
        XCTAssertEqual(session.connectionState, .connected)
    }

    func test_shutdown_cancels_the_bindings() async throws {
        let (session, _, _) = try await loggedInSession()
        // The platform bindings themselves (on Linux they observe nothing, but are kept and
        // cancelled the same way) and the stand-ins.
        #if canImport(Network)
        let network = [session.bindNetworkPath()]
        #else
        let network: [ImBinding] = [] // no Network framework (Linux)
        #endif
        let bindings = [
            session.bindLogoutToAppTermination(),
            session.bindAppBackground(),
            session.bindTermination(),
            session.bindHideUnhide(),
        ] + network

        session.shutdown()

        for (index, binding) in bindings.enumerated() {
            XCTAssertTrue(binding.isCancelled, "binding \(index)")
        }
        let late = session.bindAppBackground()
        XCTAssertTrue(late.isCancelled, "a binding made after shutdown is cancelled at once")
    }
}
#endif

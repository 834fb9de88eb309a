import Foundation
#if canImport(UIKit) && !os(watchOS)
import UIKit
#elseif canImport(AppKit)
import AppKit
#endif

extension ImSession {
    /// Opt-in: logs this session out when the app is about to terminate
    /// (`UIApplication.willTerminateNotification`; `NSApplication.willTerminateNotification` on
    /// macOS), waiting at most `timeout` seconds (see `logoutBlocking`).
    ///
    /// iOS sends `willTerminate` only to an app that runs (foreground, or background with work
    /// going on), not to a suspended app it kills: the server then notices the dead connection
    /// through its heartbeat deadline (about 30 s). Pair it with `bindAppBackground()`.
    ///
    /// - Returns: the binding; the session keeps it, `cancel()` unbinds.
    @discardableResult
    public func bindLogoutToAppTermination(timeout: TimeInterval = 1.0) -> ImBinding {
        #if canImport(UIKit) && !os(watchOS)
        return bindLogout(to: UIApplication.willTerminateNotification, timeout: timeout)
        #elseif canImport(AppKit)
        return bindLogout(to: NSApplication.willTerminateNotification, timeout: timeout)
        #else
        // No app lifecycle on this platform: nothing to observe.
        return keep(ImBinding {})
        #endif
    }

    /// Opt-in: logs this session out, waiting at most `timeout` seconds, whenever `notification`
    /// is posted (on the posting thread, before the post returns).
    @discardableResult
    public func bindLogout(to notification: Notification.Name, timeout: TimeInterval = 1.0) -> ImBinding {
        let undo = Self.observe(notification) { [weak self] _ in
            _ = self?.logoutBlocking(timeout: timeout)
        }
        return keep(ImBinding(undo))
    }

    /// Logs out and blocks the calling thread until it is done, or at most `timeout` seconds
    /// (capped at 3 s; iOS gives a terminating app about 5 s in all). If the logout is not done
    /// by then, `shutdown()` lets imbridge finish it in the background (best effort, short
    /// grace) and ends the session.
    ///
    /// For places that cannot `await`, like a termination handler on the main thread. Never call
    /// it from a Swift concurrency task: it would block one of the few cooperative threads that
    /// the logout itself needs. With `.mainActor` delivery called on the main thread, the values
    /// imbridge delivered before the logout returned (ending with its final state) are still
    /// queued there: they follow once the main thread is free again.
    ///
    /// - Returns: true when the logout finished in time.
    @discardableResult
    public func logoutBlocking(timeout: TimeInterval = 1.0) -> Bool {
        let manager = self.manager
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            _ = try? await manager.logout(operationId: nil)
            done.signal()
        }
        let bounded = min(max(timeout, 0), 3)
        if done.wait(timeout: .now() + bounded) == .success {
            return true
        }
        shutdown()
        return false
    }
}

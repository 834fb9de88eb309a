import Foundation
#if canImport(UIKit) && !os(watchOS)
import UIKit
#elseif canImport(AppKit)
import AppKit
#endif

extension ImSession {
    /// Opt-in: tells imbridge when the app goes to the background and comes back
    /// (`setAppBackground`, OpenIM 2004): `UIApplication.didEnterBackgroundNotification` /
    /// `willEnterForegroundNotification` on iOS; on macOS the app being hidden / unhidden
    /// (`NSApplication.didHideNotification` / `didUnhideNotification`). Back in the foreground,
    /// imbridge redials at once if it was waiting to reconnect.
    ///
    /// Bind it at launch: imbridge assumes the foreground until told otherwise. Rapid flips are
    /// applied one at a time, in order; the latest wins.
    ///
    /// - Returns: the binding; the session keeps it, `cancel()` unbinds.
    @discardableResult
    public func bindAppBackground() -> ImBinding {
        #if canImport(UIKit) && !os(watchOS)
        return bindAppBackground(
            background: UIApplication.didEnterBackgroundNotification,
            foreground: UIApplication.willEnterForegroundNotification
        )
        #elseif canImport(AppKit)
        return bindAppBackground(
            background: NSApplication.didHideNotification,
            foreground: NSApplication.didUnhideNotification
        )
        #else
        // No app lifecycle on this platform: nothing to observe.
        return keep(ImBinding {})
        #endif
    }

    /// The same, following any pair of notifications (a scene's, or your own).
    @discardableResult
    public func bindAppBackground(background: Notification.Name, foreground: Notification.Name) -> ImBinding {
        let applier = BackgroundApplier(manager: manager)
        let undoBackground = Self.observe(background) { _ in applier.want(true) }
        let undoForeground = Self.observe(foreground) { _ in applier.want(false) }
        return keep(ImBinding {
            undoBackground()
            undoForeground()
        })
    }
}

/// Applies the wanted background flag with one `setAppBackground` at a time, in order; flips
/// that come while one runs collapse into the latest.
final class BackgroundApplier: Sendable {
    private struct State {
        var wanted: Bool?
        var running = false
    }

    private let manager: ImManager
    private let state = Locked(State())

    init(manager: ImManager) {
        self.manager = manager
    }

    func want(_ background: Bool) {
        let start = state.withLock { s -> Bool in
            s.wanted = background
            guard !s.running else { return false }
            s.running = true
            return true
        }
        if start {
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while let background = next() {
            // Not connected, or shut down: imbridge still uses the flag on its next dial, or
            // there is nothing left to tell.
            _ = try? await manager.setAppBackground(background: background)
        }
    }

    private func next() -> Bool? {
        state.withLock { s -> Bool? in
            let wanted = s.wanted
            s.wanted = nil
            if wanted == nil {
                s.running = false
            }
            return wanted
        }
    }
}

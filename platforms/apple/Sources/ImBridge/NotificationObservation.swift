import Foundation

extension ImSession {
    /// Observes `name` on the default notification center. The handler runs synchronously on
    /// the thread that posts (`queue: nil`): a termination handler must finish its work before
    /// the app exits. Returns what removes the observer.
    static func observe(
        _ name: Notification.Name,
        _ handler: @escaping @Sendable (Notification) -> Void
    ) -> @Sendable () -> Void {
        let token = UncheckedSendable(
            value: NotificationCenter.default.addObserver(forName: name, object: nil, queue: nil, using: handler)
        )
        return { NotificationCenter.default.removeObserver(token.value) }
    }
}

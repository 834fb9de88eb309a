/// One OpenIM connection callback of `ImListener`, as a value (`ImSession.connectionEvents`).
///
/// Every `connecting` is followed by `connectSuccess` or `connectFailed`. `kickedOffline`,
/// `userTokenExpired` and `userTokenInvalid` end the session (it is already logged out when they
/// arrive, and the state stream hears the `loggedOut` state) and come at most once per session.
public enum ConnectionEvent: Sendable, Equatable, Hashable {
    /// A dial attempt starts (login, or a redial).
    case connecting
    /// The gateway accepted the connection (and, at login, the user was fetched).
    case connectSuccess
    /// One attempt failed: `code` is the server's errCode, or 10000 (network) / 10001 (timeout).
    case connectFailed(code: Int32, errorText: String)
    /// Another device (or an admin) took over; the session has been logged out.
    case kickedOffline
    /// The token expired; the session has been logged out.
    case userTokenExpired
    /// The server rejected the token; the session has been logged out.
    case userTokenInvalid(errorText: String)

    /// True for the events that end the session (kicked, token expired, token invalid).
    public var endsSession: Bool {
        switch self {
        case .kickedOffline, .userTokenExpired, .userTokenInvalid:
            return true
        case .connecting, .connectSuccess, .connectFailed:
            return false
        }
    }
}

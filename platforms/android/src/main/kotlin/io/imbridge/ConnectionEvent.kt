package io.imbridge

/**
 * One OpenIM connection callback of [ImListener], as a value ([ImSession.connectionEvents]).
 *
 * Every [Connecting] is followed by [ConnectSuccess] or [ConnectFailed]. [KickedOffline],
 * [UserTokenExpired] and [UserTokenInvalid] end the session (it is logged out when they
 * arrive) and come at most once per session.
 */
sealed class ConnectionEvent {
    /** A dial attempt starts (login, or a redial). */
    data object Connecting : ConnectionEvent()

    /** The gateway accepted the connection (and, at login, the user was fetched). */
    data object ConnectSuccess : ConnectionEvent()

    /** One attempt failed: [code] is the server's errCode, or 10000 (network) / 10001 (timeout). */
    data class ConnectFailed(val code: Int, val text: String) : ConnectionEvent()

    /** Another device (or an admin) took over; the session has been logged out. */
    data object KickedOffline : ConnectionEvent()

    /** The token expired; the session has been logged out. */
    data object UserTokenExpired : ConnectionEvent()

    /** The server rejected the token; the session has been logged out. */
    data class UserTokenInvalid(val text: String) : ConnectionEvent()
}

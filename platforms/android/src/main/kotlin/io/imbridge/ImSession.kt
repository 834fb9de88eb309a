package io.imbridge

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/**
 * One imbridge session made idiomatic for Kotlin: suspend [login] / [logout], the session
 * [state] as a `StateFlow`, pushed [messages] and OpenIM [connectionEvents] as flows, and
 * [close] to stop it. Lifecycle helpers: [bindLogoutTo], [bindAppBackgroundTo], [bindNetworkTo].
 *
 * Threading: the suspend functions never block the calling thread (main-safe). Flow values are
 * produced on the imbridge thread that delivers the callback, one at a time and in order, unless
 * [callbackDispatcher] is given (e.g. `Dispatchers.Main`, or `executor.asCoroutineDispatcher()`):
 * then every callback is hopped, still in order, onto it. Collectors run in their own context
 * as usual.
 *
 * [messages] and [connectionEvents] are hot: values emitted while nobody collects are not kept.
 *
 * @param config checked by [ImManager]; a bad one throws [ImException.InvalidArgument].
 */
class ImSession @JvmOverloads constructor(
    config: ImConfig,
    callbackDispatcher: CoroutineDispatcher? = null,
) : AutoCloseable {
    /** The manager this session owns, for the calls not wrapped here. Do not close it yourself. */
    val manager: ImManager = ImManager(config)

    /** Runs the lifecycle helpers' work; cancelled by [close]. */
    internal val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    private val relay = EventRelay(manager.sessionState(), scope, callbackDispatcher)
    private val closed = AtomicBoolean(false)

    init {
        manager.setListener(relay)
    }

    /**
     * The session state: seeded from `sessionState()`, fed by every state change, and refreshed
     * when [login] and [logout] return (after [logout] it reads `LoggedOut`). `seq` never goes
     * back. After [close] it reads `LoggedOut` with reason `Shutdown`.
     */
    val state: StateFlow<SessionState> = relay.state.asStateFlow()

    /** Messages pushed to the logged-in user. None of a session arrives after its logout returned. */
    val messages: Flow<Message> = relay.messages.asSharedFlow()

    /** The OpenIM connection callbacks, in order. */
    val connectionEvents: Flow<ConnectionEvent> = relay.events.asSharedFlow()

    /**
     * Logs in (see the session contract in the README): same user already logged in → that
     * user at once; another user → the current session logs out first. Cancelling the calling
     * coroutine cancels the login.
     *
     * @throws ImException e.g. `TokenExpired`, `TokenInvalid`, `TokenKicked`, `Network`,
     *   `Timeout`, `LoginInProgress`, `LoginCancelled`; `Shutdown` after [close].
     */
    suspend fun login(userId: String, token: String, operationId: String? = null): UserInfo {
        try {
            return whileOpen { manager.login(userId, token, operationId) }
        } finally {
            // A cancelled login's LoggedOut / LoginCancelled state also arrives through
            // the listener once imbridge has ended it.
            refreshState()
        }
    }

    /**
     * Logs out; idempotent, and a no-op after [close]. When it returns nothing more of the
     * ended session is delivered (on the callback dispatcher either) and [state] is `LoggedOut`.
     */
    suspend fun logout(operationId: String? = null) {
        try {
            whileOpen { manager.logout(operationId) }
        } catch (e: ImException.Shutdown) {
            if (closed.get()) return // close() logged out
            throw e
        }
        relay.silence()
        refreshState()
    }

    /** Tells the server whether the app is in the background (OpenIM 2004). */
    suspend fun setAppBackground(background: Boolean) = whileOpen { manager.setAppBackground(background) }

    /** The device's network came (`true`: redial now) or went (`false`: stop dialing). */
    fun networkChanged(available: Boolean) = whileOpen { manager.networkChanged(available) }

    /**
     * Shuts the manager down (a best-effort logout runs in the background) and frees it. No
     * callback starts afterwards; [login] then throws `Shutdown`. Idempotent.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        manager.shutdown()
        relay.close()
        val last = manager.sessionState()
        relay.publish(
            if (last.loginStatus == LoginStatus.LOGGED_OUT && last.reason == StateReason.SHUTDOWN) {
                last
            } else {
                SessionState(LoginStatus.LOGGED_OUT, ConnectionState.Disconnected, null, StateReason.SHUTDOWN, last.seq + 1u)
            },
        )
        scope.cancel()
        manager.close()
    }

    /** Logs out from a callback that cannot suspend (lifecycle observers). */
    internal fun launchLogout() {
        scope.launch {
            try {
                logout()
            } catch (_: ImException) {
                // Only Shutdown can come here: the session is gone anyway.
            }
        }
    }

    /** Runs [call] on the manager; after [close] it throws `Shutdown` instead. */
    private inline fun <T> whileOpen(call: () -> T): T {
        if (closed.get()) throw ImException.Shutdown()
        try {
            return call()
        } catch (e: IllegalStateException) {
            // The generated code's "already destroyed": close() won a race with this call.
            if (closed.get()) throw ImException.Shutdown()
            throw e
        }
    }

    private fun refreshState() {
        if (closed.get()) return
        try {
            relay.publish(manager.sessionState())
        } catch (_: IllegalStateException) {
            // close() freed the manager meanwhile; it has published the final state.
        }
    }
}

/**
 * This config with the proxy of a network (`ConnectivityManager.getDefaultProxy()`, or
 * `LinkProperties.getHttpProxy()` of the network you use): an HTTP proxy for both the API and
 * the gateway (imbridge tunnels with CONNECT), its exclusion list as [ImConfig.noProxy].
 * A null proxy, or a PAC-only one (no host; imbridge does not run PAC scripts), clears both.
 *
 * ```kotlin
 * val config = ImConfig(apiAddr, wsAddr, Platform.ANDROID)
 *     .withNetworkProxy(connectivityManager.defaultProxy)
 * ```
 */
fun ImConfig.withNetworkProxy(proxy: android.net.ProxyInfo?): ImConfig {
    val host = proxy?.host
    if (proxy == null || host.isNullOrEmpty() || proxy.port <= 0) {
        return copy(proxy = null, noProxy = null)
    }
    val urlHost = if (host.contains(':') && !host.startsWith("[")) "[$host]" else host
    // Android writes exclusions as "*.example.com" / "example.com"; NO_PROXY suffixes are ".example.com".
    val bypass = proxy.exclusionList.orEmpty()
        .map { it.trim().removePrefix("*") }
        .filter { it.isNotEmpty() }
        .joinToString(",")
    return copy(proxy = "http://$urlHost:${proxy.port}", noProxy = bypass.ifEmpty { null })
}

package io.imbridge

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CancellationException
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
 * [state] as a `StateFlow`, [messages] one by one and every [ImEvent] in [events] as flows, and
 * [shutdown] (or [close]) to stop it. Lifecycle helpers: [bindLogoutTo], [bindAppBackgroundTo],
 * [bindNetworkTo].
 *
 * Threading: the suspend functions never block the calling thread (main-safe). Flow values are
 * produced on the imbridge thread that delivers the callback, one at a time and in order, unless
 * [callbackDispatcher] is given (e.g. `Dispatchers.Main`, or `executor.asCoroutineDispatcher()`):
 * then every callback is hopped, still in order, onto it. Collectors run in their own context
 * as usual.
 *
 * [messages] and [events] are hot: values emitted while nobody collects are not kept.
 *
 * Logging is per process: call [initLogging] once (e.g. in `Application.onCreate`); without it
 * imbridge logs nothing.
 *
 * The message store: with `config.dataDir` set, messages and cursors persist across restarts
 * (on Android use `config.withDefaultDataDir(context)`: the app's no-backup files directory);
 * without, they live in memory for the life of the manager.
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
     * The session state, as imbridge publishes it: seeded from `sessionState()`, fed by every
     * state change, read again when [login] returns (so it reads `LoggedIn` then). After
     * [logout] it holds the final state that `logout` returned (`LoggedOut`); after [shutdown]
     * the final `Shutdown` state. `seq` never goes back and names one state.
     */
    val state: StateFlow<SessionState> = relay.state.asStateFlow()

    /**
     * Messages for the logged-in user, one by one (imbridge delivers them in batches:
     * [ImEvent.Messages]). None of a session arrives after its logout returned.
     */
    val messages: Flow<Message> = relay.messages.asSharedFlow()

    /**
     * Every event imbridge delivers, in order: the OpenIM connection callbacks
     * ([ImEvent.Connecting], [ImEvent.ConnectSuccess], [ImEvent.ConnectFailed],
     * [ImEvent.KickedOffline], [ImEvent.UserTokenExpired], [ImEvent.UserTokenInvalid]), message
     * batches and state changes. Match with an `else` branch: later versions add events.
     */
    val events: Flow<ImEvent> = relay.events.asSharedFlow()

    /**
     * Logs in (see the session contract in the README): same user already logged in → that
     * user at once; another user → the current session logs out first. Cancelling the calling
     * coroutine cancels the login through [ImManager.cancelLogin] (the `LoggedOut` /
     * `LoginCancelled` state is heard); a login that had already finished stays logged in.
     *
     * @throws ImException e.g. `TokenExpired`, `TokenInvalid`, `TokenKicked`, `Network`,
     *   `Timeout`, `LoginInProgress`, `LoginCancelled`; `Shutdown` after [shutdown].
     */
    suspend fun login(userId: String, token: String, operationId: String? = null): UserInfo {
        val user = whileOpen {
            try {
                manager.login(userId, token, operationId)
            } catch (e: CancellationException) {
                manager.cancelLogin()
                throw e
            }
        }
        // Read once more, so that [state] reads LoggedIn when login returns (a close() racing
        // this call has freed the manager: then the final state is already there).
        if (!closed.get()) runCatching { relay.publish(manager.sessionState()) }
        return user
    }

    /**
     * Logs out; idempotent, and a no-op after [shutdown]. Returns imbridge's final state of the
     * session, which is also the last value of [state] and [events] for it: when this returns,
     * nothing more of the ended session is delivered, on the callback dispatcher either.
     */
    suspend fun logout(operationId: String? = null): SessionState {
        val last = try {
            whileOpen { manager.logout(operationId) }
        } catch (e: ImException.Shutdown) {
            if (closed.get()) return state.value // shutdown() logged out
            throw e
        }
        relay.flush()
        return last
    }

    /**
     * The cached conversation list (newest activity first), readable offline from the moment
     * [login] is called — also after it failed — until another user logs in.
     */
    fun conversations(): List<Conversation> = whileOpen { manager.conversations() }

    /** A conversation's stored messages, newest first, below [beforeSeq] (all when null). */
    fun messages(conversationId: String, beforeSeq: Long? = null, limit: Int = 50): List<Message> =
        whileOpen { manager.messages(conversationId, beforeSeq, limit.toUInt()) }

    /** Deletes everything stored on this device for [userId]; refused while it is logged in. */
    suspend fun eraseLocalData(userId: String) = whileOpen { manager.eraseLocalData(userId) }

    /** Tells the server whether the app is in the background (OpenIM 2004). */
    suspend fun setAppBackground(background: Boolean) = whileOpen { manager.setAppBackground(background) }

    /** The device's network came (`true`: redial now) or went (`false`: stop dialing). */
    fun networkChanged(available: Boolean) = whileOpen { manager.networkChanged(available) }

    /**
     * Shuts the manager down (a best-effort logout runs in the background), frees it, and
     * returns imbridge's final `Shutdown` state, which [state] then holds. No value is emitted
     * afterwards; [login] then throws `Shutdown`. Idempotent.
     */
    fun shutdown(): SessionState {
        if (!closed.compareAndSet(false, true)) return state.value
        val last = manager.shutdown()
        relay.close()
        scope.cancel()
        relay.publish(last)
        manager.close()
        return last
    }

    /** [shutdown], for `use { }` and other [AutoCloseable] users. */
    override fun close() {
        shutdown()
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

    /** Runs [call] on the manager; after [shutdown] it throws `Shutdown` instead. */
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

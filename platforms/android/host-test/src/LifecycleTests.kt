package io.imbridge.hosttest

import android.net.ConnectivityManager
import android.net.Network
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleObserver
import androidx.lifecycle.LifecycleOwner
import io.imbridge.ConnectionState
import io.imbridge.ImSession
import io.imbridge.LoginStatus
import io.imbridge.StateReason
import io.imbridge.bindAppBackgroundTo
import io.imbridge.bindLogoutTo
import io.imbridge.bindNetworkTo
import java.util.concurrent.CopyOnWriteArrayList

/** A LifecycleOwner the test drives by hand. */
class FakeLifecycleOwner : LifecycleOwner {
    val observers = CopyOnWriteArrayList<LifecycleObserver>()
    private var state = Lifecycle.State.CREATED

    override val lifecycle: Lifecycle = object : Lifecycle() {
        override fun addObserver(observer: LifecycleObserver) {
            observers.add(observer)
            if (state >= State.STARTED) (observer as? DefaultLifecycleObserver)?.onStart(this@FakeLifecycleOwner)
        }

        override fun removeObserver(observer: LifecycleObserver) {
            observers.remove(observer)
        }

        override val currentState: State get() = state
    }

    private fun each(f: (DefaultLifecycleObserver) -> Unit) = observers.filterIsInstance<DefaultLifecycleObserver>().forEach(f)

    fun start() { state = Lifecycle.State.STARTED; each { it.onStart(this) } }
    fun stop() { state = Lifecycle.State.CREATED; each { it.onStop(this) } }
    fun destroy() { state = Lifecycle.State.DESTROYED; each { it.onDestroy(this) } }
}

/** A ConnectivityManager that hands its callback to the test. */
class FakeConnectivity : ConnectivityManager() {
    var callback: NetworkCallback? = null
    override fun registerDefaultNetworkCallback(networkCallback: NetworkCallback) { callback = networkCallback }
    override fun unregisterNetworkCallback(networkCallback: NetworkCallback) {
        if (callback === networkCallback) callback = null
    }
}

fun lifecycleTests() = listOf(
    TestCase("destroying_the_bound_lifecycle_logs_out") {
        val olga = gateway.newUser("olga")
        val session = closeLater(ImSession(gateway.config()))
        val owner = FakeLifecycleOwner()
        session.login(olga, gateway.userToken(olga))
        session.bindLogoutTo(owner)
        owner.start()
        owner.stop()
        expectEq(LoginStatus.LOGGED_IN, session.manager.loginStatus(), "stop does not log out")
        owner.destroy()
        val ended = session.awaitState("logged out by onDestroy") { it.loginStatus == LoginStatus.LOGGED_OUT }
        expectEq(StateReason.LOGGED_OUT, ended.reason, "reason")
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "loginStatus()")
        expect(owner.observers.isEmpty()) { "the observer stays registered after onDestroy" }
    },

    TestCase("an_unbound_lifecycle_no_longer_logs_out") {
        val pete = gateway.newUser("pete")
        val session = closeLater(ImSession(gateway.config()))
        val owner = FakeLifecycleOwner()
        session.login(pete, gateway.userToken(pete))
        session.bindLogoutTo(owner).close()
        expect(owner.observers.isEmpty()) { "unbinding left an observer" }
        owner.destroy()
        expectEq(LoginStatus.LOGGED_IN, session.manager.loginStatus(), "still logged in")
        session.logout()
    },

    TestCase("process_background_and_foreground_reach_the_session") {
        val quinn = gateway.newUser("quinn")
        val session = closeLater(ImSession(gateway.config()))
        val process = FakeLifecycleOwner()
        session.login(quinn, gateway.userToken(quinn))
        val binding = session.bindAppBackgroundTo(process)
        process.start()
        process.stop()
        process.start()
        process.stop()
        // 2004 is acknowledged by the gateway; the session stays connected throughout.
        session.setAppBackground(true)
        expectEq(ConnectionState.Connected, session.manager.connectionState(), "connection")
        binding.close()
        expect(process.observers.isEmpty()) { "unbinding left an observer" }
        session.logout()
    },

    TestCase("network_callback_feeds_network_changed") {
        val rosa = gateway.newUser("rosa")
        val session = ImSession(gateway.config())
        val connectivity = FakeConnectivity()
        val binding = session.bindNetworkTo(connectivity)
        val callback = connectivity.callback ?: fail("no callback registered")
        session.login(rosa, gateway.userToken(rosa))
        callback.onAvailable(Network(1))
        callback.onLost(Network(2)) // not the default network: ignored
        callback.onLost(Network(1))
        callback.onAvailable(Network(3))
        session.awaitState("connected") { it.connection == ConnectionState.Connected }
        session.close()
        callback.onLost(Network(3)) // after close: swallowed, no crash
        binding.close()
        expect(connectivity.callback == null) { "callback still registered" }
    },
)

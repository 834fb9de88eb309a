package io.imbridge.hosttest

import io.imbridge.ImEvent
import io.imbridge.ConnectionState
import io.imbridge.ImSession
import io.imbridge.LoginStatus
import io.imbridge.StateReason
import io.imbridge.withNetworkProxy
import java.util.concurrent.Executors
import kotlinx.coroutines.asCoroutineDispatcher

fun sessionTests() = listOf(
    TestCase("network_proxy_becomes_proxy_and_no_proxy") {
        val base = gateway.config()
        val p = base.withNetworkProxy(android.net.ProxyInfo("10.0.2.2", 3128, arrayOf("*.corp.example", "localhost", " ")))
        expectEq("http://10.0.2.2:3128", p.proxy, "proxy")
        expectEq(".corp.example,localhost", p.noProxy, "noProxy")
        expectEq("http://[fd00::1]:8080", base.withNetworkProxy(android.net.ProxyInfo("fd00::1", 8080, null)).proxy, "IPv6")
        expectEq(null, p.withNetworkProxy(android.net.ProxyInfo(null, -1, null)).proxy, "PAC-only clears")
        expectEq(null, p.withNetworkProxy(null).noProxy, "none clears")
        // The manager accepts what it produces.
        closeLater(ImSession(p)).close()
    },

    TestCase("login_returns_the_user_and_logout_logs_out") {
        val alice = gateway.newUser("alice")
        val session = closeLater(ImSession(gateway.config()))
        expectEq(LoginStatus.LOGGED_OUT, session.state.value.loginStatus, "state before login")
        val me = session.login(alice, gateway.userToken(alice))
        expectEq(alice, me.userId, "user ID")
        expectEq("Nick $alice", me.nickname, "nickname")
        expectEq(LoginStatus.LOGGED_IN, session.manager.loginStatus(), "loginStatus()")
        expectEq(alice, session.manager.loginUserId(), "loginUserId()")
        expectEq(LoginStatus.LOGGED_IN, session.state.value.loginStatus, "state right after login")
        session.awaitState("connected") { it.connection == ConnectionState.Connected }
        expectEq(ConnectionState.Connected, session.manager.connectionState(), "connectionState()")

        // Same user again: the current user at once, nothing redone.
        expectEq(alice, session.login(alice, gateway.userToken(alice)).userId, "second login")

        session.logout()
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "loginStatus() after logout")
        expectEq(null, session.manager.loginUserId(), "loginUserId() after logout")
        expectEq(LoginStatus.LOGGED_OUT, session.state.value.loginStatus, "state right after logout")
        expectEq(StateReason.LOGGED_OUT, session.state.value.reason, "reason after logout")
        session.logout() // idempotent
        expectEq(LoginStatus.LOGGED_OUT, session.state.value.loginStatus, "state after a second logout")
    },

    TestCase("listener_events_arrive_in_order_on_imbridge_threads") {
        val bob = gateway.newUser("bob")
        val session = closeLater(ImSession(gateway.config()))
        val events = Recorder(this, session.connectionEvents)
        val messages = Recorder(this, session.messages)
        val states = Recorder(this, session.state)
        val caller = Thread.currentThread().name
        session.login(bob, gateway.userToken(bob))
        events.await("connect success") { it == ImEvent.ConnectSuccess }
        expectEq(listOf(ImEvent.Connecting, ImEvent.ConnectSuccess), events.seen.map { it.value }, "events of a login")
        gateway.sendText("imAdmin", bob, "which thread?")
        val message = messages.await("message")
        // A state change no call of ours refreshes: the server kicks the session.
        gateway.forceLogout(bob)
        val kicked = events.await("kicked offline") { it == ImEvent.KickedOffline }
        val ended = states.await("kicked state") { it.reason == StateReason.KICKED }
        for (seen in events.seen + message + ended + kicked) {
            expect(seen.thread != caller) { "${seen.value} was delivered on the caller's thread $caller" }
        }
    },

    TestCase("state_flow_follows_login_and_logout_with_growing_seq") {
        val carol = gateway.newUser("carol")
        val session = closeLater(ImSession(gateway.config()))
        val states = Recorder(this, session.state)
        val initial = session.state.value
        expectEq(StateReason.CREATED, initial.reason, "initial reason")
        session.login(carol, gateway.userToken(carol))
        session.awaitState("logged in and connected") {
            it.loginStatus == LoginStatus.LOGGED_IN && it.connection == ConnectionState.Connected && it.userId == carol
        }
        val before = session.state.value
        val last = session.logout()
        expectEq(last, session.state.value, "the state logout returned is the flow's last")
        expect(last.seq > before.seq) { "final state ${last.seq} after ${before.seq}" }
        expectEq(StateReason.LOGGED_OUT, last.reason, "final reason")
        expectEq(last, states.seen.last().value, "the final state was delivered before logout returned")
        expectEq(LoginStatus.LOGGED_OUT, last.loginStatus, "after logout")
        expectEq(ConnectionState.Disconnected, last.connection, "connection after logout")
        val seqs = states.seen.map { it.value.seq }
        expect(seqs.zipWithNext().all { (a, b) -> b > a }) { "seq must grow: $seqs" }
        // LoggingIn may be conflated away (login() refreshes the state when it returns).
        val statuses = states.seen.map { it.value.loginStatus }.filter { it != LoginStatus.LOGGING_IN }
            .fold(listOf<LoginStatus>()) { acc, s -> if (acc.lastOrNull() == s) acc else acc + s }
        expectEq(listOf(LoginStatus.LOGGED_OUT, LoginStatus.LOGGED_IN, LoginStatus.LOGGED_OUT), statuses, "status sequence")
    },

    TestCase("callback_dispatcher_receives_every_callback") {
        val executor = Executors.newSingleThreadExecutor { r -> Thread(r, "fake-main").apply { isDaemon = true } }
        defer { executor.shutdownNow() }
        val dave = gateway.newUser("dave")
        val session = closeLater(ImSession(gateway.config(), executor.asCoroutineDispatcher()))
        val events = Recorder(this, session.connectionEvents)
        val messages = Recorder(this, session.messages)
        session.login(dave, gateway.userToken(dave))
        expectEq("fake-main", events.await("connect success") { it == ImEvent.ConnectSuccess }.thread, "event thread")
        gateway.sendText("imAdmin", dave, "on the main thread")
        expectEq("fake-main", messages.await("message").thread, "message thread")
        expect(events.seen.all { it.thread == "fake-main" }) { "events off the dispatcher: ${events.seen}" }
        session.logout()
        expectEq(LoginStatus.LOGGED_OUT, session.state.value.loginStatus, "state after logout")
    },

    TestCase("pushed_messages_arrive_as_a_flow_in_order") {
        val erin = gateway.newUser("erin")
        val frank = gateway.newUser("frank")
        val session = closeLater(ImSession(gateway.config()))
        val messages = Recorder(this, session.messages)
        session.login(erin, gateway.userToken(erin))
        gateway.sendText(frank, erin, "hello from kotlin")
        val first = messages.await("first message").value
        expectEq("hello from kotlin", first.text, "text")
        expectEq(frank, first.sendId, "sendId")
        expectEq(erin, first.recvId, "recvId")
        expectEq(101, first.contentType, "contentType")
        expectEq(1, first.sessionType, "sessionType")
        expect(first.serverMsgId.isNotEmpty() && first.clientMsgId.isNotEmpty()) { "message IDs: $first" }
        for (i in 1..20) gateway.sendText(frank, erin, "n$i")
        messages.await("20 more") { it.text == "n20" }
        expectEq((1..20).map { "n$it" }, messages.seen.drop(1).map { it.value.text }, "order of 20 pushes")
        expect(messages.seen.map { it.value.seq }.zipWithNext().all { (a, b) -> b > a }) { "seq must grow" }
        session.logout()
    },
)

package io.imbridge.hosttest

import io.imbridge.ImEvent
import io.imbridge.ImException
import io.imbridge.ImSession
import io.imbridge.LoginStatus
import io.imbridge.StateReason

fun kickAndExpiryTests() = listOf(
    TestCase("a_new_token_on_the_same_platform_kicks_the_first_session") {
        val lena = gateway.newUser("lena")
        val phone = closeLater(ImSession(gateway.config()))
        val events = Recorder(this, phone.connectionEvents)
        phone.login(lena, gateway.userToken(lena))
        val tablet = closeLater(ImSession(gateway.config()))
        tablet.login(lena, gateway.userToken(lena))

        events.await("kicked offline") { it == ImEvent.KickedOffline }
        val ended = phone.awaitState("the kicked session logged out") { it.loginStatus == LoginStatus.LOGGED_OUT }
        expectEq(StateReason.KICKED, ended.reason, "reason")
        expectEq(LoginStatus.LOGGED_IN, tablet.manager.loginStatus(), "the new session")
        tablet.logout()
        expectEq(1, events.seen.count { it.value == ImEvent.KickedOffline }, "kicked_offline count")
    },

    TestCase("admin_force_logout_kicks_the_session") {
        val mona = gateway.newUser("mona")
        val session = closeLater(ImSession(gateway.config()))
        val events = Recorder(this, session.connectionEvents)
        session.login(mona, gateway.userToken(mona))
        gateway.forceLogout(mona)
        events.await("kicked offline") { it == ImEvent.KickedOffline }
        expectEq(StateReason.KICKED, session.awaitState("logged out") { it.loginStatus == LoginStatus.LOGGED_OUT }.reason, "reason")
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "loginStatus()")
    },

    TestCase("token_expiry_ends_a_logged_in_session", timeoutMs = 90_000) {
        // Tokens live one second and the gateway drops a connection after one silent second,
        // so the session redials soon with an expired token: 1501 → user_token_expired.
        val shortLived = closeLater(DevGateway.start("--token-lifetime-secs", "1", "--read-deadline-secs", "1"))
        val nora = shortLived.newUser("nora")
        val session = closeLater(ImSession(shortLived.config()))
        val events = Recorder(this, session.connectionEvents)
        // A fresh token may already be expired (it lives until the next whole second): retry, bounded.
        var attempts = 0
        while (true) {
            attempts++
            try {
                session.login(nora, shortLived.userToken(nora))
                break
            } catch (e: ImException.TokenExpired) {
                if (attempts == 20) fail("no login within a fresh token's lifetime in 20 attempts")
            }
        }
        events.await("user token expired", timeoutMs = 30_000) { it == ImEvent.UserTokenExpired }
        val failed = events.seen.map { it.value }.filterIsInstance<ImEvent.ConnectFailed>().lastOrNull()
        expectEq(1501, failed?.code, "connect_failed before the session ended")
        val ended = session.awaitState("logged out") { it.loginStatus == LoginStatus.LOGGED_OUT }
        expectEq(StateReason.TOKEN_EXPIRED, ended.reason, "reason")
        expectEq(1, events.seen.count { it.value == ImEvent.UserTokenExpired }, "user_token_expired count")
    },
)

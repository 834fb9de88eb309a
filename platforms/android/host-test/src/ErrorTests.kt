package io.imbridge.hosttest

import io.imbridge.ImEvent
import io.imbridge.ImConfig
import io.imbridge.ImException
import io.imbridge.ImSession
import io.imbridge.LoginStatus
import io.imbridge.Platform
import io.imbridge.StateReason
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch

private fun silentConfig(port: Int, loginTimeoutMs: ULong, requestTimeoutMs: ULong) = ImConfig(
    apiAddr = "http://127.0.0.1:$port",
    wsAddr = "ws://127.0.0.1:$port",
    platform = Platform.ANDROID,
    loginTimeoutMs = loginTimeoutMs,
    requestTimeoutMs = requestTimeoutMs,
)

fun errorTests() = listOf(
    TestCase("every_error_type_has_its_fields_and_code") {
        val cases: List<Pair<ImException, Int>> = listOf(
            ImException.InvalidArgument("bad") to 10002,
            ImException.Network("down") to 10000,
            ImException.Timeout("slow") to 10001,
            ImException.NotLoggedIn() to 10009,
            ImException.LoginInProgress() to 10102,
            ImException.LoginCancelled() to 19001,
            ImException.TokenExpired("old") to 1501,
            ImException.TokenInvalid(1503, "malformed") to 1503,
            ImException.TokenKicked("replaced") to 1506,
            ImException.Server(1601, "busy") to 1601,
            ImException.Protocol(10202, "garbage") to 10202,
            ImException.Shutdown() to 19002,
            ImException.Internal("bug") to 10006,
            ImException.Storage("disk full") to 19003,
        )
        // An exhaustive `when`: a new ImError variant breaks this file's compilation until covered.
        val kinds = cases.map { (e, _) ->
            when (e) {
                is ImException.InvalidArgument -> 0
                is ImException.Network -> 1
                is ImException.Timeout -> 2
                is ImException.NotLoggedIn -> 3
                is ImException.LoginInProgress -> 4
                is ImException.LoginCancelled -> 5
                is ImException.TokenExpired -> 6
                is ImException.TokenInvalid -> 7
                is ImException.TokenKicked -> 8
                is ImException.Server -> 9
                is ImException.Protocol -> 10
                is ImException.Shutdown -> 11
                is ImException.Internal -> 12
                is ImException.Storage -> 13
            }
        }
        expectEq((0..13).toList(), kinds, "one case per variant")
        for ((e, code) in cases) expectEq(code, e.code(), "code() of ${e::class.simpleName}")
        expectEq("bad", (cases[0].first as ImException.InvalidArgument).detail, "InvalidArgument.detail")
        val invalid = cases[7].first as ImException.TokenInvalid
        expectEq(1503 to "malformed", invalid.serverCode to invalid.detail, "TokenInvalid fields")
        val server = cases[9].first as ImException.Server
        expectEq(1601 to "busy", server.serverCode to server.detail, "Server fields")
        val protocol = cases[10].first as ImException.Protocol
        expectEq(10202 to "garbage", protocol.protocolCode to protocol.detail, "Protocol fields")
        expectEq("old", (cases[6].first as ImException.TokenExpired).detail, "TokenExpired.detail")
        expectEq("replaced", (cases[8].first as ImException.TokenKicked).detail, "TokenKicked.detail")
    },

    TestCase("invalid_argument_for_a_bad_config_or_input") {
        val e = expectThrows<ImException.InvalidArgument>("bad address") {
            ImSession(ImConfig("not a url", gateway.wsAddr, Platform.ANDROID))
        }
        expectEq(10002, e.code(), "code()")
        expect(e.detail.isNotBlank()) { "detail must say what is wrong" }
        val session = closeLater(ImSession(gateway.config()))
        val empty = expectThrows<ImException.InvalidArgument>("empty user ID") { session.login("", "token") }
        expect(empty.detail.isNotBlank()) { "empty user ID: no detail" }
        expectThrows<ImException.InvalidArgument>("empty token") { session.login("someone", "") }
        expectThrows<ImException.InvalidArgument>("control character") { session.login("a\u0001b", "token") }
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
    },

    TestCase("network_error_when_nothing_listens") {
        val port = SilentServer.refusedPort()
        val session = closeLater(ImSession(silentConfig(port, loginTimeoutMs = 1_000u, requestTimeoutMs = 500u)))
        val events = Recorder(this, session.connectionEvents)
        val e = expectThrows<ImException.Network>("login to a closed port") { session.login("nobody", "token") }
        expectEq(10000, e.code(), "code()")
        expect(e.detail.isNotBlank()) { "Network.detail is empty" }
        expectEq(ImEvent.Connecting, events.await("connecting").value, "first event")
        val failed = events.await("connect failed") { it is ImEvent.ConnectFailed }.value as ImEvent.ConnectFailed
        expectEq(10000, failed.code, "connect_failed code")
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
    },

    TestCase("timeout_when_the_gateway_never_answers") {
        val silent = closeLater(SilentServer())
        val session = closeLater(ImSession(silentConfig(silent.port, loginTimeoutMs = 1_200u, requestTimeoutMs = 400u)))
        val e = expectThrows<ImException.Timeout>("login to a silent gateway") { session.login("nobody", "token") }
        expectEq(10001, e.code(), "code()")
        expect(e.detail.isNotBlank()) { "Timeout.detail is empty" }
        expect(silent.accepted > 0) { "the gateway saw no dial" }
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
    },

    TestCase("login_in_progress_then_login_cancelled_by_logout") {
        val silent = closeLater(SilentServer())
        val session = closeLater(ImSession(silentConfig(silent.port, loginTimeoutMs = 30_000u, requestTimeoutMs = 20_000u)))
        val first = background.async { runCatching { session.login("first", "token") } }
        session.awaitState("logging in") { it.loginStatus == LoginStatus.LOGGING_IN }
        val busy = expectThrows<ImException.LoginInProgress>("second login") { session.login("second", "token") }
        expectEq(10102, busy.code(), "LoginInProgress code()")
        expectEq(LoginStatus.LOGGING_IN, session.manager.loginStatus(), "the first login is unaffected")
        session.logout()
        val outcome = first.await().exceptionOrNull()
        expect(outcome is ImException.LoginCancelled) { "first login: expected LoginCancelled, got $outcome" }
        expectEq(19001, (outcome as ImException).code(), "LoginCancelled code()")
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
        expectEq(LoginStatus.LOGGED_OUT, session.state.value.loginStatus, "state")
    },

    TestCase("cancelling_the_coroutine_cancels_the_login") {
        val silent = closeLater(SilentServer())
        val session = closeLater(ImSession(silentConfig(silent.port, loginTimeoutMs = 30_000u, requestTimeoutMs = 20_000u)))
        val ended = CompletableDeferred<Throwable?>()
        val job = background.launch {
            try {
                session.login("patient", "token")
                ended.complete(null)
            } catch (t: Throwable) {
                ended.complete(t)
                throw t
            }
        }
        session.awaitState("logging in") { it.loginStatus == LoginStatus.LOGGING_IN }
        eventually("the dial reached the gateway") { silent.accepted > 0 }
        job.cancelAndJoin()
        val outcome = ended.await()
        expect(outcome is kotlinx.coroutines.CancellationException) { "login ended with $outcome, not a cancellation" }
        eventually("loginStatus() back to LoggedOut") { session.manager.loginStatus() == LoginStatus.LOGGED_OUT }
        val settled = session.awaitState("the state flow back to LoggedOut") { it.loginStatus == LoginStatus.LOGGED_OUT }
        expectEq(StateReason.LOGIN_CANCELLED, settled.reason, "reason")
        expectEq(settled, session.manager.sessionState(), "the flow holds imbridge's own state")
        // The manager is usable again: a new login starts (and is in turn logged out).
        val again = background.async { runCatching { session.login("patient", "token") } }
        session.awaitState("logging in again") { it.loginStatus == LoginStatus.LOGGING_IN }
        session.logout()
        expect(again.await().exceptionOrNull() is ImException.LoginCancelled) { "second login not cancelled" }
    },

    TestCase("token_invalid_for_a_malformed_or_foreign_token") {
        val gina = gateway.newUser("gina")
        val hank = gateway.newUser("hank")
        val session = closeLater(ImSession(gateway.config()))
        val events = Recorder(this, session.connectionEvents)
        val malformed = expectThrows<ImException.TokenInvalid>("malformed token") { session.login(gina, "not.a.jwt") }
        expect(malformed.serverCode in listOf(1502, 1503, 1504, 1505, 1507)) { "serverCode ${malformed.serverCode}" }
        expectEq(malformed.serverCode, malformed.code(), "code() is the server's code")
        val failed = events.await("connect failed") { it is ImEvent.ConnectFailed }.value as ImEvent.ConnectFailed
        expectEq(malformed.serverCode, failed.code, "connect_failed code")
        val foreign = expectThrows<ImException.TokenInvalid>("another user's token") {
            session.login(gina, gateway.userToken(hank))
        }
        expect(foreign.serverCode in listOf(1502, 1503, 1504, 1505, 1507)) { "serverCode ${foreign.serverCode}" }
        expect(foreign.detail.isNotBlank()) { "TokenInvalid.detail is empty" }
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
        expect(events.seen.none { it.value is ImEvent.UserTokenInvalid }) {
            "a failed login has no session to end: ${events.seen}"
        }
    },

    TestCase("token_kicked_for_a_token_replaced_on_the_same_platform") {
        val ivan = gateway.newUser("ivan")
        val first = gateway.userToken(ivan)
        gateway.userToken(ivan) // same platform: the first token is now kicked
        val session = closeLater(ImSession(gateway.config()))
        val e = expectThrows<ImException.TokenKicked>("kicked token") { session.login(ivan, first) }
        expectEq(1506, e.code(), "code()")
        expect(e.detail.isNotBlank()) { "TokenKicked.detail is empty" }
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
    },

    TestCase("token_expired_for_an_expired_token") {
        // A second gateway whose tokens live one second (the clock cannot be advanced over HTTP).
        val shortLived = closeLater(DevGateway.start("--token-lifetime-secs", "1"))
        val judy = shortLived.newUser("judy")
        val token = shortLived.userToken(judy)
        eventually("the token to expire (real time)", timeoutMs = 5_000) { shortLived.tokenCode(token) == 1501 }
        val session = closeLater(ImSession(shortLived.config()))
        val e = expectThrows<ImException.TokenExpired>("expired token") { session.login(judy, token) }
        expectEq(1501, e.code(), "code()")
        expect(e.detail.isNotBlank()) { "TokenExpired.detail is empty" }
        expectEq(LoginStatus.LOGGED_OUT, session.manager.loginStatus(), "status")
    },

    TestCase("shutdown_and_close_refuse_later_calls") {
        val kim = gateway.newUser("kim")
        val session = closeLater(ImSession(gateway.config()))
        session.login(kim, gateway.userToken(kim))
        session.manager.shutdown()
        val e = expectThrows<ImException.Shutdown>("login after shutdown") { session.manager.login(kim, "token", null) }
        expectEq(19002, e.code(), "code()")
        expectThrows<ImException.Shutdown>("networkChanged after shutdown") { session.manager.networkChanged(true) }

        val other = ImSession(gateway.config())
        other.login(kim, gateway.userToken(kim))
        val before = other.state.value
        val last = other.shutdown()
        expectEq(last, other.state.value, "the state shutdown returned is the flow's last")
        expectEq(before.seq + 1u, last.seq, "the final state has a seq of its own")
        other.close() // idempotent
        expectEq(last, other.shutdown(), "idempotent")
        expectEq(LoginStatus.LOGGED_OUT, other.state.value.loginStatus, "state after close")
        expectEq(StateReason.SHUTDOWN, other.state.value.reason, "reason after close")
        expectThrows<ImException.Shutdown>("ImSession.login after close") { other.login(kim, "token") }
        other.logout() // a no-op after close
    },
)

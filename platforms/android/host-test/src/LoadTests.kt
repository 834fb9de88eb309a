package io.imbridge.hosttest

import io.imbridge.ConnectionState
import io.imbridge.ImSession
import io.imbridge.LoginStatus
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope

fun loadTests() = listOf(
    TestCase("fifty_sessions_log_in_at_once_and_log_out", timeoutMs = 120_000) {
        val users = (1..50).map { DevGateway.uniqueId("load") }
        gateway.register(*users.toTypedArray())
        val tokens = users.map { gateway.userToken(it) }
        val sessions = users.map { closeLater(ImSession(gateway.config())) }
        coroutineScope {
            sessions.indices.map { i -> async { sessions[i].login(users[i], tokens[i]) } }.awaitAll()
        }.forEachIndexed { i, me -> expectEq(users[i], me.userId, "user of session $i") }
        for (s in sessions) s.awaitState("all connected") { it.connection == ConnectionState.Connected }
        expect(sessions.all { it.manager.loginStatus() == LoginStatus.LOGGED_IN }) { "not all logged in" }
        coroutineScope { sessions.map { async { it.logout() } }.awaitAll() }
        expect(sessions.all { it.manager.loginStatus() == LoginStatus.LOGGED_OUT }) { "not all logged out" }
        expect(sessions.all { it.state.value.loginStatus == LoginStatus.LOGGED_OUT }) { "a state flow is not LoggedOut" }
    },
)

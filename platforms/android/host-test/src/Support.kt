package io.imbridge.hosttest

import io.imbridge.ImEvent
import io.imbridge.ImException
import io.imbridge.ImSession
import io.imbridge.SessionState
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull

fun fail(message: String): Nothing = throw AssertionError(message)

fun expect(condition: Boolean, message: () -> String) {
    if (!condition) fail(message())
}

fun <T> expectEq(expected: T, actual: T, what: String) {
    if (expected != actual) fail("$what: expected <$expected>, got <$actual>")
}

/** Runs [block] and returns the [E] it must throw. */
suspend inline fun <reified E : ImException> expectThrows(what: String, block: suspend () -> Unit): E {
    try {
        block()
    } catch (e: ImException) {
        if (e is E) return e
        fail("$what: expected ${E::class.simpleName}, got ${e::class.simpleName} (${e.message})")
    }
    fail("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/** The OpenIM connection callbacks among [ImSession.events] (no states, messages or syncs). */
val ImSession.connectionEvents: Flow<ImEvent>
    get() = events.filter {
        it is ImEvent.Connecting || it is ImEvent.ConnectSuccess || it is ImEvent.ConnectFailed ||
            it is ImEvent.KickedOffline || it is ImEvent.UserTokenExpired || it is ImEvent.UserTokenInvalid
    }

/** Waits (with a timeout) for a state matching [predicate]. */
suspend fun ImSession.awaitState(
    what: String,
    timeoutMs: Long = 10_000,
    predicate: (SessionState) -> Boolean,
): SessionState =
    withTimeoutOrNull(timeoutMs) { state.first(predicate) }
        ?: fail("timed out after $timeoutMs ms waiting for $what; state is ${state.value}")

/** Polls [condition] until it holds, for at most [timeoutMs]: for state that no flow reports. */
suspend fun eventually(what: String, timeoutMs: Long = 10_000, condition: () -> Boolean) {
    withTimeoutOrNull(timeoutMs) {
        while (!condition()) delay(10)
    } ?: fail("timed out after $timeoutMs ms waiting for $what")
}

/** A value a flow produced, and the thread that produced it. */
data class Seen<T>(val value: T, val thread: String)

/**
 * Collects [flow] from the moment it is created (subscribed before this returns), recording
 * each value with the thread that delivered it (the collector is unconfined, so that is the
 * producer's thread).
 */
class Recorder<T>(ctx: TestContext, flow: Flow<T>) {
    val seen = CopyOnWriteArrayList<Seen<T>>()
    private val queue = Channel<Seen<T>>(Channel.UNLIMITED)

    init {
        ctx.background.launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
            flow.collect { value ->
                val s = Seen(value, Thread.currentThread().name)
                seen.add(s)
                queue.trySend(s)
            }
        }
    }

    /** The next value matching [predicate] (earlier non-matching values are skipped). */
    suspend fun await(what: String, timeoutMs: Long = 10_000, predicate: (T) -> Boolean = { true }): Seen<T> =
        withTimeoutOrNull(timeoutMs) {
            var s = queue.receive()
            while (!predicate(s.value)) s = queue.receive()
            s
        } ?: fail("timed out after $timeoutMs ms waiting for $what; seen ${seen.map { it.value }}")
}

/** A TCP port on 127.0.0.1 that accepts connections and never answers (or, closed, refuses). */
class SilentServer : AutoCloseable {
    private val server = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val clients = CopyOnWriteArrayList<Socket>()
    val port: Int = server.localPort
    val accepted: Int get() = clients.size

    init {
        Thread({
            while (true) {
                val s = runCatching { server.accept() }.getOrNull() ?: break
                clients.add(s)
            }
        }, "silent-server").apply { isDaemon = true }.start()
    }

    override fun close() {
        server.close()
        clients.forEach { runCatching { it.close() } }
    }

    companion object {
        /** A loopback port nothing listens on (bound, then released). */
        fun refusedPort(): Int = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
    }
}

package io.imbridge

import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * The [ImListener] an [ImSession] installs: turns callbacks into flow values, either right
 * on the imbridge thread that calls it, or hopped in order onto [dispatcher].
 *
 * It holds no reference to the manager, so a forgotten session can still be collected.
 */
internal class EventRelay(
    initial: SessionState,
    scope: CoroutineScope,
    dispatcher: CoroutineDispatcher?,
) : ImListener {
    val state = MutableStateFlow(initial)

    // Unbounded: a slow collector must not make imbridge drop a message or an event.
    val messages = MutableSharedFlow<Message>(extraBufferCapacity = Int.MAX_VALUE)
    val events = MutableSharedFlow<ConnectionEvent>(extraBufferCapacity = Int.MAX_VALUE)

    private class Hop(val epoch: Long, val block: () -> Unit)

    /** Bumped by [silence]: hops queued before it are dropped. */
    private val epoch = AtomicLong()
    private val hops: Channel<Hop>? = dispatcher?.let { Channel(Channel.UNLIMITED) }

    init {
        if (dispatcher != null && hops != null) {
            // One consumer keeps the callbacks in order whatever the dispatcher.
            scope.launch(dispatcher) {
                for (hop in hops) if (hop.epoch == epoch.get()) hop.block()
            }
        }
    }

    /** Sets the state unless a newer one (higher `seq`) is already there. */
    fun publish(s: SessionState) = state.update { if (s.seq > it.seq) s else it }

    /**
     * Called once `logout()` has returned: imbridge calls nothing more for that session, and
     * hops still queued for it are dropped, so the dispatcher hears nothing more either.
     */
    fun silence() {
        epoch.incrementAndGet()
    }

    fun close() {
        silence()
        hops?.close()
    }

    private fun deliver(block: () -> Unit) {
        val q = hops
        if (q == null) block() else q.trySend(Hop(epoch.get(), block))
    }

    override fun onConnecting() = deliver { events.tryEmit(ConnectionEvent.Connecting) }

    override fun onConnectSuccess() = deliver { events.tryEmit(ConnectionEvent.ConnectSuccess) }

    override fun onConnectFailed(code: Int, errorText: String) =
        deliver { events.tryEmit(ConnectionEvent.ConnectFailed(code, errorText)) }

    override fun onKickedOffline() = deliver { events.tryEmit(ConnectionEvent.KickedOffline) }

    override fun onUserTokenExpired() = deliver { events.tryEmit(ConnectionEvent.UserTokenExpired) }

    override fun onUserTokenInvalid(errorText: String) =
        deliver { events.tryEmit(ConnectionEvent.UserTokenInvalid(errorText)) }

    override fun onRecvNewMessage(message: Message) = deliver { messages.tryEmit(message) }

    override fun onSessionStateChanged(state: SessionState) = deliver { publish(state) }
}

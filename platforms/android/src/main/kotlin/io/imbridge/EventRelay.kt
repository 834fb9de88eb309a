package io.imbridge

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * The [ImListener] an [ImSession] installs: turns each [ImEvent] into flow values, either right
 * on the imbridge thread that calls it, or hopped in order onto [dispatcher]. Silencing ended
 * sessions is imbridge's job, not this class's: it only forwards.
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
    val events = MutableSharedFlow<ImEvent>(extraBufferCapacity = Int.MAX_VALUE)

    private val hops: Channel<() -> Unit>? = dispatcher?.let { Channel(Channel.UNLIMITED) }

    init {
        if (dispatcher != null && hops != null) {
            // One consumer keeps the events in order whatever the dispatcher.
            scope.launch(dispatcher) { for (hop in hops) hop() }
        }
    }

    /** Sets the state unless a newer one (higher `seq`) is already there. */
    fun publish(s: SessionState) = state.update { if (s.seq > it.seq) s else it }

    /** Returns once every event received so far has reached the flows (hops included). */
    suspend fun flush() {
        val q = hops ?: return
        val done = CompletableDeferred<Unit>()
        if (q.trySend { done.complete(Unit) }.isSuccess) done.await()
    }

    fun close() {
        hops?.close()
    }

    override fun onEvent(event: ImEvent) {
        val q = hops
        if (q == null) forward(event) else q.trySend { forward(event) }
    }

    private fun forward(event: ImEvent) {
        when (event) {
            is ImEvent.StateChanged -> publish(event.state)
            is ImEvent.Messages -> event.messages.forEach { messages.tryEmit(it) }
            else -> {}
        }
        events.tryEmit(event)
    }
}

package io.imbridge

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.launch

/**
 * Tells imbridge when the app goes to the background and comes back (`setAppBackground`),
 * following [owner]'s start/stop: by default the whole process ([ProcessLifecycleOwner]).
 * Opt-in; call it on the main thread. Rapid flips are applied in order, latest wins.
 *
 * @return a handle whose `close()` unbinds (main thread too).
 */
@JvmOverloads
fun ImSession.bindAppBackgroundTo(owner: LifecycleOwner = ProcessLifecycleOwner.get()): AutoCloseable {
    val wanted = MutableStateFlow<Boolean?>(null)
    val applier = scope.launch {
        wanted.filterNotNull().collect { background ->
            try {
                setAppBackground(background)
            } catch (_: ImException) {
                // Not connected or shut down: imbridge still uses the flag on its next dial.
            }
        }
    }
    val observer = object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) {
            wanted.value = false
        }

        override fun onStop(owner: LifecycleOwner) {
            wanted.value = true
        }
    }
    val lifecycle = owner.lifecycle
    lifecycle.addObserver(observer)
    return AutoCloseable {
        lifecycle.removeObserver(observer)
        applier.cancel()
    }
}

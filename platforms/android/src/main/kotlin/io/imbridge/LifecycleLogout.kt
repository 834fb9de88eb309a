package io.imbridge

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner

/**
 * Logs this session out when [owner] is destroyed (its `onDestroy`), e.g. the activity or
 * navigation graph that represents "signed in". Opt-in; call it on the main thread.
 *
 * @return a handle whose `close()` unbinds (main thread too).
 */
fun ImSession.bindLogoutTo(owner: LifecycleOwner): AutoCloseable {
    val lifecycle = owner.lifecycle
    val observer = object : DefaultLifecycleObserver {
        override fun onDestroy(owner: LifecycleOwner) {
            lifecycle.removeObserver(this)
            launchLogout()
        }
    }
    lifecycle.addObserver(observer)
    return AutoCloseable { lifecycle.removeObserver(observer) }
}

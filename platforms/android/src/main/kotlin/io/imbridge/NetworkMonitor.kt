package io.imbridge

import android.net.ConnectivityManager
import android.net.Network

/**
 * Feeds the device's default network into `networkChanged`: lost → imbridge stops dialing,
 * available → it redials at once. Opt-in; needs `ACCESS_NETWORK_STATE` (declared by the AAR).
 *
 * ```
 * session.bindNetworkTo(context.getSystemService(ConnectivityManager::class.java))
 * ```
 *
 * @return a handle whose `close()` unregisters the callback.
 */
fun ImSession.bindNetworkTo(connectivity: ConnectivityManager): AutoCloseable {
    val callback = object : ConnectivityManager.NetworkCallback() {
        @Volatile private var current: Network? = null

        override fun onAvailable(network: Network) {
            current = network
            report(true)
        }

        override fun onLost(network: Network) {
            // A switch to another network brings its onAvailable; only a loss of the
            // current default means "no network".
            if (network == current) {
                current = null
                report(false)
            }
        }
    }
    connectivity.registerDefaultNetworkCallback(callback)
    return AutoCloseable { connectivity.unregisterNetworkCallback(callback) }
}

private fun ImSession.report(available: Boolean) {
    try {
        networkChanged(available)
    } catch (_: ImException) {
        // Shut down: nothing to tell.
    }
}

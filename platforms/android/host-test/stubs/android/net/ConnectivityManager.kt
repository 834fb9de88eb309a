package android.net

/** Stub of android.net.Network (host tests only). */
class Network(private val id: Int) {
    override fun equals(other: Any?) = other is Network && other.id == id
    override fun hashCode() = id
    override fun toString() = id.toString()
}

/** Stub of android.net.ConnectivityManager (host tests only); tests subclass it. */
open class ConnectivityManager {
    open fun registerDefaultNetworkCallback(networkCallback: NetworkCallback) {}
    open fun unregisterNetworkCallback(networkCallback: NetworkCallback) {}

    open class NetworkCallback {
        open fun onAvailable(network: Network) {}
        open fun onLost(network: Network) {}
    }
}

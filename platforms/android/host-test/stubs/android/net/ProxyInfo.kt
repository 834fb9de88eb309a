package android.net

/** Stub of android.net.ProxyInfo (host tests only): the three getters the Kotlin layer reads. */
class ProxyInfo(val host: String?, val port: Int, val exclusionList: Array<String>?)

package androidx.lifecycle

/** Stub of androidx.lifecycle.Lifecycle (host tests only). */
abstract class Lifecycle {
    abstract fun addObserver(observer: LifecycleObserver)
    abstract fun removeObserver(observer: LifecycleObserver)
    abstract val currentState: State

    enum class State { DESTROYED, INITIALIZED, CREATED, STARTED, RESUMED }
}

/** Stub of androidx.lifecycle.LifecycleObserver (host tests only). */
interface LifecycleObserver

/** Stub of androidx.lifecycle.LifecycleOwner (host tests only). */
interface LifecycleOwner {
    val lifecycle: Lifecycle
}

/** Stub of androidx.lifecycle.DefaultLifecycleObserver (host tests only). */
interface DefaultLifecycleObserver : LifecycleObserver {
    fun onCreate(owner: LifecycleOwner) {}
    fun onStart(owner: LifecycleOwner) {}
    fun onResume(owner: LifecycleOwner) {}
    fun onPause(owner: LifecycleOwner) {}
    fun onStop(owner: LifecycleOwner) {}
    fun onDestroy(owner: LifecycleOwner) {}
}

/** Stub of androidx.lifecycle.ProcessLifecycleOwner (host tests only): never started. */
class ProcessLifecycleOwner private constructor() : LifecycleOwner {
    override val lifecycle: Lifecycle = object : Lifecycle() {
        override fun addObserver(observer: LifecycleObserver) {}
        override fun removeObserver(observer: LifecycleObserver) {}
        override val currentState: State get() = State.INITIALIZED
    }

    companion object {
        private val instance = ProcessLifecycleOwner()

        @JvmStatic
        fun get(): LifecycleOwner = instance
    }
}

package io.imbridge.hosttest

import io.imbridge.LogLevel
import io.imbridge.initLogging
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.system.exitProcess
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

/** One named test; [body] gets a fresh [TestContext]. */
class TestCase(val name: String, val timeoutMs: Long = 60_000, val body: suspend TestContext.() -> Unit)

/** What a test owns: cleanups run after it (also when it fails), a scope for background collectors. */
class TestContext(val gateway: DevGateway) {
    /** Background work of the test (collectors); cancelled after the test. */
    val background = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val cleanups = CopyOnWriteArrayList<() -> Unit>()

    /** Runs [cleanup] after the test, last registered first. */
    fun defer(cleanup: () -> Unit) {
        cleanups.add(0, cleanup)
    }

    /** [resource], closed after the test. */
    fun <T : AutoCloseable> closeLater(resource: T): T = resource.also { defer { it.close() } }

    internal fun finish() {
        background.cancel()
        for (c in cleanups) runCatching(c)
    }
}

/**
 * A tiny runner (no JUnit here): one line per test, then exactly `N passed, N failed` as the
 * last line; exit status 1 on any failure. `-Dimbridge.tests=a,b` runs the tests whose name
 * contains one of the words.
 */
fun main() {
    System.getProperty("imbridge.log")?.let { initLogging(LogLevel.valueOf(it.uppercase())) }
    val gateway = DevGateway.fromProperties()
    val only = System.getProperty("imbridge.tests")?.split(',')?.filter { it.isNotBlank() }
    val tests = (sessionTests() + errorTests() + kickAndExpiryTests() + lifecycleTests() + syncTests() + loadTests())
        .filter { t -> only == null || only.any { t.name.contains(it) } }
    var passed = 0
    var failed = 0
    for (test in tests) {
        val started = System.nanoTime()
        val ctx = TestContext(gateway)
        val error = try {
            runBlocking {
                withTimeoutOrNull(test.timeoutMs) { test.body(ctx); true }
                    ?: throw AssertionError("did not finish within ${test.timeoutMs} ms")
            }
            null
        } catch (e: Throwable) {
            e
        } finally {
            ctx.finish()
        }
        val ms = (System.nanoTime() - started) / 1_000_000
        if (error == null) {
            passed++
            println("PASS ${test.name} ($ms ms)")
        } else {
            failed++
            println("FAIL ${test.name} ($ms ms): ${error::class.simpleName}: ${error.message}")
            error.stackTrace.filter { it.className.startsWith("io.imbridge") }.take(4)
                .forEach { println("    at $it") }
        }
    }
    println("$passed passed, $failed failed")
    System.out.flush()
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}

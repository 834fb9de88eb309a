package io.imbridge.hostbench

import io.imbridge.ImConfig
import io.imbridge.ImEvent
import io.imbridge.ImListener
import io.imbridge.ImManager
import io.imbridge.LogLevel
import io.imbridge.Platform
import io.imbridge.initLogging
import io.imbridge.hosttest.DevGateway
import java.io.File
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.runBlocking

/**
 * imbridge measured through the FFI, from Kotlin on the host JVM (JNA), against a dev gateway
 * process: login latency (suspend `login` → UserInfo) and the throughput of stored pushes (real
 * seqs, 1 and 100 per frame) to an `ImListener` receiving batches (`ImEvent.Messages`).
 * Run by `platforms/android/run-host-tests.sh --bench`; writes `kotlin.json` and
 * `kotlin_login_us.csv` into `-Dimbridge.out`.
 */
fun main() = runBlocking {
    val gateway = DevGateway(System.getProperty("imbridge.api"), System.getProperty("imbridge.ws"))
    val out = File(System.getProperty("imbridge.out"))
    val user = gateway.newUser("kbench")
    val token = gateway.userToken(user)
    val received = AtomicLong()
    val firstNanos = AtomicLong() // the first batch since it was cleared
    initLogging(LogLevel.WARN)
    val manager = ImManager(ImConfig(apiAddr = gateway.apiAddr, wsAddr = gateway.wsAddr, platform = Platform.ANDROID))
    manager.setListener(object : ImListener {
        override fun onEvent(event: ImEvent) {
            if (event is ImEvent.Messages) {
                firstNanos.compareAndSet(0L, System.nanoTime())
                received.addAndGet(event.messages.size.toLong())
            }
        }
    })

    repeat(200) { manager.login(user, token, null); manager.logout(null) }
    val samples = DoubleArray(2000) {
        val t = System.nanoTime()
        manager.login(user, token, null)
        val us = (System.nanoTime() - t) / 1000.0
        manager.logout(null)
        us
    }.sorted()
    fun pct(p: Double) = samples[Math.round((samples.size - 1) * p).toInt()]
    println("kotlin login  n=${samples.size} p50 %.1f µs  p90 %.1f µs  p99 %.1f µs".format(pct(0.5), pct(0.9), pct(0.99)))
    File(out, "kotlin_login_us.csv").writeText(samples.joinToString("\n") { "%.1f".format(it) } + "\n")

    // Pushes with real, increasing seqs (`/dev/send_burst` stores them first): a seq-syncing
    // client drops `/dev/push_burst`'s repeated seqs as duplicates. Each push is committed to
    // the session's store (in memory here) and reaches the listener as one ImEvent.Messages.
    manager.login(user, token, null)
    val rates = mutableListOf<String>()
    for ((count, batch) in listOf(200_000 to 1, 200_000 to 100)) {
        received.set(0)
        firstNanos.set(0L)
        val total = count.toLong()
        // Timed from the answer (by then the gateway has stored and encoded all of them) or
        // from the first batch, if that came first: the gateway starts sending as it answers.
        gateway.call("/dev/send_burst", """{"userID":"$user","fromUserID":"kpusher$batch","count":$count,"batch":$batch}""")
        val answered = System.nanoTime()
        val t = firstNanos.get().let { if (it != 0L && it < answered) it else answered }
        val deadline = System.nanoTime() + 120_000_000_000L
        while (received.get() < total && System.nanoTime() < deadline) Thread.sleep(1)
        if (received.get() < total) error("only ${received.get()} of $total pushes arrived")
        val secs = (System.nanoTime() - t) / 1e9
        val rate = total / secs
        println("kotlin push   batch=$batch $total stored messages in %.2f s = %.0f messages/s".format(secs, rate))
        rates += """"push_batch$batch":{"messages":$total,"seconds":${"%.3f".format(secs)},"per_second":${"%.0f".format(rate)}}"""
    }
    manager.logout(null)
    manager.close()
    File(out, "kotlin.json").writeText(
        """{"login":{"n":${samples.size},"p50_us":${"%.1f".format(pct(0.5))},"p90_us":${"%.1f".format(pct(0.9))},"p99_us":${"%.1f".format(pct(0.99))}},${rates.joinToString(",")}}""" + "\n",
    )
}

package io.imbridge.hosttest

import io.imbridge.ImConfig
import io.imbridge.Platform
import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/**
 * A dev gateway process (`imbridge-devserver`) seen the way an app server sees OpenIM: tokens
 * and users through its HTTP API with the admin token.
 */
class DevGateway(val apiAddr: String, val wsAddr: String, private val process: Process? = null) : AutoCloseable {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
    private val operationIds = AtomicLong()

    val adminToken: String by lazy {
        tokenIn(call("/auth/get_admin_token", """{"secret":"openIM123","userID":"imAdmin"}""", token = null))
    }

    /** POSTs [json] and returns the envelope (`{errCode, errMsg, errDlt, data}`). */
    fun post(path: String, json: String, token: String? = adminToken): String {
        val request = HttpRequest.newBuilder(URI.create(apiAddr + path))
            .timeout(Duration.ofSeconds(10))
            .header("operationID", "kt-${operationIds.incrementAndGet()}")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .apply { if (token != null) header("token", token) }
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "$path: HTTP ${response.statusCode()}: ${response.body()}" }
        return response.body()
    }

    /** Like [post], but the call must succeed (errCode 0). */
    fun call(path: String, json: String, token: String? = adminToken): String =
        post(path, json, token).also { check(errCode(it) == 0) { "$path failed: $it" } }

    /** Registers users (nickname = "Nick <id>"). */
    fun register(vararg userIds: String) {
        val users = userIds.joinToString(",") { """{"userID":${q(it)},"nickname":${q("Nick $it")}}""" }
        call("/user/user_register", """{"users":[$users]}""")
    }

    /** A fresh user ID, registered. */
    fun newUser(prefix: String): String = uniqueId(prefix).also { register(it) }

    /** A user token as `/auth/get_user_token` mints it (platform 2 = Android). */
    fun userToken(userId: String, platformId: Int = 2): String =
        tokenIn(call("/auth/get_user_token", """{"platformID":$platformId,"userID":${q(userId)}}"""))

    fun forceLogout(userId: String, platformId: Int = 2) {
        call("/auth/force_logout", """{"platformID":$platformId,"userID":${q(userId)}}""")
    }

    /** Pushes a single-chat text message from [from] to [to]. */
    fun sendText(from: String, to: String, text: String) {
        call(
            "/msg/send_msg",
            """{"sendID":${q(from)},"recvID":${q(to)},"senderPlatformID":2,"content":{"content":${q(text)}},""" +
                """"contentType":101,"sessionType":1}""",
        )
    }

    /** errCode of `/auth/parse_token` for [token]: 0 valid, 1501 expired, … */
    fun tokenCode(token: String): Int = errCode(post("/auth/parse_token", """{"token":${q(token)}}""", token = null))

    /** A config for this gateway (logging is set per process: -Dimbridge.log=LEVEL). */
    fun config(
        loginTimeoutMs: ULong = 15_000u,
        requestTimeoutMs: ULong = 10_000u,
    ) = ImConfig(
        apiAddr = apiAddr,
        wsAddr = wsAddr,
        platform = Platform.ANDROID,
        loginTimeoutMs = loginTimeoutMs,
        requestTimeoutMs = requestTimeoutMs,
    )

    /** Stops a gateway this suite started (closing its stdin is enough; destroy to be sure). */
    override fun close() {
        val p = process ?: return
        runCatching { p.outputStream.close() }
        if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly()
    }

    companion object {
        private val ids = AtomicInteger()
        private val run = java.lang.Long.toString(System.currentTimeMillis() % 1_000_000, 36)

        /** A user ID unique in this run. */
        fun uniqueId(prefix: String) = "$prefix-$run-${ids.incrementAndGet()}"

        /** The gateway run-host-tests.sh started (-Dimbridge.api / -Dimbridge.ws). */
        fun fromProperties() = DevGateway(
            System.getProperty("imbridge.api") ?: error("-Dimbridge.api is not set (use run-host-tests.sh)"),
            System.getProperty("imbridge.ws") ?: error("-Dimbridge.ws is not set (use run-host-tests.sh)"),
        )

        /** Starts another gateway process on ephemeral ports with extra [args]. */
        fun start(vararg args: String): DevGateway {
            val binary = System.getProperty("imbridge.devserver") ?: error("-Dimbridge.devserver is not set")
            val process = ProcessBuilder(
                listOf(binary, "--ws-port", "0", "--api-port", "0", "--exit-on-stdin-eof", "--log-level", "warn") + args,
            ).redirectError(ProcessBuilder.Redirect.INHERIT).start()
            val out = BufferedReader(InputStreamReader(process.inputStream))
            var ws: String? = null
            var api: String? = null
            while (ws == null || api == null) {
                val line = out.readLine() ?: run {
                    process.destroyForcibly()
                    error("$binary exited before printing its addresses")
                }
                if (line.startsWith("ws_addr=")) ws = line.removePrefix("ws_addr=")
                if (line.startsWith("api_addr=")) api = line.removePrefix("api_addr=")
            }
            return DevGateway(api, ws, process)
        }


        private fun q(s: String) = "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""

        fun errCode(envelope: String): Int =
            Regex("\"errCode\"\\s*:\\s*(-?\\d+)").find(envelope)?.groupValues?.get(1)?.toInt()
                ?: error("no errCode in $envelope")

        private fun tokenIn(envelope: String): String =
            Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(envelope)?.groupValues?.get(1)
                ?: error("no token in $envelope")
    }
}

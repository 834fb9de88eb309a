package io.imbridge.hosttest

import android.content.Context
import io.imbridge.ImEvent
import io.imbridge.ImException
import io.imbridge.ImSession
import io.imbridge.defaultDataDir
import io.imbridge.withDefaultDataDir
import java.io.File
import java.nio.file.Files

/** Lossless delivery through the Kotlin layer: missed messages, batches, sync events, the store. */
fun syncTests() = listOf(
    TestCase("messages_sent_while_logged_out_arrive_at_the_next_login_once_in_order") {
        val gina = gateway.newUser("gina")
        val hal = gateway.newUser("hal")
        val session = closeLater(ImSession(gateway.config()))
        val messages = Recorder(this, session.messages)
        val events = Recorder(this, session.events)
        session.login(gina, gateway.userToken(gina))
        events.await("the first sync") { it is ImEvent.SyncFinished }
        gateway.sendText(hal, gina, "before")
        messages.await("before") { it.text == "before" }
        session.logout()
        for (i in 1..5) gateway.sendText(hal, gina, "away $i")
        session.login(gina, gateway.userToken(gina))
        messages.await("the last one missed") { it.text == "away 5" }
        expectEq(listOf("before") + (1..5).map { "away $it" }, messages.seen.map { it.value.text }, "once, in order")
        val seqs = messages.seen.map { it.value.seq }
        expectEq((1L..6L).toList(), seqs, "seqs")
        // Each sync has a start and then an end; messages came in batches.
        events.await("the batch of the last one") {
            it is ImEvent.Messages && it.messages.any { m -> m.text == "away 5" }
        }
        val kinds = events.seen.map { it.value }
        expect(kinds.count { it is ImEvent.SyncStarted } >= 2) { "two syncs: $kinds" }
        val batched = kinds.filterIsInstance<ImEvent.Messages>().sumOf { it.messages.size }
        expectEq(6, batched, "messages in ImEvent.Messages batches")
    },

    TestCase("the_store_is_readable_offline_and_can_be_erased") {
        val ivy = gateway.newUser("ivy")
        val jon = gateway.newUser("jon")
        val home = Files.createTempDirectory("imbridge-kt").toFile()
        try {
            val context = Context(home)
            val config = gateway.config().withDefaultDataDir(context)
            expectEq(File(home, "imbridge").absolutePath, config.dataDir, "the default data dir")
            expectEq(config.dataDir, defaultDataDir(context), "defaultDataDir")
            val session = closeLater(ImSession(config))
            val messages = Recorder(this, session.messages)
            session.login(ivy, gateway.userToken(ivy))
            for (i in 1..3) gateway.sendText(jon, ivy, "t$i")
            messages.await("t3") { it.text == "t3" }
            session.logout()
            val conversations = session.conversations()
            expectEq(1, conversations.size, "one conversation")
            expectEq(3L, conversations[0].syncedSeq, "synced seq")
            expectEq("t3", conversations[0].latest?.text, "latest message")
            val newestFirst = session.messages(conversations[0].conversationId, limit = 2)
            expectEq(listOf(3L, 2L), newestFirst.map { it.seq }, "newest first, paged")
            val older = session.messages(conversations[0].conversationId, beforeSeq = 2)
            expectEq(listOf(1L), older.map { it.seq }, "the page before")
            expect(File(home, "imbridge").listFiles()!!.any { it.name.endsWith(".sqlite3") }) { "a store file" }
            session.eraseLocalData(ivy)
            expect(File(home, "imbridge").listFiles()!!.none { it.name.endsWith(".sqlite3") }) { "erased" }
            expectThrows<ImException.NotLoggedIn>("reads after the erase") { session.conversations() }
        } finally {
            home.deleteRecursively()
        }
    },
)

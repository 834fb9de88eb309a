// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// The local store in a `dataDir`: offline reads after logout, and erasing a user's data.
final class OfflineTests: GatewayTestCase {
    private var dataDir: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        dataDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("imbridge-swift-\(UUID().uuidString)", isDirectory: true)
    }

    override func tearDown() {
        super.tearDown()
        if let dataDir { try? FileManager.default.removeItem(at: dataDir) }
    }

    private func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDir.path)) ?? []).sorted()
    }

    func test_conversations_and_messages_are_read_offline_after_logout_and_erase_removes_them() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession(config: gateway.config(dataDir: dataDir.path))
        XCTAssertEqual(session.dataDir, dataDir.path)
        XCTAssertThrowsError(try session.conversations(), "nothing to read before any login") { error in
            XCTAssertEqual((error as? ImError)?.code(), ImError.NotLoggedIn.code())
        }
        _ = try await session.login(userId: userId, token: token)
        XCTAssertFalse(files().isEmpty, "the store file is in the data directory")
        let messages = session.messages
        for n in 1...3 {
            try await gateway.sendText(to: userId, "kept \(n)")
        }
        let received = try await values(of: messages, "three messages") { $0.text == "kept 3" }
        let conversationId = try XCTUnwrap(received.first?.conversationId)

        try await session.logout()

        // Offline: the conversation list and the messages, newest first, from the store.
        let conversations = try session.conversations()
        XCTAssertEqual(conversations.map(\.conversationId), [conversationId])
        XCTAssertEqual(conversations.first?.latest?.text, "kept 3")
        let stored = try session.messages(conversationId: conversationId)
        XCTAssertEqual(stored.map(\.text), ["kept 3", "kept 2", "kept 1"])
        let older = try session.messages(conversationId: conversationId, beforeSeq: stored[0].seq, limit: 1)
        XCTAssertEqual(older.map(\.text), ["kept 2"], "paged back by seq")

        try await session.eraseLocalData(userId: userId)

        XCTAssertEqual(files(), [], "the store files are gone")
        XCTAssertThrowsError(try session.conversations(), "the erased store is closed") { error in
            XCTAssertEqual((error as? ImError)?.code(), ImError.NotLoggedIn.code())
        }
        // A new login starts from the server's baseline: the conversation's newest message
        // only, none of the older cached ones.
        let events = session.events
        _ = try await session.login(userId: userId, token: token)
        _ = try await firstValue(of: events, "the first sync") { $0 == .syncFinished }
        let again = try session.messages(conversationId: conversationId)
        XCTAssertFalse(again.contains { $0.text == "kept 1" || $0.text == "kept 2" }, "\(again.map(\.text))")
    }

    func test_erasing_the_logged_in_user_is_refused() async throws {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession(config: gateway.config(dataDir: dataDir.path))
        _ = try await session.login(userId: userId, token: token)

        do {
            try await session.eraseLocalData(userId: userId)
            XCTFail("erasing the logged-in user must be refused")
        } catch ImError.InvalidArgument {
            // expected
        }
        XCTAssertFalse(files().isEmpty, "nothing was deleted")
        XCTAssertEqual(session.loginStatus, .loggedIn)
    }
}
#endif

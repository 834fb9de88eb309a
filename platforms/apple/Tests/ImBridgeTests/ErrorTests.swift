import Foundation
import XCTest
import ImBridge

/// Errors that need no server: config and input checks, the stable codes.
final class ErrorTests: XCTestCase {
    private func config(api: String = "http://127.0.0.1:10002", ws: String = "ws://127.0.0.1:10001") -> ImConfig {
        ImConfig(apiAddr: api, wsAddr: ws, platform: .osx)
    }

    private func makeSession() throws -> ImSession {
        _ = enableTestLogging
        return try ImSession(config: config(), persistent: false)
    }

    func test_a_malformed_address_is_invalid_argument() {
        XCTAssertThrowsError(try ImSession(config: config(ws: "not a url"), persistent: false)) { error in
            guard let imError = error as? ImError, case .InvalidArgument(let detail) = imError else {
                return XCTFail("expected InvalidArgument, got \(error)")
            }
            XCTAssertFalse(detail.isEmpty)
            XCTAssertEqual(imError.code(), 10002)
        }
    }

    func test_bad_input_is_refused_before_anything_changes() async throws {
        let session = try makeSession()
        defer { session.shutdown() }
        let before = session.state

        for (userId, token) in [("", "t"), ("alice", ""), ("ali\nce", "t"), ("alice", "has space")] {
            do {
                _ = try await session.login(userId: userId, token: token)
                XCTFail("login(\(userId.debugDescription), \(token.debugDescription)) should fail")
            } catch ImError.InvalidArgument {
                // expected
            }
        }
        XCTAssertEqual(session.loginStatus, .loggedOut)
        XCTAssertEqual(session.state.seq, before.seq, "nothing was queued")
    }

    func test_error_codes_are_openims() {
        let cases: [(ImError, Int32)] = [
            (.Network(detail: "x"), 10000),
            (.Timeout(detail: "x"), 10001),
            (.InvalidArgument(detail: "x"), 10002),
            (.NotLoggedIn, 10009),
            (.LoginInProgress, 10102),
            (.TokenExpired(detail: "x"), 1501),
            (.TokenInvalid(serverCode: 1503, detail: "x"), 1503),
            (.TokenKicked(detail: "x"), 1506),
            (.Server(serverCode: 1234, detail: "x"), 1234),
            (.Protocol(protocolCode: 10202, detail: "x"), 10202),
            (.Internal(detail: "x"), 10006),
            (.LoginCancelled, 19001),
            (.Shutdown, 19002),
            (.Storage(detail: "x"), 19003),
        ]
        for (error, code) in cases {
            XCTAssertEqual(error.code(), code, "\(error)")
        }
    }

    func test_after_shutdown_calls_fail_with_shutdown_and_the_streams_end() async throws {
        let session = try makeSession()
        let states = session.states
        let binding = session.bindAppBackground(
            background: Notification.Name("test.background"),
            foreground: Notification.Name("test.foreground")
        )

        let final = session.shutdown()

        do {
            _ = try await session.login(userId: "alice", token: "t")
            XCTFail("login after shutdown should fail")
        } catch ImError.Shutdown {
            // expected
        }
        XCTAssertThrowsError(try session.networkChanged(available: true))
        XCTAssertThrowsError(try session.conversations())
        let afterLogout = try await session.logout() // a no-op after shutdown
        XCTAssertEqual(afterLogout, final)
        XCTAssertTrue(binding.isCancelled)
        let seen = try await remainingValues(of: states, "the states stream")
        XCTAssertEqual(seen.last, final)
        XCTAssertEqual(final.loginStatus, .loggedOut)
        XCTAssertEqual(final.reason, .shutdown)
        XCTAssertEqual(session.shutdown(), final, "idempotent: the same final state")
    }

    func test_the_default_data_dir_is_application_support_imbridge_and_the_app_can_opt_out() throws {
        let dir = try ImSession.defaultDataDir()
        XCTAssertEqual(URL(fileURLWithPath: dir).lastPathComponent, "imbridge")
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) && isDirectory.boolValue)
        let support = try XCTUnwrap(FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask).first)
        XCTAssertEqual(URL(fileURLWithPath: dir).deletingLastPathComponent().standardizedFileURL.path,
                       support.standardizedFileURL.path)

        let byDefault = try ImSession(config: config())
        defer { byDefault.shutdown() }
        XCTAssertEqual(byDefault.dataDir, dir)

        let explicit = FileManager.default.temporaryDirectory.appendingPathComponent("imbridge-\(UUID().uuidString)").path
        var custom = config()
        custom.dataDir = explicit
        let own = try ImSession(config: custom)
        defer { own.shutdown() }
        XCTAssertEqual(own.dataDir, explicit)

        let inMemory = try ImSession(config: config(), persistent: false)
        defer { inMemory.shutdown() }
        XCTAssertNil(inMemory.dataDir)
    }
}

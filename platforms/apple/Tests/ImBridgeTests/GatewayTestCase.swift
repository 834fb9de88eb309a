// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
import XCTest
import ImBridge

/// A test case with its own dev gateway process (fresh ports, fresh users) per test.
class GatewayTestCase: XCTestCase {
    private(set) var gateway: DevGateway!
    private var sessions: [ImSession] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        gateway = try DevGateway()
    }

    override func tearDown() {
        for session in sessions {
            session.shutdown()
        }
        sessions = []
        gateway?.stop()
        gateway = nil
        super.tearDown()
    }

    /// A session on this test's gateway, shut down after the test. Its store is in memory
    /// unless `config` names a `dataDir`.
    func makeSession(
        delivery: EventDelivery = .immediate,
        config: ImConfig? = nil
    ) throws -> ImSession {
        _ = enableTestLogging
        let session = try ImSession(config: config ?? gateway.config(), delivery: delivery, persistent: false)
        sessions.append(session)
        return session
    }

    /// A registered user, its token, and a session logged in as it.
    func loggedInSession(
        delivery: EventDelivery = .immediate
    ) async throws -> (session: ImSession, userId: String, token: String) {
        let userId = uniqueUser()
        let token = try await gateway.registerUser(userId)
        let session = try makeSession(delivery: delivery)
        _ = try await session.login(userId: userId, token: token)
        return (session, userId, token)
    }
}
#endif

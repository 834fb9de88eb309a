// Not on iOS: the dev gateway is a child process (Foundation's Process).
#if os(macOS) || os(Linux)
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking // URLSession on Linux
#endif
import XCTest
import ImBridge

/// A dev gateway process (`imbridge-devserver`) on ephemeral loopback ports, and the HTTP calls
/// an app server would make to it (tokens, users, messages, kicks).
///
/// The binary is `$IMBRIDGE_DEVSERVER`, or `target/debug/imbridge-devserver` of the repository
/// this package lives in (`cargo build -p imbridge-devserver`).
final class DevGateway {
    let wsAddr: String
    let apiAddr: String
    private let process: Process
    private let stdin: Pipe
    private var adminToken: String?

    static let secret = "openIM123"
    static let admin = "imAdmin"

    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["IMBRIDGE_DEVSERVER"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        // Tests/ImBridgeTests/DevGateway.swift → the repository root, five levels up.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 {
            root.deleteLastPathComponent()
        }
        return root.appendingPathComponent("target/debug/imbridge-devserver")
    }

    /// Starts a gateway and reads its two address lines (`ws_addr=`, `api_addr=`).
    init() throws {
        let exe = Self.executable
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            throw TestFailure("no dev gateway at \(exe.path): run `cargo build -p imbridge-devserver` "
                + "in the repository, or set IMBRIDGE_DEVSERVER")
        }
        let process = Process()
        process.executableURL = exe
        process.arguments = ["--ws-port", "0", "--api-port", "0", "--log-level", "warn", "--exit-on-stdin-eof"]
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        try process.run()

        var ws: String?
        var api: String?
        var pending = ""
        let reader = stdout.fileHandleForReading
        while ws == nil || api == nil {
            let chunk = reader.availableData
            guard !chunk.isEmpty else {
                process.terminate()
                throw TestFailure("the dev gateway exited before printing its addresses")
            }
            pending += String(decoding: chunk, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                let line = String(pending[..<newline])
                pending = String(pending[pending.index(after: newline)...])
                if line.hasPrefix("ws_addr=") { ws = String(line.dropFirst("ws_addr=".count)) }
                if line.hasPrefix("api_addr=") { api = String(line.dropFirst("api_addr=".count)) }
            }
        }
        self.process = process
        self.stdin = stdin
        wsAddr = ws!
        apiAddr = api!
    }

    /// Closes the gateway's stdin (it exits on EOF) and waits up to 5 s, then kills it.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            process.terminate()
        }
    }

    /// A config for this gateway, macOS platform, short timeouts for the tests; the store in
    /// memory unless `dataDir` is given.
    func config(loginTimeoutMs: UInt64 = 10_000, dataDir: String? = nil) -> ImConfig {
        ImConfig(
            apiAddr: apiAddr,
            wsAddr: wsAddr,
            platform: .osx,
            loginTimeoutMs: loginTimeoutMs,
            requestTimeoutMs: 5_000,
            logoutTimeoutMs: 2_000,
            dataDir: dataDir
        )
    }

    // MARK: the HTTP API (what an app server does)

    /// Registers `userId` and returns a token for it on macOS (platform 4).
    func registerUser(_ userId: String, nickname: String? = nil) async throws -> String {
        try await call("/user/user_register", ["users": [["userID": userId, "nickname": nickname ?? userId]]])
        return try await userToken(userId)
    }

    func userToken(_ userId: String, platformId: Int = 4) async throws -> String {
        let data = try await call("/auth/get_user_token", ["platformID": platformId, "userID": userId])
        guard let token = data?["token"] as? String else { throw TestFailure("no token in get_user_token") }
        return token
    }

    /// Sends a text message from the admin to `userId` (OpenIM /msg/send_msg).
    func sendText(to userId: String, _ text: String) async throws {
        try await call("/msg/send_msg", [
            "sendID": Self.admin, "recvID": userId, "senderNickname": "Admin",
            "content": ["content": text], "contentType": 101, "sessionType": 1,
        ])
    }

    /// Kicks every connection of `userId` on macOS (OpenIM /auth/force_logout).
    func forceLogout(_ userId: String, platformId: Int = 4) async throws {
        try await call("/auth/force_logout", ["platformID": platformId, "userID": userId])
    }

    @discardableResult
    private func call(_ path: String, _ body: [String: Any]) async throws -> [String: Any]? {
        let token = try await admin()
        return try await post(path, body, token: token)
    }

    private func admin() async throws -> String {
        if let adminToken { return adminToken }
        let data = try await post("/auth/get_admin_token", ["secret": Self.secret, "userID": Self.admin], token: nil)
        guard let token = data?["token"] as? String else { throw TestFailure("no admin token") }
        adminToken = token
        return token
    }

    /// POSTs JSON with the `operationID` (and `token`) headers; returns `data`, fails on errCode ≠ 0.
    private func post(_ path: String, _ body: [String: Any], token: String?) async throws -> [String: Any]? {
        guard let url = URL(string: apiAddr + path) else { throw TestFailure("bad URL \(apiAddr + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(UUID().uuidString, forHTTPHeaderField: "operationID")
        if let token { request.setValue(token, forHTTPHeaderField: "token") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (bytes, _) = try await URLSession.shared.data(for: request)
        guard let json = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
            throw TestFailure("\(path): not a JSON object")
        }
        let code = (json["errCode"] as? Int) ?? -1
        guard code == 0 else {
            throw TestFailure("\(path): errCode \(code) \(json["errMsg"] ?? "") \(json["errDlt"] ?? "")")
        }
        return json["data"] as? [String: Any]
    }
}
#endif

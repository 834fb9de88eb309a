// swift-tools-version:6.0
// 6.0 (Xcode 16): per-target Swift language modes (`swiftLanguageMode`); both targets are Swift 6.
// (The code UniFFI 0.32 generates needs at least 5.10: it uses `nonisolated(unsafe)`.)

import PackageDescription

// ImBridgeFFI is the Rust side: a static libimbridge for iOS (arm64), the iOS simulator
// (arm64 + x86_64) and macOS (arm64 + x86_64), with the C header and module map, as an
// XCFramework.
//
// By default it is the local build of `./build-xcframework.sh` (next to this file; not in git).
//
// For a release, upload the zip that `./build-xcframework.sh --zip` makes and put its URL and
// checksum (printed by the script; also `swift package compute-checksum ImBridgeFFI.xcframework.zip`)
// here instead:
//
//     .binaryTarget(
//         name: "ImBridgeFFI",
//         url: "https://downloads.example.com/imbridge/0.1.0/ImBridgeFFI.xcframework.zip",
//         checksum: "<64 hex digits>"
//     ),
//
// and keep `Sources/ImBridge/Generated/ImBridge.swift` from the same commit: the bindings check,
// when the library loads, that they match it (contract version and one checksum per API item).
#if os(Linux)
// Linux only (CI and `./test-linux.sh`; there is no XCFramework there): the host-built
// target/debug/libimbridge.so. The module map in Linux/ImBridgeFFI names the header that
// test-linux.sh generates into target/apple-linux, and links `imbridge` (the script passes -L).
let ffi: Target = .systemLibrary(name: "ImBridgeFFI", path: "Linux/ImBridgeFFI")
// The shared library names the system libraries it needs itself (glibc has iconv).
let rustStd: [LinkerSetting] = []
#else
let ffi: Target = .binaryTarget(name: "ImBridgeFFI", path: "ImBridgeFFI.xcframework")
// What Rust's std needs besides libSystem (`--print native-static-libs`).
let rustStd: [LinkerSetting] = [.linkedLibrary("iconv")]
#endif

let package = Package(
    name: "ImBridge",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "ImBridge", targets: ["ImBridge"]),
    ],
    targets: [
        ffi,
        // The generated bindings (Sources/ImBridge/Generated, committed; CI checks they are
        // what the library generates) plus the hand-written Swift layer.
        .target(
            name: "ImBridge",
            dependencies: ["ImBridgeFFI"],
            path: "Sources/ImBridge",
            swiftSettings: [.swiftLanguageMode(.v6)],
            linkerSettings: rustStd
        ),
        // `swift test` on a Mac: needs the XCFramework (at least its macOS slice) and the dev
        // gateway binary (target/debug/imbridge-devserver). On Linux: ./test-linux.sh.
        .testTarget(
            name: "ImBridgeTests",
            dependencies: ["ImBridge"],
            path: "Tests/ImBridgeTests",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

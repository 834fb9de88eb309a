// swift-tools-version:5.10
// 5.10, not 5.9: the code UniFFI 0.32 generates uses `nonisolated(unsafe)` (Swift 5.10, Xcode 15.3).

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
let ffi: Target = .binaryTarget(name: "ImBridgeFFI", path: "ImBridgeFFI.xcframework")

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
            linkerSettings: [
                // What Rust's std needs besides libSystem (`--print native-static-libs`).
                .linkedLibrary("iconv"),
            ]
        ),
        // `swift test` on a Mac: needs the XCFramework (at least its macOS slice) and the dev
        // gateway binary (target/debug/imbridge-devserver). See README.md.
        .testTarget(
            name: "ImBridgeTests",
            dependencies: ["ImBridge"],
            path: "Tests/ImBridgeTests"
        ),
    ]
)

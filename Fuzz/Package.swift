// swift-tools-version:6.0
// libFuzzer targets for coroner, a nested package so the root `swift build` / `swift test` never see
// an executable without `main` (libFuzzer supplies it). Build and run with ../scripts/fuzz.sh.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "coroner-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        // Bytes -> frames -> Run (decode, track, diagnose) -> every renderer.
        .target(name: "FuzzSupport", dependencies: [.product(name: "CoronerKit", package: rootIdentity)]),
        // Input: a stream of frames (see FrameStream.swift).
        .executableTarget(name: "FrameFuzzer", dependencies: ["FuzzSupport"]),
        // Input: a whole capture file, read with the pure-Swift CaptureFileReader.
        .executableTarget(name: "CaptureFileFuzzer", dependencies: ["FuzzSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

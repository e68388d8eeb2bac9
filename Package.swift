// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "coroner",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coroner", targets: ["coroner"]),
        .library(name: "CoronerKit", targets: ["Analysis", "Reporting"]),
        .executable(name: "coroner-gen", targets: ["CaptureGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libpcap, found through pkg-config; Debian/Ubuntu: apt-get install libpcap-dev.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]),
        // Zero-copy views over packet bytes. Standard library only.
        .target(name: "WireFormat"),
        // libpcap as Swift: the only target that calls pcap_*.
        .target(name: "PacketCapture", dependencies: ["CPcap", "WireFormat"]),
        // Flow table and per-endpoint TCP state. Never sees libpcap.
        // Software prefetch (`__builtin_prefetch`) as an inlinable C function: the tracker's look-ahead.
        .target(name: "CPrefetch"),
        .target(name: "ConnectionTracking", dependencies: ["WireFormat", "CPrefetch"]),
        // Finished connection -> verdict, as data.
        .target(name: "Diagnosis", dependencies: ["ConnectionTracking", "WireFormat"]),
        // Capture source -> decode -> track -> diagnose, shared by every subcommand.
        .target(name: "Analysis", dependencies: ["PacketCapture", "WireFormat", "ConnectionTracking", "Diagnosis", "CPrefetch"]),
        // Report model and renderers (text, JSON, Markdown). Foundation allowed here.
        .target(name: "Reporting", dependencies: ["Analysis", "Diagnosis", "ConnectionTracking", "WireFormat"]),
        .executableTarget(
            name: "coroner",
            dependencies: [
                "Analysis", "Reporting", "PacketCapture", "WireFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Synthetic capture generator for the benchmark (scripts/bench.sh). Standard library and libc only.
        .executableTarget(name: "CaptureGenerator"),
        // Test-only helpers: segment builder, pure-Swift pcap writer.
        .target(name: "TestSupport", dependencies: ["WireFormat", "ConnectionTracking"]),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat", "TestSupport"]),
        .testTarget(name: "PacketCaptureTests", dependencies: ["PacketCapture", "WireFormat", "TestSupport"]),
        .testTarget(name: "ConnectionTrackingTests", dependencies: ["ConnectionTracking", "WireFormat", "TestSupport"]),
        .testTarget(name: "DiagnosisTests", dependencies: ["Diagnosis", "ConnectionTracking", "WireFormat", "TestSupport"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Analysis", "TestSupport"]),
        // Damaged files, hostile traffic, fuzzer regressions (Regressions/ holds inputs, not sources).
        .testTarget(
            name: "RobustnessTests",
            dependencies: ["Analysis", "Reporting", "PacketCapture", "WireFormat", "ConnectionTracking", "Diagnosis", "TestSupport"],
            exclude: ["Regressions"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["Analysis", "Reporting", "PacketCapture", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

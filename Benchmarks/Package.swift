// swift-tools-version:6.1
// Micro-benchmarks of coroner's per-packet hot path (package-benchmark). A separate package so the
// main one does not depend on it. Run from this directory:
//   swift package benchmark                                  # run and print
//   swift package --allow-writing-to-package-directory benchmark thresholds update --path Thresholds/6.3
// The thresholds are p90 values written by `thresholds update`; compare a new run's printed
// `Malloc (total)` with them. (`benchmark thresholds check --path DIR` in benchmark 1.38.1 answers "Could
// not find any matching absolute thresholds" even for a directory `thresholds update` has just written.)
import PackageDescription

let package = Package(
    name: "coroner-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "coroner", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CoronerKit", package: "coroner"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

import ArgumentParser

/// `edt-bench`: benchmarks of edt's hot paths, each printed beside a baseline measured in the same
/// run. Not tests: the machines are shared and noisy, so figures are medians of repeated runs.
@main
struct EDTBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edt-bench",
        abstract: "Benchmarks of edt, with baselines measured in the same run.",
        discussion: """
            Build in release mode, linked as edt is deployed, for meaningful figures: \
            swift build -c release --static-swift-stdlib --product edt (and --product edt-bench)
            """,
        subcommands: [
            MergeBenchmark.self, FramingBenchmark.self, CaptureBenchmark.self, PushBenchmark.self, NoopBenchmark.self,
            DeadlinesBenchmark.self, LaptopBenchmark.self, HandoverBenchmark.self, LoadBenchmark.self,
        ]
    )
}

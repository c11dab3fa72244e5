import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Timing helpers shared by the benchmarks.
enum Measure {
    /// Seconds taken by `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        return seconds(try clock.measure(body))
    }

    /// Wall-clock seconds `body` takes, awaited.
    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        return seconds(clock.now - start)
    }

    private static func seconds(_ elapsed: Duration) -> Double {
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// CPU seconds (user + system) this process has used so far, all threads.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds (user + system) process `pid` has used so far, from `/proc/PID/stat`; nil
    /// when it cannot be read.
    static func cpuSeconds(ofProcess pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ticks > 0 ? (user + system) / ticks : nil
    }

    /// The median of `values` (not empty).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// Progress on stderr: on a terminal, one line rewritten; elsewhere nothing, or with
/// `everywhere` one plain line per message (for long setups whose stderr goes to a log).
struct Progress {
    let enabled: Bool
    /// Plain lines rather than one rewritten line.
    private let lines: Bool

    init(everywhere: Bool = false) {
        let terminal = isatty(2) == 1
        enabled = terminal || everywhere
        lines = !terminal
    }

    func say(_ message: String) {
        guard enabled else { return }
        Self.writeToStandardError(lines ? message + "\n" : "\u{1B}[2K\r" + message)
    }

    func done() {
        guard enabled, !lines else { return }
        Self.writeToStandardError("\u{1B}[2K\r")
    }

    private static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// A JSON object with keys in the order given, for benchmark output.
struct JSONLine {
    private var members: [String] = []

    mutating func add(_ key: String, _ value: Double, decimals: Int = 6) {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        members.append("\"\(key)\": \(rounded)")
    }

    mutating func add(_ key: String, _ value: Int) { members.append("\"\(key)\": \(value)") }

    mutating func add(_ key: String, _ value: Bool) { members.append("\"\(key)\": \(value)") }

    /// A nested object.
    mutating func add(_ key: String, _ value: JSONLine) { members.append("\"\(key)\": \(value.text)") }

    var text: String { "{" + members.joined(separator: ", ") + "}" }
}

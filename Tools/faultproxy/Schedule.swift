// The fault schedule: which connection gets which fault, as a pure function of (seed, connection
// number), so a seed reproduces a run. Positions inside a connection come from the same generator.
import ArgumentParser

/// The faults the proxy can inject. Each applies to the first HTTP exchange of a connection,
/// after which the proxy closes both sides. The network's faults damage or lose bytes; the
/// attacker's (`rewrite`, `rewrite-request`) alter an EDTLP stream and fix its checksums.
enum FaultKind: String, CaseIterable, Sendable {
    case drop
    case truncate
    case flip
    case stall
    case badGateway = "502"
    case unavailable = "503"
    case rewrite
    case rewriteRequest = "rewrite-request"
    case endless

    /// An on-path attacker's alteration rather than a network fault: never in the default list,
    /// so that a seed gives the same schedule as before these kinds existed.
    var isAttack: Bool { self == .rewrite || self == .rewriteRequest || self == .endless }

    /// Its description for `--help`, wrapped to fit beside the kind's name.
    var help: [String] {
        switch self {
        case .drop:
            [
                "read the request head and a random part of its body (sending them",
                "upstream or not), then reset the client (RST) with no response",
            ]
        case .truncate:
            [
                "forward the request; send the response cut at a random point after",
                "its head, strictly before its end (inside the head if no body)",
            ]
        case .flip:
            [
                "XOR a non-zero mask into one random byte of the request body or of",
                "the response body (never a head); the log says which byte",
            ]
        case .stall:
            [
                "forward the request and the response head, then send nothing for",
                "--stall-seconds, then close",
            ]
        case .badGateway:
            [
                "answer 502 Bad Gateway without contacting the upstream"
            ]
        case .unavailable:
            [
                "answer 503 Service Unavailable (Retry-After: 1) without contacting",
                "the upstream",
            ]
        case .rewrite:
            [
                "an attacker: read the whole response body and, if it is an EDTLP",
                "stream, change one byte of its first ACK or REC line (keeping it",
                "valid EDTLP), recompute every +SUM and END checksum, leave the SIG",
                "lines as they were; sent with a Content-Length (not in the default)",
            ]
        case .rewriteRequest:
            [
                "the same on the request body (de-chunked), in its first REC line's",
                "JSON; forwarded with a Content-Length (not in the default)",
            ]
        case .endless:
            [
                "an attacker: read the request, then answer 200 with an EDTLP reply's",
                "first line and ignorable frames for ever, never signed, without",
                "contacting the upstream, until the client stops (not in the default)",
            ]
        }
    }

    /// All kinds with their descriptions, for `--help`.
    static var helpText: String {
        allCases.map { kind in
            kind.help.enumerated().map { index, line in
                let label = index == 0 ? kind.rawValue : ""
                // A name too long for the column gets its own line.
                if label.count > 8 { return "  " + label + "\n" + String(repeating: " ", count: 12) + line }
                return "  " + label + String(repeating: " ", count: 10 - label.count) + line
            }.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

/// A non-empty, comma-separated list of fault kinds, such as `drop,503`.
struct FaultList: Sendable, ExpressibleByArgument {
    let kinds: [FaultKind]

    /// Every network fault (the attacker's kinds are asked for by name).
    static let all = FaultList(kinds: FaultKind.allCases.filter { !$0.isAttack })

    init(kinds: [FaultKind]) {
        self.kinds = kinds
    }

    init?(argument: String) {
        var kinds: [FaultKind] = []
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let kind = FaultKind(rawValue: name.filter { $0 != " " }.lowercased()) else { return nil }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        guard !kinds.isEmpty else { return nil }
        self.kinds = kinds
    }

    var defaultValueDescription: String { kinds.map(\.rawValue).joined(separator: ",") }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator whose output is the same on every
/// platform and Swift version, unlike the standard library's default generator.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0), by the multiply-high method.
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(_:) needs a positive bound")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A number in `0..<1` with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    mutating func coinFlip() -> Bool {
        next() >> 63 == 1
    }

    /// A non-zero byte, to XOR into a byte so that it surely changes.
    mutating func nonZeroByte() -> UInt8 {
        UInt8(1 + below(255))
    }

    /// An independent generator seeded from this one (for a second thread of the same connection).
    mutating func split() -> SplitMix64 {
        SplitMix64(seed: next())
    }
}

/// What happens to one connection: its number, its fault (nil: pass through), and the generator
/// that picks its positions.
struct Decision: Sendable {
    let connection: Int
    let fault: FaultKind?
    var random: SplitMix64
}

/// Decides each connection's fault from the seed, the rate and the fault kinds.
struct Schedule: Sendable {
    let seed: UInt64
    let rate: Double
    let kinds: [FaultKind]

    /// The decision for connection `number` (1, 2, 3...). Always draws the same numbers in the
    /// same order, so changing `rate` only turns faults on or off, never changes their kind.
    func decision(for number: Int) -> Decision {
        var random = SplitMix64(seed: seed ^ (UInt64(number) &* 0xD1B5_4A32_D192_ED03))
        let roll = random.unit()
        let kind = kinds[random.below(kinds.count)]
        return Decision(connection: number, fault: roll < rate ? kind : nil, random: random)
    }
}

public import Replication

/// The text notation of replication values on EDTLP lines.
///
/// - A dot: `device:counter`, e.g. `edt-laptop-a:12`.
/// - A version vector: dots joined by `,`, sorted by device byte order, counters without leading
///   zeros, e.g. `central:41,edt-laptop-a:12`; the empty vector is `-`.
public enum Notation {
    /// `device:counter`.
    public static func text(_ dot: Dot) -> String { "\(dot.device.rawValue):\(dot.counter)" }

    /// The vector notation; `-` when empty.
    public static func text(_ vector: VersionVector) -> String {
        vector.isEmpty ? "-" : vector.elements.map { "\($0.device.rawValue):\($0.counter)" }.joined(separator: ",")
    }

    /// Parses `device:counter`; nil when malformed.
    public static func dot(_ text: Substring) -> Dot? {
        guard let colon = text.lastIndex(of: ":"),
            let device = try? DeviceID(String(text[..<colon])),
            let counter = counter(text[text.index(after: colon)...])
        else { return nil }
        return try? Dot(device, counter)
    }

    /// Parses the vector notation, strictly: sorted, no repeated device, no zero counter.
    public static func vector(_ text: Substring) -> VersionVector? {
        if text == "-" { return VersionVector() }
        var counters: [DeviceID: UInt64] = [:]
        var previous: DeviceID?
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let dot = dot(part) else { return nil }
            if let previous, !(previous < dot.device) { return nil }
            previous = dot.device
            counters[dot.device] = dot.counter
        }
        return counters.isEmpty ? nil : VersionVector(counters)
    }

    /// A decimal counter: digits only, no leading zero, positive, fits 64 bits.
    static func counter(_ text: Substring) -> UInt64? {
        let utf8 = text.utf8
        guard let first = utf8.first, first != UInt8(ascii: "0"), utf8.count <= 20,
            utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }
}

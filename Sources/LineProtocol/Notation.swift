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

    /// Appends `device:counter` to `out`, without building a string.
    public static func append(_ dot: Dot, to out: inout [UInt8]) {
        out.append(contentsOf: dot.device.rawValue.utf8)
        out.append(UInt8(ascii: ":"))
        appendDecimal(dot.counter, to: &out)
    }

    /// Appends the vector notation to `out`, without building a string.
    public static func append(_ vector: VersionVector, to out: inout [UInt8]) {
        let elements = vector.elements
        guard !elements.isEmpty else {
            out.append(UInt8(ascii: "-"))
            return
        }
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: element.device.rawValue.utf8)
            out.append(UInt8(ascii: ":"))
            appendDecimal(element.counter, to: &out)
        }
    }

    private static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var remaining = value
            var start = 20
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<20]))
        }
    }

    /// Parses `device:counter`; nil when malformed.
    public static func dot(_ text: Substring) -> Dot? {
        var devices: DeviceID?
        return dot(text, reusing: &devices)
    }

    /// Parses `device:counter`, reusing `devices` (the last device id read) when the text names
    /// it again, and leaving the device read there: a record's dots mostly name one device, and
    /// this spares validating and copying its id each time.
    static func dot(_ text: Substring, reusing devices: inout DeviceID?) -> Dot? {
        let utf8 = text.utf8
        guard let colon = utf8.lastIndex(of: UInt8(ascii: ":")), let counter = counter(text[utf8.index(after: colon)...]) else {
            return nil
        }
        let name = text[..<colon]
        let device: DeviceID
        if let known = devices, known.rawValue.utf8.elementsEqual(name.utf8) {
            device = known
        } else {
            guard let parsed = try? DeviceID(String(name)) else { return nil }
            device = parsed
            devices = parsed
        }
        return try? Dot(device, counter)
    }

    /// Parses the vector notation, strictly: sorted, no repeated device, no zero counter.
    public static func vector(_ text: Substring) -> VersionVector? {
        var devices: DeviceID?
        return vector(text, reusing: &devices)
    }

    /// ``vector(_:)``, reusing the last device id read (see ``dot(_:reusing:)``).
    static func vector(_ text: Substring, reusing devices: inout DeviceID?) -> VersionVector? {
        if text == "-" { return VersionVector() }
        if !text.utf8.contains(UInt8(ascii: ",")) {
            // The common case, a vector of one device's writes.
            guard let dot = dot(text, reusing: &devices) else { return nil }
            var vector = VersionVector()
            vector.insert(dot)
            return vector
        }
        var vector = VersionVector()
        var previous: DeviceID?
        for part in text.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let dot = dot(Substring(part)) else { return nil }
            if let previous, !(previous < dot.device) { return nil }
            previous = dot.device
            vector.insert(dot)
        }
        return vector.isEmpty ? nil : vector
    }

    /// A decimal counter: digits only, no leading zero, positive, fits 64 bits.
    static func counter(_ text: Substring) -> UInt64? {
        let utf8 = text.utf8
        guard let first = utf8.first, first != UInt8(ascii: "0"), utf8.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

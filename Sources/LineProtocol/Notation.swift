public import Replication

#if canImport(Glibc)
import Glibc
#endif

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
        JSONPayload.append(utf8: dot.device.rawValue, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDecimal(dot.counter, to: &out)
    }

    /// Appends the vector notation to `out`, without building a string.
    public static func append(_ vector: VersionVector, to out: inout [UInt8]) {
        guard !vector.isEmpty else {
            out.append(UInt8(ascii: "-"))
            return
        }
        var first = true
        vector.forEachElement { element in
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONPayload.append(utf8: element.device.rawValue, to: &out)
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
        return dot(bytes: Array(text.utf8)[...], reusing: &devices)
    }

    /// Parses `device:counter` from bytes (a payload's), reusing `devices` (the last device id
    /// read) when the bytes name it again, and leaving the device read there: a record's dots
    /// mostly name one device, and this spares validating and copying its id each time.
    static func dot(bytes: ArraySlice<UInt8>, reusing devices: inout DeviceID?) -> Dot? {
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")), let counter = counter(bytes[(colon + 1)...]) else {
            return nil
        }
        let name = bytes[..<colon]
        let device: DeviceID
        if let known = devices, Self.spells(known.rawValue, name) {
            device = known
        } else {
            guard let parsed = try? DeviceID(String(decoding: name, as: UTF8.self)) else { return nil }
            device = parsed
            devices = parsed
        }
        return try? Dot(device, counter)
    }

    /// Whether `bytes` are the UTF-8 of `text`.
    static func spells(_ text: String, _ bytes: ArraySlice<UInt8>) -> Bool {
        var id = text
        return id.withUTF8 { stored in
            bytes.withUnsafeBufferPointer { read in
                stored.count == read.count
                    && (stored.isEmpty || memcmp(stored.baseAddress!, read.baseAddress!, stored.count) == 0)
            }
        }
    }

    /// Parses the vector notation, strictly: sorted, no repeated device, no zero counter.
    public static func vector(_ text: Substring) -> VersionVector? {
        var devices: DeviceID?
        return vector(bytes: Array(text.utf8)[...], reusing: &devices)
    }

    /// ``vector(_:)`` from bytes (a payload's), reusing the last device id read (see
    /// ``dot(bytes:reusing:)``).
    static func vector(bytes: ArraySlice<UInt8>, reusing devices: inout DeviceID?) -> VersionVector? {
        if bytes.count == 1, bytes.first == UInt8(ascii: "-") { return VersionVector() }
        if !bytes.contains(UInt8(ascii: ",")) {
            // The common case, a vector of one device's writes.
            guard let dot = dot(bytes: bytes, reusing: &devices) else { return nil }
            var vector = VersionVector()
            vector.insert(dot)
            return vector
        }
        var vector = VersionVector()
        var previous: DeviceID?
        for part in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let dot = dot(bytes: part, reusing: &devices) else { return nil }
            if let previous, !(previous < dot.device) { return nil }
            previous = dot.device
            vector.insert(dot)
        }
        return vector.isEmpty ? nil : vector
    }

    /// A decimal counter: digits only, no leading zero, positive, at most ``Dot/maximumCounter``.
    static func counter(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard let first = bytes.first, first != UInt8(ascii: "0"), bytes.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value <= Dot.maximumCounter ? value : nil
    }
}

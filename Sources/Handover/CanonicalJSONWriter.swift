import LineProtocol
import Referrals
import Replication

/// Writes canonical JSON (``JSONPayload``) straight into bytes, member by member, with no
/// ``FieldValue`` made first: what the handover package's thousands of cases are written with.
///
/// The caller gives each object's keys in the canonical order (sorted by their UTF-8 bytes);
/// debug builds check it. The bytes are then those of ``JSONPayload/write(_:to:)`` of the same
/// value, which the tests compare.
///
/// ```swift
/// var writer = CanonicalJSONWriter()
/// writer.beginObject()
/// writer.key("id"); writer.string("r1")
/// writer.key("open"); writer.bool(true)
/// writer.endObject()
/// ```
struct CanonicalJSONWriter {
    /// What has been written.
    private(set) var bytes: [UInt8]
    /// A value was written at this level: the next member or item needs a comma first.
    private var needsComma = false
    #if DEBUG
    /// Each open object's last key, to check the order.
    private var lastKeys: [[UInt8]?] = []
    #endif

    init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The value of the bytes written (one whole value), for callers that want it as a value.
    var value: FieldValue { Self.readBack(bytes) }

    /// `bytes` this writer wrote, read back as a value.
    static func readBack(_ bytes: [UInt8]) -> FieldValue {
        do {
            return try JSONPayload.read(bytes[...], maximumDepth: 64)
        } catch {
            // Only a fault in the writer itself could leave bytes that do not read back.
            assertionFailure("CanonicalJSONWriter wrote JSON it cannot read back: \(error)")
            return .null
        }
    }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        #if DEBUG
        lastKeys.append(nil)
        #endif
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
        #if DEBUG
        lastKeys.removeLast()
        #endif
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member's key: a literal that needs no escaping, after the one before it in byte order.
    mutating func key(_ key: StaticString) {
        key.withUTF8Buffer { self.key(bytes: $0) }
    }

    /// A member's key made at run time (a deadline's name, say), escaped as needed.
    mutating func key(_ key: String) {
        #if DEBUG
        checkOrder(Array(key.utf8))
        #endif
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONPayload.write(string: key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    private mutating func key(bytes key: UnsafeBufferPointer<UInt8>) {
        #if DEBUG
        checkOrder(Array(key))
        #endif
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ text: String) {
        separate()
        JSONPayload.write(string: text, to: &bytes)
        needsComma = true
    }

    /// The text, or `null` for none.
    mutating func string(_ text: String?) {
        guard let text else { return null() }
        string(text)
    }

    mutating func bool(_ flag: Bool) {
        separate()
        append(flag ? "true" : "false")
        needsComma = true
    }

    mutating func bool(_ flag: Bool?) {
        guard let flag else { return null() }
        bool(flag)
    }

    mutating func integer(_ number: Int64?) {
        guard let number else { return null() }
        separate()
        bytes.append(contentsOf: String(number).utf8)
        needsComma = true
    }

    /// The instant in London's offset (``LondonTime/text(_:)``), or `null` for none.
    mutating func londonTime(_ instant: Instant?) {
        guard let instant else { return null() }
        separate()
        bytes.append(UInt8(ascii: "\""))
        LondonTime.write(instant, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func null() {
        separate()
        append("null")
        needsComma = true
    }

    /// An array of texts.
    mutating func strings(_ texts: [String]) {
        beginArray()
        texts.withUnsafeBufferPointer { texts in
            for index in texts.indices { string(texts[index]) }
        }
        endArray()
    }

    /// An array of values, each written where it is in `items` (lent, not copied: a copy of a
    /// value holding texts and arrays costs a reference count on each).
    mutating func array(_ items: [some CanonicalJSONWritable]) {
        beginArray()
        items.withUnsafeBufferPointer { items in
            for index in items.indices { items[index].write(to: &self) }
        }
        endArray()
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    #if DEBUG
    private mutating func checkOrder(_ key: [UInt8]) {
        guard let last = lastKeys.indices.last else { preconditionFailure("a key outside an object") }
        if let previous = lastKeys[last] {
            assert(previous.lexicographicallyPrecedes(key), "\(String(decoding: key, as: UTF8.self)) is out of order")
        }
        lastKeys[last] = key
    }
    #endif
}

/// A value the handover writes as canonical JSON member by member.
protocol CanonicalJSONWritable {
    /// Writes the value, its keys in canonical order.
    func write(to writer: inout CanonicalJSONWriter)
}

extension CanonicalJSONWritable {
    /// The value as JSON: the bytes ``write(to:)`` writes, read back (so its shape is written
    /// once, by ``write(to:)``).
    var writtenJSON: FieldValue {
        var writer = CanonicalJSONWriter()
        write(to: &writer)
        return writer.value
    }
}

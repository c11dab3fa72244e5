import Crypto

/// The canonical, deterministic byte form of replication values, for digests and size figures.
///
/// Everything is written in a fixed order (records by id, fields by path, siblings and entries by
/// dot, object keys by their UTF-8 bytes), so replicas that have seen the same updates produce the
/// same bytes. Integers are LEB128 varints (signed ones zig-zagged), strings are a varint byte
/// length then UTF-8, doubles are their IEEE 754 bits big-endian. The format is versioned by
/// ``ReplicationModule/canonicalEncodingVersion``.
struct CanonicalWriter {
    var bytes: [UInt8] = []

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    mutating func write(varint value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func write(count: Int) { write(varint: UInt64(count)) }

    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            write(count: utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func write(_ vector: VersionVector) {
        write(count: vector.elements.count)
        for element in vector.elements {
            write(element.device.rawValue)
            write(varint: element.counter)
        }
    }

    mutating func write(_ dot: Dot) {
        write(dot.device.rawValue)
        write(varint: dot.counter)
    }

    mutating func write(_ value: FieldValue) {
        switch value {
        case .null:
            bytes.append(0)
        case .bool(let flag):
            bytes.append(flag ? 2 : 1)
        case .integer(let number):
            bytes.append(3)
            write(varint: UInt64(bitPattern: (number << 1) ^ (number >> 63)))
        case .double(let number):
            bytes.append(4)
            let bits = number.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
            }
        case .string(let text):
            bytes.append(5)
            write(text)
        case .array(let items):
            bytes.append(6)
            write(count: items.count)
            for item in items { write(item) }
        case .object(let members):
            bytes.append(7)
            write(count: members.count)
            for (key, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                write(key)
                write(member)
            }
        }
    }

    mutating func write(_ record: Record) {
        write(record.id.rawValue)
        write(count: record.fields.count)
        for field in record.fields {
            write(field.path.rawValue)
            write(field.register.context)
            write(count: field.register.siblings.count)
            for sibling in field.register.siblings {
                write(sibling.dot)
                write(sibling.value)
            }
        }
        write(count: record.entries.count)
        for entry in record.entries {
            write(entry.dot)
            write(entry.kind)
            write(entry.payload)
        }
    }
}

extension Replica {
    private static let magic = Array("EDT-REPLICA".utf8) + [UInt8(ReplicationModule.canonicalEncodingVersion)]

    /// The replica's content in canonical form: records, fields, values, contexts and entries.
    ///
    /// The version vector (``knowledge``) and the writing device are not part of it: they say what
    /// a replica has received, not what it holds, and two replicas that hold the same updates must
    /// encode the same.
    public func canonicalEncoding() -> [UInt8] {
        var writer = CanonicalWriter()
        writer.bytes.append(contentsOf: Self.magic)
        writer.write(count: records.count)
        for id in recordIDs {
            if let record = records[id] { writer.write(record) }
        }
        return writer.bytes
    }

    /// SHA-256 of ``canonicalEncoding()``, as 64 lowercase hex digits. Computed record by record,
    /// without holding the whole encoding in memory.
    public func digest() -> String {
        var digester = ReplicaDigester(recordCount: records.count)
        for id in recordIDs {
            if let record = records[id] { digester.add(record) }
        }
        return digester.finish()
    }

    fileprivate static var digestMagic: [UInt8] { magic }
}

/// ``Replica/digest()`` computed from records handed over one at a time, in id order (a store
/// that reads them from disk): the same digest, with one record in memory at a time.
public struct ReplicaDigester {
    private var hasher = SHA256()
    private var writer = CanonicalWriter()

    /// A digester for a replica of `recordCount` (non-empty) records.
    public init(recordCount: Int) {
        writer.bytes.append(contentsOf: Replica.digestMagic)
        writer.write(count: recordCount)
    }

    /// Takes in the next record (in id order).
    public mutating func add(_ record: Record) {
        writer.write(record)
        if writer.bytes.count >= 1 << 16 {
            hasher.update(data: writer.bytes)
            writer.removeAll()
        }
    }

    /// The digest, as 64 lowercase hex digits.
    public func finish() -> String {
        var hasher = hasher
        hasher.update(data: writer.bytes)
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension Delta {
    private static let magic = Array("EDT-DELTA".utf8) + [UInt8(ReplicationModule.canonicalEncodingVersion)]

    /// The delta in canonical form: base vector, sender's vector, then the record parts.
    public func canonicalEncoding() -> [UInt8] {
        var writer = CanonicalWriter()
        writer.bytes.append(contentsOf: Self.magic)
        writer.write(base)
        writer.write(knowledge)
        writer.write(count: records.count)
        for record in records { writer.write(record) }
        return writer.bytes
    }
}

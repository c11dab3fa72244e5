import Crypto
import Foundation
import GRDB

/// The store's integrity seal: a store changed outside edt is refused when opened.
///
/// Each sealed record is bound to its own id (``StoreCipher``), which does not stop someone who
/// holds an older copy of the file from putting back an older sealed copy of a record, deleting
/// its `pending` row, or editing the version vector or a sync cursor: each is a valid row on its
/// own. The seal covers every row of every table edt keeps (`meta` except the seal itself,
/// `records`, `pending`, `rejections`, `checkpoints`) as one state:
///
/// - each row has a *digest*: HMAC-SHA256 of its table, its key and its value (their exact bytes
///   and SQLite storage classes), under a key derived with HKDF from the store key, so nobody
///   without the passphrase can compute one. A sealed record stands in its digest by its AES-GCM
///   nonce and tag alone: opening checks every record against its tag anyway, and no other
///   sealed bytes pass that check with the same nonce and tag, so these identify the whole of
///   it, and opening hashes 28 bytes per record instead of its kilobytes;
/// - each table has a *tally*: its number of rows and the sum of their digests modulo 2^256. A
///   change adds the digests of the rows it writes and subtracts those of the rows it replaces or
///   deletes (``SealedWrite``): a few microseconds per row, whatever the store's size;
/// - the tallies are kept sealed (AES-GCM under the store key) in the `meta` row `integrity`,
///   written in the same transaction as every change, so a crash never leaves it behind the rows.
///
/// Opening computes every tally again from the rows (it reads every record anyway, to load the
/// replica) and compares them with the sealed ones. A row put back from an older copy, edited,
/// added or deleted changes its table's sum (or count), and a seal matching it cannot be made
/// without the key. An older seal put back matches only when every row is put back with it: a
/// whole older copy of the store, which is restoring a backup.
struct StoreIntegrity: Sendable {
    /// The tables the seal covers, in the order of the sealed tallies. A new table the store
    /// keeps must be added here, and written only through ``SealedWrite``.
    enum Table: UInt8, CaseIterable, Sendable {
        case meta = 0, records, pending, rejections, checkpoints

        var name: String {
            switch self {
            case .meta: "meta"
            case .records: "records"
            case .pending: "pending"
            case .rejections: "rejections"
            case .checkpoints: "checkpoints"
            }
        }

        var keyColumn: String {
            switch self {
            case .meta: "key"
            case .records, .pending, .rejections: "id"
            case .checkpoints: "peer"
            }
        }

        /// Nil for `pending`, whose rows are their key alone.
        var valueColumn: String? {
            switch self {
            case .meta: "value"
            case .records, .rejections: "sealed"
            case .pending: nil
            case .checkpoints: "cursor"
            }
        }

        /// What the table holds, for a person reading why a store was refused.
        var holds: String {
            switch self {
            case .meta: "the store's settings (its version vector, request counter, centre key or identity)"
            case .records: "records"
            case .pending: "the list of records waiting to be synced"
            case .rejections: "the centre's refusals"
            case .checkpoints: "the sync cursor"
            }
        }
    }

    /// A table's rows, counted, and the sum of their digests modulo 2^256 (in four words, least
    /// significant first).
    struct Tally: Sendable, Equatable {
        var count: UInt64 = 0
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        static func == (left: Tally, right: Tally) -> Bool {
            left.count == right.count && left.words.0 == right.words.0 && left.words.1 == right.words.1
                && left.words.2 == right.words.2 && left.words.3 == right.words.3
        }

        mutating func add(_ digest: RowDigest) {
            count &+= 1
            var carry = false
            words.0 = Self.add(words.0, digest.words.0, &carry)
            words.1 = Self.add(words.1, digest.words.1, &carry)
            words.2 = Self.add(words.2, digest.words.2, &carry)
            words.3 = Self.add(words.3, digest.words.3, &carry)
        }

        mutating func subtract(_ digest: RowDigest) {
            count &-= 1
            var borrow = false
            words.0 = Self.subtract(words.0, digest.words.0, &borrow)
            words.1 = Self.subtract(words.1, digest.words.1, &borrow)
            words.2 = Self.subtract(words.2, digest.words.2, &borrow)
            words.3 = Self.subtract(words.3, digest.words.3, &borrow)
        }

        private static func add(_ left: UInt64, _ right: UInt64, _ carry: inout Bool) -> UInt64 {
            let (partial, first) = left.addingReportingOverflow(right)
            let (sum, second) = partial.addingReportingOverflow(carry ? 1 : 0)
            carry = first || second
            return sum
        }

        private static func subtract(_ left: UInt64, _ right: UInt64, _ borrow: inout Bool) -> UInt64 {
            let (partial, first) = left.subtractingReportingOverflow(right)
            let (difference, second) = partial.subtractingReportingOverflow(borrow ? 1 : 0)
            borrow = first || second
            return difference
        }
    }

    /// One row's HMAC-SHA256, as four words.
    struct RowDigest: Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)
    }

    /// The `meta` row holding the sealed tallies (the one row the seal does not cover).
    static let metaKey = "integrity"
    /// The sealed tallies' authenticated context.
    private static let context = "integrity"
    /// The layout of the sealed tallies: this byte, then per table in order its count and its
    /// four words, each eight bytes big-endian.
    private static let layout: UInt8 = 1

    /// The bytes of an AES-GCM seal (its combined form) that identify it: the nonce (first 12)
    /// and the tag (last 16).
    private static let nonceAndTag = 28
    /// HMAC-SHA256 keyed with the row key, nothing hashed yet: copied for each row (cheaper than
    /// keying a new one).
    private let keyedMAC: HMAC<SHA256>
    private(set) var tallies: [Tally] = Array(repeating: Tally(), count: Table.allCases.count)

    /// Empty tallies, with the row key derived from the store key.
    init(storeKey: SymmetricKey) {
        let rowKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: storeKey, salt: Array("edt-store-integrity".utf8), info: Array("row digests 1".utf8),
            outputByteCount: 32)
        keyedMAC = HMAC<SHA256>(key: rowKey)
    }

    // MARK: - Rows

    /// The digest of one row: its table, then its key and its value, each as a storage class, a
    /// length and its bytes (nil `value`: a row that is its key alone).
    func digest(_ table: Table, key: DatabaseValue, value: DatabaseValue?) -> RowDigest {
        var mac = keyedMAC
        // Everything but a long value goes to the MAC in one piece (each update has a cost).
        var head: [UInt8] = []
        head.reserveCapacity(96)
        head.append(table.rawValue)
        Self.append(key, to: &head, mac: &mac)
        if table == .records, case .blob(let sealed) = value?.storage, sealed.count >= Self.nonceAndTag {
            // A sealed record, by its nonce and tag (see above): storage class 6, not a blob's 5.
            head.append(contentsOf: [6, 0, 0, 0, UInt8(Self.nonceAndTag)])
            head.append(contentsOf: sealed.prefix(12))
            head.append(contentsOf: sealed.suffix(16))
        } else if let value {
            Self.append(value, to: &head, mac: &mac)
        } else {
            head.append(contentsOf: [0, 0, 0, 0, 0])
        }
        if !head.isEmpty { head.withUnsafeBytes { mac.update(data: $0) } }
        let code = mac.finalize()
        return code.withUnsafeBytes { raw in
            RowDigest(
                words: (
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
                ))
        }
    }

    /// Appends `value`'s storage class, length and bytes to `head`; a long value's bytes go to
    /// `mac` directly, after `head` (which is then emptied).
    private static func append(_ value: DatabaseValue, to head: inout [UInt8], mac: inout HMAC<SHA256>) {
        func header(_ storage: UInt8, _ count: Int) {
            let length = UInt32(truncatingIfNeeded: count)
            head.append(contentsOf: [
                storage, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF),
                UInt8(length & 0xFF),
            ])
        }
        func bytes(_ buffer: UnsafeRawBufferPointer) {
            if buffer.count <= 256 {
                head.append(contentsOf: buffer)
            } else {
                head.withUnsafeBytes { mac.update(data: $0) }
                head.removeAll(keepingCapacity: true)
                mac.update(data: buffer)
            }
        }
        switch value.storage {
        case .null:
            header(1, 0)
        case .int64(let number):
            header(2, 8)
            withUnsafeBytes(of: number.bigEndian) { bytes($0) }
        case .double(let number):
            header(3, 8)
            withUnsafeBytes(of: number.bitPattern.bigEndian) { bytes($0) }
        case .string(var text):
            header(4, text.utf8.count)
            text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        case .blob(let data):
            header(5, data.count)
            data.withUnsafeBytes { bytes($0) }
        }
    }

    /// Counts a row that was written.
    mutating func add(_ table: Table, key: DatabaseValue, value: DatabaseValue?) {
        tallies[Int(table.rawValue)].add(digest(table, key: key, value: value))
    }

    /// Uncounts a row that was replaced or deleted.
    mutating func subtract(_ table: Table, key: DatabaseValue, value: DatabaseValue?) {
        tallies[Int(table.rawValue)].subtract(digest(table, key: key, value: value))
    }

    /// Counts every row of `table` in `db` (of `meta`, every row but the seal).
    mutating func tally(_ table: Table, in db: Database) throws {
        let filter = table == .meta ? " WHERE key IS NOT '\(Self.metaKey)'" : ""
        let sql = "SELECT \(table.keyColumn), \(table.valueColumn ?? "NULL") FROM \(table.name)\(filter)"
        let rows = try Row.fetchCursor(db, sql: sql)
        let hasValue = table.valueColumn != nil
        while let row = try rows.next() {
            add(table, key: row[0], value: hasValue ? row[1] as DatabaseValue : nil)
        }
    }

    /// Counts every row of every table in `db` but those of `excluded` (already counted).
    mutating func tallyAll(in db: Database, except excluded: Set<Table> = []) throws {
        for table in Table.allCases where !excluded.contains(table) { try tally(table, in: db) }
    }

    // MARK: - The seal

    /// Writes the sealed tallies to `meta`, replacing the seal before (in the caller's transaction).
    func storeSeal(in db: Database, cipher: StoreCipher) throws {
        var bytes: [UInt8] = [Self.layout]
        for tally in tallies {
            for word in [tally.count, tally.words.0, tally.words.1, tally.words.2, tally.words.3] {
                withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0) }
            }
        }
        let sealed = try cipher.seal(bytes, context: Self.context)
        try db.cachedStatement(
            sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ).execute(arguments: [Self.metaKey, sealed])
    }

    /// The tallies in a sealed seal, or nil when it does not open or is not of a known layout.
    private static func tallies(in sealed: Data, cipher: StoreCipher) -> [Tally]? {
        let count = Table.allCases.count
        guard let bytes = cipher.open(sealed, context: context), bytes.count == 1 + count * 40,
            bytes[0] == layout
        else { return nil }
        func word(_ offset: Int) -> UInt64 {
            bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        return (0..<count).map { table in
            let start = 1 + table * 40
            return Tally(
                count: word(start), words: (word(start + 8), word(start + 16), word(start + 24), word(start + 32)))
        }
    }

    /// Compares these tallies, counted from the rows of the store in `directory`, with its
    /// seal `sealed` (nil: the `meta` row is missing). Throws ``StoreError/Code/altered`` saying
    /// what differs.
    func verify(against sealed: Data?, cipher: StoreCipher, directory: URL) throws(StoreError) {
        guard let sealed else {
            throw Self.altered(directory, "its integrity seal has been removed")
        }
        guard let expected = Self.tallies(in: sealed, cipher: cipher) else {
            throw Self.altered(
                directory, "its integrity seal cannot be read (it was edited, or taken from another store)")
        }
        var findings: [String] = []
        for table in Table.allCases {
            let found = tallies[Int(table.rawValue)]
            let sealedTally = expected[Int(table.rawValue)]
            guard found != sealedTally else { continue }
            let described = table.holds
            if found.count < sealedTally.count {
                findings.append("\(described): \(sealedTally.count - found.count) row(s) deleted")
            } else if found.count > sealedTally.count {
                findings.append("\(described): \(found.count - sealedTally.count) row(s) added")
            } else {
                findings.append("\(described): changed (a row edited, or put back from an older copy of the store)")
            }
        }
        guard findings.isEmpty else { throw Self.altered(directory, findings.joined(separator: "; ")) }
    }

    /// The refusal of a store found altered: what was found, and what to do.
    static func altered(_ directory: URL, _ found: String) -> StoreError {
        StoreError(
            .altered,
            "the store in \(directory.path) was altered outside edt: \(found). It was not opened, and nothing in it "
                + "was changed. Restore the store directory from a backup; with none, make a new store "
                + "(`edt init`), enrol its key at the centre (`edt central enroll`) and sync (`edt sync`): what "
                + "this laptop never synced is then lost")
    }
}

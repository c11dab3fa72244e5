import Crypto
import Foundation
import GRDB

/// The store's integrity seal: a store changed outside edt is refused.
///
/// Each sealed record is bound to its own id (``StoreCipher``), which does not stop someone who
/// holds an older copy of the file from putting back an older sealed copy of a record, deleting
/// its `pending` row, or editing the version vector, a sync cursor or a record's catalog row
/// (``RecordCatalog``): each is a valid row on its own. The seal covers every row of every table
/// edt keeps (`meta` except the seal itself, `catalog`, `pending`, `rejections`, `checkpoints`,
/// `buckets`) as one state, and each record's sealed content through its catalog row:
///
/// - each row has a *digest*: HMAC-SHA256 of its table, its key and its values (their exact bytes
///   and SQLite storage classes), under a key derived with HKDF from the store key, so nobody
///   without the passphrase can compute one;
/// - a record's catalog row holds its *seal*, the AES-GCM nonce and tag of its sealed content:
///   a record is opened (its tag checked) before it is used, and no other sealed bytes pass that
///   check with the same nonce and tag, so the catalog row, and its digest, pin the whole content;
///   content put back from an older copy, or deleted, no longer matches its catalog row;
/// - each table has a *tally*: its number of rows and the sum of their digests modulo 2^256. A
///   change adds the digests of the rows it writes and subtracts those of the rows it replaces or
///   deletes (``SealedWrite``): a few microseconds per row, whatever the store's size;
/// - the catalog is also tallied per *bucket* (one of 4,096, by the record id's SHA-256): the
///   bucket tallies are rows of the table `buckets`, itself tallied like any other;
/// - the tallies are kept sealed (AES-GCM under the store key) in the `meta` row `integrity`,
///   written in the same transaction as every change, so a crash never leaves it behind the rows.
///
/// So nothing is read whole to be checked, and opening a store costs the same at any size:
/// - opening checks `meta`, `rejections` and `checkpoints` (a few rows) against their tallies;
/// - the first record a process reads checks the bucket tallies (at most 4,096 rows) against the
///   `buckets` tally; each record read checks its bucket's catalog rows (a few dozen small rows
///   at 100,000 records) against its bucket's tally, once per bucket and process, and its content
///   against its catalog row's seal;
/// - reading the pending list whole (a sync) checks it against its tally;
/// - `edt store verify` checks every table, every bucket and every record.
///
/// A row put back from an older copy, edited, added or deleted changes its table's sum (or
/// count) and its bucket's, and a seal matching it cannot be made without the key. An older seal
/// put back matches only when every row is put back with it: a whole older copy of the store,
/// which is restoring a backup.
struct StoreIntegrity: Sendable {
    /// The tables the seal covers, in the order of the sealed tallies. A new table the store
    /// keeps must be added here, and written only through ``SealedWrite``.
    enum Table: UInt8, CaseIterable, Sendable {
        /// `catalog` holds the place of `records` in the tallies of layout 1 (``legacyLayout``).
        case meta = 0, catalog, pending, rejections, checkpoints, buckets

        var name: String {
            switch self {
            case .meta: "meta"
            case .catalog: "catalog"
            case .pending: "pending"
            case .rejections: "rejections"
            case .checkpoints: "checkpoints"
            case .buckets: "buckets"
            }
        }

        var keyColumn: String {
            switch self {
            case .meta: "key"
            case .catalog, .pending, .rejections: "id"
            case .checkpoints: "peer"
            case .buckets: "bucket"
            }
        }

        /// Nil for `pending`, whose rows are their key alone.
        var valueColumn: String? {
            switch self {
            case .meta: "value"
            case .catalog: "seal"
            case .rejections: "sealed"
            case .pending: nil
            case .checkpoints: "cursor"
            case .buckets: "tally"
            }
        }

        /// What the table holds, for a person reading why a store was refused.
        var holds: String {
            switch self {
            case .meta: "the store's settings (its version vector, request counter, centre key or identity)"
            case .catalog: "records"
            case .pending: "the list of records waiting to be synced"
            case .rejections: "the centre's refusals"
            case .checkpoints: "the sync cursor"
            case .buckets: "the tallies of the records"
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
            addWords(digest.words)
        }

        /// Adds `other`'s rows to this tally.
        mutating func add(_ other: Tally) {
            count &+= other.count
            addWords(other.words)
        }

        /// Adds a 256-bit sum (four words, least significant first) modulo 2^256.
        private mutating func addWords(_ other: (UInt64, UInt64, UInt64, UInt64)) {
            var carry = false
            words.0 = Self.add(words.0, other.0, &carry)
            words.1 = Self.add(words.1, other.1, &carry)
            words.2 = Self.add(words.2, other.2, &carry)
            words.3 = Self.add(words.3, other.3, &carry)
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
    /// four words, each eight bytes big-endian. Layout 1 (format `edt-store-2`) had no `buckets`
    /// and digested a record row by its sealed value alone; it is read only to upgrade a store.
    static let layout: UInt8 = 2
    static let legacyLayout: UInt8 = 1

    /// The bytes of an AES-GCM seal (its combined form) that identify it: the nonce (first 12)
    /// and the tag (last 16).
    private static let nonceAndTag = 28
    /// HMAC-SHA256 keyed with the row key, nothing hashed yet: copied for each row (cheaper than
    /// keying a new one).
    let keyedMAC: RowMAC
    private(set) var tallies: [Tally] = Array(repeating: Tally(), count: Table.allCases.count)
    /// The columns of `catalog` a row's digest takes after its id: ``RecordCatalog/columns``, but
    /// those of its format when a store of an earlier format is checked before its upgrade.
    var catalogColumns = RecordCatalog.columns

    /// Empty tallies, with the row key derived from the store key.
    init(storeKey: SymmetricKey) {
        let rowKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: storeKey, salt: Array("edt-store-integrity".utf8), info: Array("row digests 1".utf8),
            outputByteCount: 32)
        keyedMAC = RowMAC(key: rowKey)
    }

    // MARK: - Rows

    /// The digest of one row: its table, then its key and its value, each as a storage class, a
    /// length and its bytes (nil `value`: a row that is its key alone).
    ///
    /// A catalog row's columns (``RecordCatalog/columns``) are all `extra`, each as a storage
    /// class, a length and its bytes, after a nil `value`.
    ///
    /// `legacyRecord`: a row of `records` as layout 1 digested it (its table byte is the one of
    /// ``Table/catalog``).
    func digest(
        _ table: Table, key: DatabaseValue, value: DatabaseValue?, extra: some Sequence<DatabaseValue> = [],
        legacyRecord: Bool = false
    ) -> RowDigest {
        var mac = keyedMAC
        // Everything but a long value goes to the MAC in one piece (each update has a cost).
        var head: [UInt8] = []
        head.reserveCapacity(96)
        head.append(table.rawValue)
        Self.append(key, to: &head, mac: &mac)
        if legacyRecord, case .blob(let sealed) = value?.storage, sealed.count >= Self.nonceAndTag {
            // Layout 1's record row: its sealed content by nonce and tag, storage class 6.
            head.append(contentsOf: [6, 0, 0, 0, UInt8(Self.nonceAndTag)])
            head.append(contentsOf: sealed.prefix(12))
            head.append(contentsOf: sealed.suffix(16))
        } else if let value {
            Self.append(value, to: &head, mac: &mac)
        } else {
            head.append(contentsOf: [0, 0, 0, 0, 0])
        }
        for column in extra { Self.append(column, to: &head, mac: &mac) }
        if !head.isEmpty { head.withUnsafeBytes { mac.update(data: $0) } }
        return mac.finalize()
    }

    /// Appends `value`'s storage class, length and bytes to `head`; a long value's bytes go to
    /// `mac` directly, after `head` (which is then emptied).
    static func append(_ value: DatabaseValue, to head: inout [UInt8], mac: inout RowMAC) {
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
    mutating func add(_ table: Table, key: DatabaseValue, value: DatabaseValue?, extra: [DatabaseValue] = []) {
        tallies[Int(table.rawValue)].add(digest(table, key: key, value: value, extra: extra))
    }

    /// Counts a row of `table` by its digest.
    mutating func addDigest(_ table: Table, _ digest: RowDigest) { tallies[Int(table.rawValue)].add(digest) }

    /// Uncounts a row of `table` by its digest.
    mutating func subtractDigest(_ table: Table, _ digest: RowDigest) {
        tallies[Int(table.rawValue)].subtract(digest)
    }

    /// Makes `table`'s tally the one of no rows: for a table just emptied, whatever it held.
    mutating func empty(_ table: Table) { tallies[Int(table.rawValue)] = Tally() }

    /// Uncounts a row that was replaced or deleted.
    mutating func subtract(_ table: Table, key: DatabaseValue, value: DatabaseValue?, extra: [DatabaseValue] = []) {
        tallies[Int(table.rawValue)].subtract(digest(table, key: key, value: value, extra: extra))
    }

    /// The tally of `table`'s rows as they are in `db` (of `meta`, every row but the seal; of
    /// `records`, each row with its catalog columns).
    func counted(_ table: Table, in db: Database) throws -> Tally {
        var tally = Tally()
        if table == .catalog {
            let columns = (["id"] + catalogColumns).joined(separator: ", ")
            let statement = try db.makeStatement(sql: "SELECT \(columns) FROM catalog")
            for bucket in try catalogTallies(of: statement).values { tally.add(bucket) }
            return tally
        }
        let filter = table == .meta ? " WHERE key IS NOT '\(Self.metaKey)'" : ""
        let selected = [table.keyColumn] + (table.valueColumn.map { [$0] } ?? [])
        let sql = "SELECT \(selected.joined(separator: ", ")) FROM \(table.name)\(filter)"
        return try self.tally(of: db.makeStatement(sql: sql), table: table)
    }

    /// Counts every row of every table in `db`, replacing the tallies (after an upgrade).
    mutating func tallyAll(in db: Database) throws {
        for table in Table.allCases { tallies[Int(table.rawValue)] = try counted(table, in: db) }
    }

    /// Refuses the store in `directory` when the rows of `tables` in `db` do not match their
    /// sealed tallies, naming every table that differs.
    func check(_ tables: Table..., in db: Database, directory: URL) throws {
        var findings: [String] = []
        for table in tables {
            let found = try counted(table, in: db)
            if let finding = Self.difference(found: found, sealed: tallies[Int(table.rawValue)], holds: table.holds) {
                findings.append(finding)
            }
        }
        guard findings.isEmpty else { throw Self.altered(directory, findings.joined(separator: "; ")) }
    }

    /// Throws ``StoreError/Code/altered`` saying how `found` differs from `sealed`, when it does.
    static func compare(found: Tally, sealed: Tally, holds described: String, directory: URL) throws(StoreError) {
        if let finding = difference(found: found, sealed: sealed, holds: described) {
            throw altered(directory, finding)
        }
    }

    /// How `found` differs from `sealed`, for a person; nil when they are equal.
    static func difference(found: Tally, sealed: Tally, holds described: String) -> String? {
        guard found != sealed else { return nil }
        if found.count < sealed.count { return "\(described): \(sealed.count - found.count) row(s) deleted" }
        if found.count > sealed.count { return "\(described): \(found.count - sealed.count) row(s) added" }
        return "\(described): changed (a row edited, or put back from an older copy of the store)"
    }

    // MARK: - Buckets

    /// How many buckets the records are tallied in.
    static let bucketCount = 4_096

    /// The bucket of the record `id`: the first 12 bits of its SHA-256.
    static func bucket(of id: String) -> Int {
        let hash = SHA256.hash(data: Array(id.utf8))
        return hash.withUnsafeBytes { Int($0[0]) << 4 | Int($0[1]) >> 4 }
    }

    /// A bucket's tally as its row in `buckets` holds it: count and words, big-endian.
    static func encode(_ tally: Tally) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40)
        for word in [tally.count, tally.words.0, tally.words.1, tally.words.2, tally.words.3] {
            withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes)
    }

    /// The tally a `buckets` row holds, or nil when it is not one.
    static func decode(_ data: Data) -> Tally? {
        guard data.count == 40 else { return nil }
        let bytes = Array(data)
        func word(_ offset: Int) -> UInt64 { bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        return Tally(count: word(0), words: (word(8), word(16), word(24), word(32)))
    }

    /// The digest of a catalog row read as `id` then ``RecordCatalog/columns``.
    func catalogDigest(_ row: Row) -> RowDigest {
        // The row's values read as they are (no conversion), the id first.
        let values = row.databaseValues
        return digest(.catalog, key: values.first ?? .null, value: nil, extra: values.dropFirst())
    }

    /// The catalog rows of `buckets` (nil: of every bucket, in one pass) as they are in `db`,
    /// tallied per bucket (a bucket with no row has none).
    func countedBuckets(_ buckets: [Int]?, in db: Database) throws -> [Int: Tally] {
        let columns = (["id"] + catalogColumns).joined(separator: ", ")
        guard let buckets else {
            return try catalogTallies(of: db.makeStatement(sql: "SELECT \(columns) FROM catalog"))
        }
        if buckets.count == 1 {
            let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM catalog WHERE bucket = ?")
            try statement.setArguments([buckets[0]])
            return try catalogTallies(of: statement)
        }
        let list = buckets.map(String.init).joined(separator: ",")
        return try catalogTallies(of: db.makeStatement(sql: "SELECT \(columns) FROM catalog WHERE bucket IN (\(list))"))
    }

    // MARK: - The seal

    /// Writes the sealed tallies to `meta`, replacing the seal before (in the caller's transaction).
    func storeSeal(in db: Database, cipher: StoreCipher) throws {
        var bytes: [UInt8] = [Self.layout]
        for tally in tallies { bytes.append(contentsOf: Self.encode(tally)) }
        let sealed = try cipher.seal(bytes, context: Self.context)
        try db.cachedStatement(
            sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ).execute(arguments: [Self.metaKey, sealed])
    }

    /// The tallies in a sealed seal of `layout` (with one tally per table of the layout), or nil
    /// when it does not open or is not of that layout.
    static func tallies(in sealed: Data, cipher: StoreCipher, layout: UInt8 = layout) -> [Tally]? {
        let count = layout == legacyLayout ? 5 : Table.allCases.count
        guard let bytes = cipher.open(sealed, context: context), bytes.count == 1 + count * 40,
            bytes[0] == layout
        else { return nil }
        return (0..<count).compactMap { table in
            decode(Data(bytes[(1 + table * 40)..<(1 + table * 40 + 40)]))
        }
    }

    /// Takes the tallies of the seal `sealed` (nil: the `meta` row is missing) as the ones to
    /// check the rows of the store in `directory` against.
    mutating func load(sealed: Data?, cipher: StoreCipher, directory: URL) throws(StoreError) {
        guard let sealed else {
            throw Self.altered(directory, "its integrity seal has been removed")
        }
        guard let expected = Self.tallies(in: sealed, cipher: cipher) else {
            throw Self.altered(
                directory, "its integrity seal cannot be read (it was edited, or taken from another store)")
        }
        tallies = expected
    }

    /// Checks a store of format `edt-store-2` (seal layout 1) whole, as that format was checked:
    /// every row of its five tables against the sealed tallies, a record by its sealed value.
    func verifyLegacy(sealed: Data?, in db: Database, cipher: StoreCipher, directory: URL) throws {
        guard let sealed else { throw Self.altered(directory, "its integrity seal has been removed") }
        guard let expected = Self.tallies(in: sealed, cipher: cipher, layout: Self.legacyLayout) else {
            throw Self.altered(
                directory, "its integrity seal cannot be read (it was edited, or taken from another store)")
        }
        var findings: [String] = []
        for table in Table.allCases where table != .buckets {
            var found = Tally()
            if table == .catalog {  // its place in layout 1 is the records'
                let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed FROM records")
                while let row = try rows.next() {
                    found.add(digest(.catalog, key: row[0], value: row[1], legacyRecord: true))
                }
            } else {
                found = try counted(table, in: db)
            }
            if let finding = Self.difference(found: found, sealed: expected[Int(table.rawValue)], holds: table.holds) {
                findings.append(finding)
            }
        }
        guard findings.isEmpty else { throw Self.altered(directory, findings.joined(separator: "; ")) }
    }

    /// The refusal of a store found altered: what was found, and what to do.
    static func altered(_ directory: URL, _ found: String) -> StoreError {
        StoreError(
            .altered,
            "the store in \(directory.path) was altered outside edt: \(found). Nothing in it "
                + "was changed. Restore the store directory from a backup; with none, make a new store "
                + "(`edt init`), enrol its key at the centre (`edt central enroll`) and sync (`edt sync`): what "
                + "this laptop never synced is then lost")
    }
}

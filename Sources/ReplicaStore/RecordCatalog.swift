import Foundation
import GRDB
import LineProtocol
public import Replication

/// What the store keeps of a record beside its sealed content (the table `catalog`, one small
/// row per record), so that a command finds, lists and checks records without reading them: the
/// record's version vector, its number of fields in conflict, its bucket (``StoreIntegrity``),
/// its *seal* (the nonce and tag of its sealed content, which pin that content), what the
/// application says of it (``RecordSummary``), and when it was *accepted* (``AcceptanceReader``:
/// the instant from which the store may drop it, ``ReplicaStore/purgeAccepted(acceptedBy:confirm:)``).
///
/// In the clear: the version vector, the conflict count, when the record was received and
/// accepted, its status and its authority codes, none of which tells who a referral is about.
/// Sealed: the summary's content, which a list shows.
public enum RecordCatalog {
    /// The columns of `catalog` but its id, in the order a row's digest takes them.
    static let columns = [
        "bucket", "seal", "version", "conflicts", "receivedSeconds", "receivedNanos", "status", "host", "home",
        "summary", "accepted",
    ]
    /// The columns of format `edt-store-3`, before `accepted`: what its seal digested.
    static let formatThreeColumns = Array(columns.dropLast())

    /// The bytes of a sealed record that pin it: the nonce (its first 12) and the tag (its last
    /// 16) of its AES-GCM combined form. Opening checks the tag, and no other sealed bytes pass
    /// that check with the same nonce and tag, so these identify the whole of it.
    static func seal(of sealed: Data) -> Data {
        guard sealed.count >= 28 else { return sealed }
        return sealed.prefix(12) + sealed.suffix(16)
    }

    /// Whether `seal` is the seal of `sealed` (``seal(of:)``), compared in place.
    static func sealMatches(
        _ sealed: some DataProtocol & RandomAccessCollection, _ seal: some DataProtocol
    ) -> Bool {
        guard sealed.count >= 28, seal.count == 28 else { return false }
        return sealed.prefix(12).elementsEqual(seal.prefix(12)) && sealed.suffix(16).elementsEqual(seal.suffix(16))
    }

    /// The authenticated context of a record's sealed summary.
    static func summaryContext(_ id: String) -> String { "summary:" + id }

    /// The value ordering an unknown receipt last (SQLite sorts integers, and nothing is later).
    static let unknownReceipt = Int64.max
}

/// What the application says of a record for the store's catalog (``RecordCatalog``).
public struct RecordSummary: Sendable, Hashable {
    /// When the record was received, as seconds since 1970 (UTC) and nanoseconds; nil when not
    /// known (absent, unreadable, or in conflict).
    public var receivedSeconds: Int64?
    public var receivedNanos: Int64
    /// A short status a list filters on (`open`, `awaiting-authorisation`, ...).
    public var status: String
    /// The authority codes the record is recorded for (host, and home when it differs).
    public var host: String?
    public var home: String?
    /// What a list shows of the record (sealed in the store: it may hold personal data).
    public var content: [UInt8]

    public init(
        receivedSeconds: Int64? = nil, receivedNanos: Int64 = 0, status: String = "", host: String? = nil,
        home: String? = nil, content: [UInt8] = []
    ) {
        self.receivedSeconds = receivedSeconds
        self.receivedNanos = receivedNanos
        self.status = status
        self.host = host
        self.home = home
        self.content = content
    }
}

/// Says what the catalog keeps of a record: the application's (the laptop's referral summary).
public typealias RecordDescriber = @Sendable (Replication.Record) -> RecordSummary

/// Says when a record was accepted, from the entries the centre whose public key (raw 32 bytes)
/// is given signed: seconds since 1970 (UTC), or nil when it is not. The application's (the
/// laptop's: a day team's acceptance of the case for its responsible authority). The catalog
/// keeps it (`accepted`), so the records that may be dropped are found without reading any other.
public typealias AcceptanceReader = @Sendable (Replication.Record, _ centreKey: [UInt8]) -> Int64?

/// A record ready to be written: its sealed content (a row of `records`) and its catalog row.
struct CatalogRow {
    let id: String
    let sealed: Data
    /// The catalog columns' values, in the order of ``RecordCatalog/columns``.
    let columns: [DatabaseValue]

    /// The row of `record`, sealed with `cipher` and described by `describe`, accepted at
    /// `accepted` (seconds since 1970; nil: not accepted).
    init(
        _ record: Replication.Record, cipher: StoreCipher, describe: RecordDescriber, accepted: Int64?
    ) throws(StoreError) {
        id = record.id.rawValue
        sealed = try cipher.seal(RecordCoding.encode(record), context: "record:" + id)
        let summary = describe(record)
        let content = try cipher.seal(summary.content, context: RecordCatalog.summaryContext(id))
        columns = [
            StoreIntegrity.bucket(of: id).databaseValue,
            RecordCatalog.seal(of: sealed).databaseValue,
            Notation.text(record.version).databaseValue,
            record.conflictedPaths.count.databaseValue,
            (summary.receivedSeconds ?? RecordCatalog.unknownReceipt).databaseValue,
            (summary.receivedSeconds == nil ? 0 : summary.receivedNanos).databaseValue,
            summary.status.databaseValue,
            summary.host.databaseValue,
            summary.home.databaseValue,
            content.databaseValue,
            accepted.databaseValue,
        ]
    }

    var bucket: Int { Int.fromDatabaseValue(columns[0]) ?? 0 }
}

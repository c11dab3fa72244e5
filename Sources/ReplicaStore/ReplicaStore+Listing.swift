import Foundation
import GRDB
public import Replication

/// Listing records from the catalog (``RecordCatalog``): filtered and paged in SQL, oldest
/// received first, each row handed over as it is read, so a list costs what it shows.
extension ReplicaStore {
    /// Which records a list shows. Filters combine (all must hold).
    public struct ListFilter: Sendable {
        /// Recorded for this authority (host or home).
        public var authority: String?
        /// Of this status (``RecordSummary/status``).
        public var status: String?
        /// With at least one field in conflict.
        public var conflictsOnly = false
        /// With changes the centre has not acknowledged.
        public var pendingOnly = false
        /// Received at or after this instant (seconds since 1970 and nanoseconds).
        public var receivedSince: (seconds: Int64, nanos: Int64)?
        /// After this record, in the list's order (the last id of the page before).
        public var after: RecordID?
        /// At most this many.
        public var limit: Int?

        public init() {}
    }

    /// One record as a list shows it: its catalog, and its summary opened.
    public struct ListedRecord: Sendable {
        public let id: RecordID
        /// The application's summary (``RecordSummary/content``).
        public let content: [UInt8]
        public let conflicts: Int
        public let status: String
        /// Changes the centre has not acknowledged.
        public let pending: Bool
    }

    /// Hands `body` the records `filter` selects, oldest received first (unknown receipt last),
    /// then by id; each row's bucket is checked against its tally before it is believed (and,
    /// for `pendingOnly`, the pending list against its own).
    /// Throws ``StoreError/Code/refused`` when `filter.after` names no record here.
    public func list(_ filter: ListFilter, _ body: (ListedRecord) throws -> Void) throws {
        try reading("the list of referrals") { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let status = filter.status {
                conditions.append("status = ?")
                arguments.append(status)
            }
            if filter.conflictsOnly { conditions.append("conflicts > 0") }
            if filter.pendingOnly {
                // Which records are pending is believed once the list of them is checked whole.
                try integrity.check(.pending, in: db, directory: directory)
                conditions.append("id IN (SELECT id FROM pending)")
            }
            if let since = filter.receivedSince {
                conditions.append("(receivedSeconds, receivedNanos) >= (?, ?) AND receivedSeconds < ?")
                arguments += [since.seconds, since.nanos, RecordCatalog.unknownReceipt]
            }
            if let after = filter.after {
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT receivedSeconds, receivedNanos FROM catalog WHERE id = ?",
                        arguments: [after.rawValue])
                else {
                    throw StoreError(
                        .refused, "--after \(after.rawValue): no referral with this id in the store")
                }
                conditions.append("(receivedSeconds, receivedNanos, id) > (?, ?, ?)")
                arguments += [row[0] as DatabaseValue, row[1] as DatabaseValue, after.rawValue]
            }
            let select = """
                SELECT id, summary, conflicts, status, EXISTS (SELECT 1 FROM pending WHERE pending.id = catalog.id), \
                receivedSeconds, receivedNanos FROM catalog
                """
            func branch(_ extra: String?) -> String {
                let all = (extra.map { [$0] } ?? []) + conditions
                return all.isEmpty ? select : select + " WHERE " + all.joined(separator: " AND ")
            }
            var sql: String
            if let authority = filter.authority {
                // Host or home: two index scans merged in order (an OR would sort every match).
                sql = branch("host = ?") + " UNION ALL " + branch("home = ?")
                arguments = [authority] + arguments + [authority] + arguments
            } else {
                sql = branch(nil)
            }
            sql += " ORDER BY 6, 7, 1"
            if let limit = filter.limit {
                sql += " LIMIT ?"
                arguments.append(limit)
            }
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let idText: String = row[0]
                try checkBucket(StoreIntegrity.bucket(of: idText), in: db)
                guard let id = try? RecordID(idText), let sealed: Data = row[1],
                    let content = cipher.open(sealed, context: RecordCatalog.summaryContext(idText))
                else { throw StoreIntegrity.altered(directory, "the summary of record \(idText) cannot be opened") }
                try body(
                    ListedRecord(
                        id: id, content: content, conflicts: row[2] ?? 0, status: row[3] ?? "", pending: row[4] ?? false
                    ))
            }
        }
    }
}

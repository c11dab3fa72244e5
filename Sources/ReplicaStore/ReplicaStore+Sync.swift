import Foundation
import GRDB
public import LineProtocol
public import Replication

/// What the laptop keeps for syncing with the central endpoint: which records have changes the
/// centre has not acknowledged (*pending*), the centre's reasons for records it refused, the
/// pull cursor, and the counter that signed requests carry.
extension ReplicaStore {
    /// The records with changes the centre has not acknowledged, in id order; the list is
    /// checked whole against its integrity tally (``StoreIntegrity``).
    public func pendingRecords() throws(StoreError) -> [RecordID] {
        try reading("which records wait for sync") { db in
            try integrity.check(.pending, in: db, directory: directory)
            return try String.fetchAll(db, sql: "SELECT id FROM pending ORDER BY id").compactMap { try? RecordID($0) }
        }
    }

    /// The records the centre refused, with its reasons.
    public func rejections() throws(StoreError) -> [Rejection] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT id, sealed FROM rejections ORDER BY id").compactMap { row in
                    let idText: String = row["id"]
                    let sealed: Data = row["sealed"]
                    guard let id = try? RecordID(idText),
                        let plain = cipher.open(sealed, context: "rejection:" + idText)
                    else { return nil }
                    let text = String(decoding: plain, as: UTF8.self)
                    guard let space = text.firstIndex(of: " ") else { return nil }
                    return Rejection(
                        record: id, reason: String(text[..<space]), message: String(text[text.index(after: space)...]))
                }
            }
        } catch {
            throw StoreError(.io, "cannot read the refused records: \(error)")
        }
    }

    /// Makes every record pending and forgets every cursor: for a centre that lost what it had
    /// acknowledged (its database was restored or replaced), so everything is pushed and pulled
    /// again. Refusal flags stay until the centre answers anew.
    public func startSyncOver() throws(StoreError) {
        do {
            try writeSealed { write in
                try write.markEveryRecordPending()
                // Every cursor: one kept under another key (an older version's) would resume
                // the pull the centre just refused.
                for kept in try String.fetchAll(write.db, sql: "SELECT peer FROM checkpoints") {
                    try write.delete(.checkpoints, kept)
                }
            }
        } catch {
            throw StoreError(.io, "cannot mark the records for a new sync: \(error)")
        }
    }

    /// The next request counter for signing a sync request, made durable before it is returned
    /// (so no counter is ever used twice, even across a crash).
    public func nextRequestCounter() throws(StoreError) -> UInt64 {
        do {
            return try writeSealed { write in
                let current =
                    try String.fetchOne(write.db, sql: "SELECT value FROM meta WHERE key = 'requestCounter'").flatMap {
                        UInt64($0)
                    } ?? 0
                let next = current + 1
                try write.put(.meta, "requestCounter", String(next))
                return next
            }
        } catch {
            throw StoreError(.io, "cannot save the request counter: \(error)")
        }
    }

    /// Takes in one sync reply, in one durable transaction: what the centre acknowledged is no
    /// longer pending (unless it changed since it was pushed), what it refused is flagged and
    /// stays pending, the pulled records are merged, the pull cursor moves to `cursor`, and
    /// `certificate`, when given, replaces the centre's certificate of this device's key
    /// (``deviceCertificate()``), in the same commit.
    /// - Returns: how many records the pulled ones changed here.
    @discardableResult
    public func applySync(
        acknowledgements: [PushAcknowledgement], pulled: [Replication.Record], cursor: String?, peer: String,
        certificate: [UInt8]? = nil
    ) throws(StoreError) -> Int {
        do {
            let sealedCertificate = try certificate.map(sealCertificate)
            // The pulled parts are merged into the records they name, read from disk; nothing else is.
            var replica = Replica(device: device, knowledge: knowledge, records: try records(pulled.map(\.id)))
            let changed = replica.merge(parts: pulled)
            var covered: [RecordID] = []  // the centre's copy holds everything this one does
            for part in pulled {
                if let record = replica[part.id], part.version.descends(record.version) { covered.append(part.id) }
            }
            var rows: [CatalogRow] = []
            let centreKey = try self.centreKey()
            for id in replica.changeLog.sorted() {
                guard let record = replica[id] else { continue }
                rows.append(try catalogRow(record, centreKey: centreKey))
            }
            try writeSealed { (write) throws -> Void in
                var settled: [RecordID] = []  // no longer pending
                var flagged: [(id: RecordID, rejection: Data)] = []  // refused, still pending
                // Acknowledgements are matched against the records as they were before the pull:
                // each settles or flags its record only while the catalog still holds it at the
                // version pushed.
                let pushed = acknowledgements.map { acknowledgement in
                    switch acknowledgement {
                    case .stored(let id, let version): (id: id, version: version)
                    case .refused(let rejection, let version): (id: rejection.record, version: version)
                    }
                }
                try checkBuckets(of: pushed.map(\.id), in: write.db)
                let unchanged = try catalogHolds(pushed, in: write.db)
                for (acknowledgement, unchanged) in zip(acknowledgements, unchanged) where unchanged {
                    switch acknowledgement {
                    case .stored(let id, _):
                        settled.append(id)
                    case .refused(let rejection, _):
                        let id = rejection.record
                        let text = Array((rejection.reason + " " + rejection.message).utf8)
                        flagged.append((id, try cipher.seal(text, context: "rejection:" + id.rawValue)))
                    }
                }
                for row in rows { try write.putRecord(row) }
                // Settled and covered records are no longer pending.
                try write.settle(settled + covered)
                // Few records are ever flagged: only those are looked for. A refusal flagged just
                // now is lifted when the centre's copy covers the record.
                var flaggedIDs = Set(try String.fetchAll(write.db, sql: "SELECT id FROM rejections"))
                for id in settled {
                    if flaggedIDs.remove(id.rawValue) != nil { try write.delete(.rejections, id.rawValue) }
                }
                for (id, rejection) in flagged {
                    try write.put(.rejections, id.rawValue, rejection)
                    flaggedIDs.insert(id.rawValue)
                }
                for id in covered {
                    if flaggedIDs.remove(id.rawValue) != nil { try write.delete(.rejections, id.rawValue) }
                }
                if let cursor {
                    // The store keeps one cursor, for the centre it syncs with: any under another
                    // key (an older version kept it under the server's URL) is spent.
                    for kept in try String.fetchAll(write.db, sql: "SELECT peer FROM checkpoints") where kept != peer {
                        try write.delete(.checkpoints, kept)
                    }
                    try write.put(.checkpoints, peer, cursor)
                }
                if let sealedCertificate { try Self.keepCertificate(sealedCertificate, in: &write) }
            }
            return changed
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "could not save what the sync brought (nothing was saved; sync again): \(error)")
        }
    }
}

import Crypto
import LineProtocol
import Referrals
import Replication
import Synchronization

/// How the centre records an entry of its own on a case (a day team's acceptance, an act
/// between host and home authorities): at the next dot of its entry device
/// (``CentralStorage/centreDevice``), signed with its key (``Referrals/EntrySignature``), and
/// stored through the same path as a device's push, so it takes a change number and reaches
/// every replica that holds the case. The caller's conditions are checked again inside the
/// storing transaction, on the case as stored then, so of two entries at once only what those
/// conditions allow is stored.
enum CentreEntry {
    /// Why an entry was not stored: the caller's own refusal (found inside the transaction),
    /// an entry that cannot be made, or the database.
    enum Failure<Refusal: Error & Sendable>: Error {
        case refused(Refusal)
        case invalid(String)
        case storage(String)
    }

    /// Signs `payload` (which names the centre's entry device) as an entry of `kind` on case
    /// `id` and stores it, recorded in the audit log as `actor`'s; `recheck` sees the case as stored in the storing transaction (nil
    /// when there is none) and returns why the entry may no longer be stored, or nil. Returns
    /// the case's change number after it.
    static func store<Refusal: Error & Sendable>(
        _ payload: [String: FieldValue], kind: String, on id: RecordID, in storage: any CentralStorage,
        by actor: AuditActor, recheck: @escaping @Sendable (Record?) -> Refusal?,
        message: @escaping @Sendable (Refusal) -> String
    ) async throws(Failure<Refusal>) -> Int64 {
        let entry: Entry
        do {
            let device = try storage.centreDevice
            let counter = try await storage.nextEntryCounter()
            let key = storage.signingKey
            let signed = try EntrySignature.sign(payload, kind: kind, record: id) { bytes in
                Array(try key.signature(for: bytes))
            }
            entry = try Entry(dot: try Dot(device, counter), kind: kind, payload: .object(signed))
        } catch let error as CentralError {
            throw .storage(error.message)
        } catch {
            throw .invalid("the entry cannot be made: \(error)")
        }
        let part = Record(id: id, fields: [], entries: [entry])
        let prepared = PreparedPart(part: part, encoded: RecordCoding.encode(part)[...], rejection: nil)
        let found = Found<Refusal>()
        let outcomes: [StoredOutcome]
        do {
            outcomes = try await storage.store([prepared], by: actor) { _, before, _ in
                guard let refusal = recheck(before) else { return nil }
                found.value.withLock { $0 = refusal }
                return .init(.forbidden, message: message(refusal))
            }
        } catch {
            throw .storage(error.message)
        }
        switch outcomes.first {
        case .stored(_, let sequence, _)?:
            return sequence
        case .rejected(_, let rejection)?:
            if let refusal = found.value.withLock({ $0 }) { throw .refused(refusal) }
            throw .invalid(rejection.message)
        case nil:
            throw .storage("the entry on case \(id) was not stored")
        }
    }

    /// What the storing transaction's check found, read back once it returned.
    private final class Found<Refusal: Sendable>: Sendable {
        let value = Mutex<Refusal?>(nil)
    }
}

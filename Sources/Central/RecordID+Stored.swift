public import Replication

extension RecordID {
    /// A case id read back from the central database. Every id the centre stores was valid when
    /// it was stored, so one that is not means the database was damaged: a storage failure, never
    /// a row quietly left out (a listing cut at a limit would then move its cut).
    public init(storedCaseID text: String) throws(CentralError) {
        do {
            self = try RecordID(text)
        } catch {
            throw CentralError(.storage, "a case id stored in the central database is not valid: \(error)")
        }
    }
}

import LineProtocol
public import Replication

/// Cases as a central database stores them (each record's canonical JSON, ``RecordCoding``),
/// read back many at a time: what both backends share when a package reads an authority's open
/// cases.
public enum StoredCases {
    /// The records of `rows` (each an id and its stored body, which `bytes` gives), in the
    /// order of `rows`, decoded across the machine's cores. Throws a storage error naming the
    /// first case, in that order, whose body cannot be read.
    public static func decode<Body: Sendable>(
        _ rows: [(id: String, body: Body)], bytes: @Sendable (Body) -> [UInt8]
    ) throws(CentralError) -> [Record] {
        let runs = SplitWork.runs(over: rows.count, minimumRun: 128) { range -> Result<[Record], CentralError> in
            var records: [Record] = []
            records.reserveCapacity(range.count)
            var reader = RecordCoding.Reader()
            for (id, body) in rows[range] {
                do {
                    records.append(try reader.decode(bytes(body), id: try RecordID(id)))
                } catch {
                    return .failure(
                        CentralError(.storage, "case \(id) is stored in a form that cannot be read: \(error)"))
                }
            }
            return .success(records)
        }
        var records: [Record] = []
        records.reserveCapacity(rows.count)
        for run in runs { records += try run.get() }
        return records
    }
}

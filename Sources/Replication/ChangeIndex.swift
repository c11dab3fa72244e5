/// Finds the records a delta must carry without scanning the replica.
///
/// For each device, a list of (counter, record) sorted by counter, with an entry whenever a
/// record's version counter for that device rises. An entry is *live* while it still equals the
/// record's counter; older ones are skipped, and compacted away once they outnumber the live ones.
/// So a delta's cost follows what changed since the other side's version vector, not the size of
/// the replica.
struct ChangeIndex: Sendable {
    private struct Posting: Sendable {
        let counter: UInt64
        let record: RecordID
    }

    private struct DeviceLog: Sendable {
        var postings: [Posting] = []
        var live = 0
    }

    private var logs: [DeviceID: DeviceLog] = [:]
    /// Postings gathered during a bulk change, added in one sorted batch by ``flush()``.
    private var pending: [DeviceID: [Posting]] = [:]

    /// Notes that `record`'s version rose from `previous` to `current`. Call ``flush()`` after a batch.
    mutating func noteChange(of record: RecordID, from previous: VersionVector, to current: VersionVector) {
        for element in current.elements {
            let before = previous[element.device]
            guard element.counter > before else { continue }
            pending[element.device, default: []].append(Posting(counter: element.counter, record: record))
            if before == 0 { logs[element.device, default: DeviceLog()].live += 1 }
        }
    }

    /// Adds the pending postings, keeping each device's list sorted by counter.
    mutating func flush() {
        guard !pending.isEmpty else { return }
        for (device, batch) in pending {
            var batch = batch
            var log = logs.removeValue(forKey: device) ?? DeviceLog()
            if batch.count > 1 { batch.sort { $0.counter < $1.counter } }
            if let last = log.postings.last, let first = batch.first, first.counter < last.counter {
                log.postings = Self.mergeSorted(log.postings, batch)
            } else {
                log.postings.append(contentsOf: batch)
            }
            logs[device] = log
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Drops stale postings of devices where they outnumber the live ones.
    mutating func compact(isLive: (DeviceID, UInt64, RecordID) -> Bool) {
        guard logs.values.contains(where: { $0.postings.count > 2 * $0.live + 1024 }) else { return }
        for device in Array(logs.keys) {
            guard var log = logs[device], log.postings.count > 2 * log.live + 1024 else { continue }
            logs[device] = nil
            log.postings.removeAll { !isLive(device, $0.counter, $0.record) }
            logs[device] = log
        }
    }

    /// The records with a version counter above `knowledge` for some device, each once.
    /// `isLive` says whether a posting still matches its record (stale ones are skipped).
    func records(
        notCoveredBy knowledge: VersionVector, isLive: (DeviceID, UInt64, RecordID) -> Bool
    ) -> [RecordID] {
        var found: [RecordID] = []
        var seen: Set<RecordID> = []
        for (device, log) in logs {
            let floor = knowledge[device]
            var index = Self.firstIndex(in: log.postings, after: floor)
            while index < log.postings.count {
                let posting = log.postings[index]
                if isLive(device, posting.counter, posting.record), seen.insert(posting.record).inserted {
                    found.append(posting.record)
                }
                index += 1
            }
        }
        return found
    }

    private static func firstIndex(in postings: [Posting], after counter: UInt64) -> Int {
        var low = 0
        var high = postings.count
        while low < high {
            let middle = (low + high) / 2
            if postings[middle].counter <= counter {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    private static func mergeSorted(_ left: [Posting], _ right: [Posting]) -> [Posting] {
        var merged: [Posting] = []
        merged.reserveCapacity(left.count + right.count)
        var i = 0
        var j = 0
        while i < left.count, j < right.count {
            if left[i].counter <= right[j].counter {
                merged.append(left[i])
                i += 1
            } else {
                merged.append(right[j])
                j += 1
            }
        }
        merged.append(contentsOf: left[i...])
        merged.append(contentsOf: right[j...])
        return merged
    }
}

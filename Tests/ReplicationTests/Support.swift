import TestSupport

@testable import Replication

/// Builders that keep the tests short; they only accept literals known to be valid.
enum Make {
    static func device(_ name: String) -> DeviceID {
        guard let device = try? DeviceID(name) else { preconditionFailure("bad test device id \(name)") }
        return device
    }

    static func record(_ name: String) -> RecordID {
        guard let id = try? RecordID(name) else { preconditionFailure("bad test record id \(name)") }
        return id
    }

    static func path(_ name: String) -> FieldPath {
        guard let path = try? FieldPath(name) else { preconditionFailure("bad test path \(name)") }
        return path
    }

    static func dot(_ device: String, _ counter: UInt64) -> Dot {
        guard let dot = try? Dot(self.device(device), counter) else { preconditionFailure("bad test dot") }
        return dot
    }

    static func vector(_ counters: [String: UInt64]) -> VersionVector {
        VersionVector(Dictionary(uniqueKeysWithValues: counters.map { (device($0.key), $0.value) }))
    }
}

/// One event: the `counter`-th write by `device`. Unique across all replicas.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The device that made the write.
    public let device: DeviceID
    /// The device's event counter, starting at 1.
    public let counter: UInt64

    /// The largest counter any replica accepts: 2^53. A device making a million writes a second
    /// would reach it in 285 years; a claim beyond it is refused, so counting on from any counter a
    /// replica holds can never overflow.
    public static let maximumCounter: UInt64 = 1 << 53

    /// A dot; throws ``ReplicationError/invalidCounter`` for a zero counter or one above
    /// ``maximumCounter``.
    public init(_ device: DeviceID, _ counter: UInt64) throws(ReplicationError) {
        guard counter > 0, counter <= Self.maximumCounter else { throw .invalidCounter }
        self.device = device
        self.counter = counter
    }

    /// A dot whose counter is known to be positive.
    init(unchecked device: DeviceID, _ counter: UInt64) {
        self.device = device
        self.counter = counter
    }

    /// Ordered by device, then counter: the canonical order of siblings and entries.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.device == rhs.device ? lhs.counter < rhs.counter : lhs.device < rhs.device
    }

    public var description: String { "\(device.rawValue):\(counter)" }
}

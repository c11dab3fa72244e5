/// How two causal histories relate.
public enum CausalOrder: Sendable, Hashable {
    /// Both have seen exactly the same events.
    case equal
    /// The left side has seen a strict subset of what the right side has seen.
    case before
    /// The left side has seen a strict superset of what the right side has seen.
    case after
    /// Each has seen something the other has not.
    case concurrent
}

/// Per-device event counters: "has seen every event of device D up to counter n".
///
/// Never wall clocks: a laptop's clock can be wrong, its counter cannot. A device that does not
/// appear has counter 0. Stored as a short array sorted by device, since a vector names only the
/// few devices that touched a case.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// One device's counter.
    public struct Element: Hashable, Sendable {
        public let device: DeviceID
        public let counter: UInt64
    }

    /// Sorted by device; every counter is positive.
    public private(set) var elements: [Element]

    /// The empty vector: has seen nothing.
    public init() { elements = [] }

    /// A vector from explicit counters; zero counters are dropped.
    public init(_ counters: [DeviceID: UInt64]) {
        elements = counters.filter { $0.value > 0 }
            .map { Element(device: $0.key, counter: $0.value) }
            .sorted { $0.device < $1.device }
    }

    /// The smallest vector that contains `dot`.
    public init(_ dot: Dot) {
        elements = [Element(device: dot.device, counter: dot.counter)]
    }

    /// Elements known to be sorted by device with positive counters.
    init(sortedElements: [Element]) { elements = sortedElements }

    /// True when no event has been seen.
    public var isEmpty: Bool { elements.isEmpty }

    /// The devices with a non-zero counter, in order.
    public var devices: [DeviceID] { elements.map(\.device) }

    /// The counter for `device`; 0 for a device never seen.
    public subscript(device: DeviceID) -> UInt64 {
        // Vectors are short: a linear scan beats a binary search and allocates nothing.
        for element in elements where element.device == device { return element.counter }
        return 0
    }

    /// True when the event `dot` is covered (has been seen).
    @inline(__always)
    public func contains(_ dot: Dot) -> Bool { self[dot.device] >= dot.counter }

    /// Raises `device`'s counter to at least `counter`.
    public mutating func raise(_ device: DeviceID, to counter: UInt64) {
        guard counter > 0 else { return }
        for index in elements.indices where elements[index].device >= device {
            if elements[index].device == device {
                if elements[index].counter < counter {
                    elements[index] = Element(device: device, counter: counter)
                }
            } else {
                elements.insert(Element(device: device, counter: counter), at: index)
            }
            return
        }
        elements.append(Element(device: device, counter: counter))
    }

    /// Adds one event.
    public mutating func insert(_ dot: Dot) { raise(dot.device, to: dot.counter) }

    /// The per-device maximum of both vectors (least upper bound).
    public func joined(with other: VersionVector) -> VersionVector {
        if other.elements.isEmpty { return self }
        if elements.isEmpty { return other }
        var result: [Element] = []
        result.reserveCapacity(max(elements.count, other.elements.count))
        var i = 0
        var j = 0
        while i < elements.count, j < other.elements.count {
            let left = elements[i]
            let right = other.elements[j]
            if left.device == right.device {
                result.append(left.counter >= right.counter ? left : right)
                i += 1
                j += 1
            } else if left.device < right.device {
                result.append(left)
                i += 1
            } else {
                result.append(right)
                j += 1
            }
        }
        result.append(contentsOf: elements[i...])
        result.append(contentsOf: other.elements[j...])
        return VersionVector(sortedElements: result)
    }

    /// Joins `other` into this vector; returns true when anything rose.
    @discardableResult
    public mutating func formJoin(_ other: VersionVector) -> Bool {
        switch compare(to: other) {
        case .equal, .after:
            return false
        case .before, .concurrent:
            self = joined(with: other)
            return true
        }
    }

    /// True when this vector has seen everything `other` has (equal or after).
    public func descends(_ other: VersionVector) -> Bool {
        switch compare(to: other) {
        case .equal, .after: true
        case .before, .concurrent: false
        }
    }

    /// How this vector's history relates to `other`'s.
    public func compare(to other: VersionVector) -> CausalOrder {
        var someGreater = false  // self has an event other lacks
        var someLess = false  // other has an event self lacks
        var i = 0
        var j = 0
        let left = elements
        let right = other.elements
        while i < left.count, j < right.count {
            let l = left[i]
            let r = right[j]
            if l.device == r.device {
                if l.counter > r.counter {
                    someGreater = true
                } else if l.counter < r.counter {
                    someLess = true
                }
                i += 1
                j += 1
            } else if l.device < r.device {
                someGreater = true
                i += 1
            } else {
                someLess = true
                j += 1
            }
            if someGreater && someLess { return .concurrent }
        }
        if i < left.count { someGreater = true }
        if j < right.count { someLess = true }
        switch (someGreater, someLess) {
        case (false, false): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (true, true): return .concurrent
        }
    }

    /// `{device:counter, ...}` in device order, e.g. `{laptop-a:3, laptop-b:1}`.
    public var description: String {
        "{" + elements.map { "\($0.device.rawValue):\($0.counter)" }.joined(separator: ", ") + "}"
    }
}

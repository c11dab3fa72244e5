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
/// appear has counter 0. A vector names only the few devices that touched a field or a case, and
/// most name one: that case is stored inline, with no allocation, since merging walks millions of
/// field contexts and each separate allocation would be a cache miss.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// One device's counter.
    public struct Element: Hashable, Sendable {
        public let device: DeviceID
        public let counter: UInt64
    }

    /// Normalised so that equal vectors have equal storage: `many` holds two or more elements,
    /// sorted by device, all counters positive.
    private enum Storage: Hashable, Sendable {
        case empty
        case one(Element)
        case many([Element])
    }

    private var storage: Storage

    /// The empty vector: has seen nothing.
    public init() { storage = .empty }

    /// A vector from explicit counters; zero counters are dropped.
    public init(_ counters: [DeviceID: UInt64]) {
        self.init(
            sortedElements: counters.filter { $0.value > 0 }
                .map { Element(device: $0.key, counter: $0.value) }
                .sorted { $0.device < $1.device })
    }

    /// The smallest vector that contains `dot`.
    public init(_ dot: Dot) {
        storage = .one(Element(device: dot.device, counter: dot.counter))
    }

    /// Elements known to be sorted by device with positive counters.
    init(sortedElements: [Element]) {
        switch sortedElements.count {
        case 0: storage = .empty
        case 1: storage = .one(sortedElements[0])
        default: storage = .many(sortedElements)
        }
    }

    /// The counters, sorted by device; every counter is positive.
    public var elements: [Element] {
        switch storage {
        case .empty: []
        case .one(let element): [element]
        case .many(let elements): elements
        }
    }

    /// Calls `body` with each element in device order, without copying them into a new array.
    public func forEachElement(_ body: (Element) -> Void) {
        withElements { elements in
            for element in elements { body(element) }
        }
    }

    /// Calls `body` with the elements, without copying them into a new array.
    @inline(__always)
    private func withElements<Result>(_ body: (UnsafeBufferPointer<Element>) -> Result) -> Result {
        switch storage {
        case .empty:
            return body(UnsafeBufferPointer(start: nil, count: 0))
        case .one(let element):
            return withUnsafePointer(to: element) { body(UnsafeBufferPointer(start: $0, count: 1)) }
        case .many(let elements):
            return elements.withUnsafeBufferPointer(body)
        }
    }

    /// True when no event has been seen.
    public var isEmpty: Bool {
        if case .empty = storage { return true }
        return false
    }

    /// The devices with a non-zero counter, in order.
    public var devices: [DeviceID] { elements.map(\.device) }

    /// The counter for `device`; 0 for a device never seen.
    public subscript(device: DeviceID) -> UInt64 {
        switch storage {
        case .empty:
            return 0
        case .one(let element):
            return element.device == device ? element.counter : 0
        case .many(let elements):
            // Vectors are short: a linear scan beats a binary search and allocates nothing.
            for element in elements where element.device == device { return element.counter }
            return 0
        }
    }

    /// True when the event `dot` is covered (has been seen).
    @inline(__always)
    public func contains(_ dot: Dot) -> Bool { self[dot.device] >= dot.counter }

    /// Raises `device`'s counter to at least `counter`.
    public mutating func raise(_ device: DeviceID, to counter: UInt64) {
        guard counter > 0 else { return }
        switch storage {
        case .empty:
            storage = .one(Element(device: device, counter: counter))
        case .one(let element) where element.device == device:
            if element.counter < counter { storage = .one(Element(device: device, counter: counter)) }
        default:
            formJoin(VersionVector(sortedElements: [Element(device: device, counter: counter)]))
        }
    }

    /// Adds one event.
    public mutating func insert(_ dot: Dot) { raise(dot.device, to: dot.counter) }

    /// The per-device maximum of both vectors (least upper bound).
    public func joined(with other: VersionVector) -> VersionVector {
        switch (storage, other.storage) {
        case (_, .empty):
            return self
        case (.empty, _):
            return other
        case (.one(let left), .one(let right)) where left.device == right.device:
            return left.counter >= right.counter ? self : other
        default:
            break
        }
        return withElements { left in
            other.withElements { right in
                var result: [Element] = []
                result.reserveCapacity(left.count + right.count)
                var i = 0
                var j = 0
                while i < left.count, j < right.count {
                    let l = left[i]
                    let r = right[j]
                    if l.device == r.device {
                        result.append(l.counter >= r.counter ? l : r)
                        i += 1
                        j += 1
                    } else if l.device < r.device {
                        result.append(l)
                        i += 1
                    } else {
                        result.append(r)
                        j += 1
                    }
                }
                result.append(contentsOf: left[i...])
                result.append(contentsOf: right[j...])
                return VersionVector(sortedElements: result)
            }
        }
    }

    /// Joins `other` into this vector; returns true when anything rose.
    @discardableResult
    public mutating func formJoin(_ other: VersionVector) -> Bool {
        switch compare(to: other) {
        case .equal, .after:
            return false
        case .before:
            self = other
            return true
        case .concurrent:
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
        switch (storage, other.storage) {
        case (.empty, .empty):
            return .equal
        case (_, .empty):
            return .after
        case (.empty, _):
            return .before
        case (.one(let l), .one(let r)) where l.device == r.device:
            return l.counter == r.counter ? .equal : (l.counter > r.counter ? .after : .before)
        default:
            break
        }
        return withElements { left in
            other.withElements { right in Self.compare(left, right) }
        }
    }

    private static func compare(
        _ left: UnsafeBufferPointer<Element>, _ right: UnsafeBufferPointer<Element>
    ) -> CausalOrder {
        var someGreater = false  // left has an event right lacks
        var someLess = false  // right has an event left lacks
        var i = 0
        var j = 0
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

import Foundation
public import Referrals

/// Where the laptop layer reads the time: injected, so tests fix it and nothing inside reads
/// the system clock directly.
public protocol InstantSource: Sendable {
    /// The current instant.
    func now() -> Instant
}

/// The system's clock, to the whole second.
public struct SystemClock: InstantSource {
    public init() {}
    public func now() -> Instant { Instant(Date()) }
}

/// A clock that always reads the same instant (tests, replays).
public struct FixedClock: InstantSource {
    public let instant: Instant
    public init(_ instant: Instant) { self.instant = instant }
    public func now() -> Instant { instant }
}

/// The reasons a centre's own entry can be refused for (``CentreRefusal``): each kind of entry
/// has its own, and all have ``invalid`` (the entry cannot be made) and ``storage`` (the
/// database failed: nothing is known to have changed; try again).
public protocol CentreRefusalReason: RawRepresentable, Sendable, Hashable where RawValue == String {
    static var invalid: Self { get }
    static var storage: Self { get }
}

/// Why the centre did not record an entry of its own (a day team's acceptance, an act between
/// host and home authorities): the reason, and a message saying what happened and what to do.
/// Nothing was changed.
public struct CentreRefusal<R: CentreRefusalReason>: Error, Sendable, Hashable, CustomStringConvertible {
    public typealias Reason = R

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }

    /// Runs a storage call, its failure a refusal for ``CentreRefusalReason/storage``.
    static func storing<T>(_ body: () async throws(CentralError) -> T) async throws(Self) -> T {
        do {
            return try await body()
        } catch {
            throw Self(.storage, error.message)
        }
    }

    /// The refusal a failure to store the entry amounts to.
    static func from(_ failure: CentreEntry.Failure<Self>) -> Self {
        switch failure {
        case .refused(let refusal): refusal
        case .invalid(let message): Self(.invalid, message)
        case .storage(let message): Self(.storage, message)
        }
    }
}

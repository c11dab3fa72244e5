import Synchronization

/// The bytes of push bodies the centre holds at once, across every request. A push is held
/// while it is read (its parts until a signature verifies them, its segments until they are
/// stored), up to the request limit each; without a bound shared by all requests, many pushes
/// at once (a dishonest enrolled device opening request after request, or a crowd of laptops
/// after an outage) could take more memory than the machine has. Each request's body is counted
/// whole as it is read, until the request is done with its push. A request that would go over
/// is refused as busy (HTTP 503 with Retry-After): the laptop backs off and sends it again, and
/// what its verified segments stored stays stored.
public final class PushBudget: Sendable {
    /// The bytes all requests may hold at once.
    public let capacity: Int
    private let held = Mutex(0)

    /// A budget of `capacity` bytes, never less than `largestRequest` (so that a request the
    /// centre accepts can always be read once the others are done).
    public init(capacity: Int, largestRequest: Int) {
        self.capacity = max(capacity, largestRequest, 1)
    }

    /// The bytes held now, by every request.
    public var bytesHeld: Int { held.withLock { $0 } }

    /// What one request holds of the budget: given back whole by ``Claim/release()`` when the
    /// request is done with its body.
    public final class Claim: Sendable {
        private let budget: PushBudget
        private let bytes = Mutex(0)

        init(_ budget: PushBudget) {
            self.budget = budget
        }

        /// Holds `count` more bytes, or throws a busy error (nothing more held) when the budget
        /// has not that much left.
        public func take(_ count: Int) throws(CentralError) {
            guard count > 0 else { return }
            let taken = budget.held.withLock { held in
                guard held + count <= budget.capacity else { return false }
                held += count
                return true
            }
            guard taken else {
                throw CentralError(
                    .busy,
                    "the centre is reading as many pushes as it can hold (\(budget.capacity >> 20) MiB); send this one again shortly",
                    reason: PushBudget.refusalReason)
            }
            bytes.withLock { $0 += count }
        }

        /// Gives back every byte this claim holds; a second call gives back nothing.
        public func release() {
            let count = bytes.withLock { bytes in
                defer { bytes = 0 }
                return bytes
            }
            guard count > 0 else { return }
            budget.held.withLock { $0 -= count }
        }

        deinit { release() }
    }

    /// The reason a push refused as busy is counted and logged under.
    public static let refusalReason = "push-budget"

    /// A new, empty claim on the budget for one request.
    public func claim() -> Claim { Claim(self) }
}

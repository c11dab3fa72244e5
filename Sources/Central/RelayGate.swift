/// At most a few relayed bundles are read at once. A relayed bundle is read whole before it is
/// checked (it is its author's signed word, stored only once its final signature verifies), so
/// each one held costs up to the request limit in memory; the gate bounds what many relays at
/// once can cost the centre, whatever their sizes. The others wait their turn, unread.
actor RelayGate {
    private let capacity: Int
    private var inUse = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Runs `body` once a place is free, and frees it after.
    func withPlace<Result: Sendable>(
        _ body: @Sendable () async throws -> Result
    ) async rethrows -> Result {
        if inUse < capacity {
            inUse += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }  // the place is handed over
        }
        defer { release() }
        return try await body()
    }

    private func release() {
        if waiting.isEmpty {
            inUse -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

public import LineProtocol
public import Replication
import Synchronization

/// Stores one push's verified segments while the rest of the push still arrives.
///
/// Each segment handed to ``submit(_:)`` is read and checked (``SyncService/prepare(_:)-([UnreadRecord])``)
/// on a task of its own, beside the others. One writer stores them in stream order: whenever it
/// is free it takes every segment ready in order and stores them in one transaction (group
/// commit), so a push pays for few commits however finely its checkpoints cut it, and a commit
/// never waits for the reading of segments after it.
///
/// ```swift
/// let pipeline = PushPipeline(service: service, device: device)
/// for segment in reader.takeVerified() { pipeline.submit(segment) }
/// let stored = try await pipeline.finish()   // stored.outcomes, in stream order
/// ```
public final class PushPipeline: Sendable {
    private let service: SyncService
    private let device: EnrolledDevice
    private let state = Mutex(State())
    /// The writer (set once, at the end of `init`).
    private let writer = Mutex<Task<Stored, any Error>?>(nil)

    private struct State {
        /// Prepared segments (or why one could not be read) by their number, not yet stored.
        var ready: [Int: Result<[PreparedPart], CentralError>] = [:]
        var submitted = 0
        var closed = false
        /// The writer, when it waits for the next segment.
        var waiting: CheckedContinuation<Void, Never>?
    }

    /// What became of the push's parts, in stream order: the version each part was pushed at
    /// (all a reply needs of them; the parts themselves are let go once stored) and its outcome.
    public struct Stored: Sendable {
        public var pushedVersions: [VersionVector] = []
        public var outcomes: [StoredOutcome] = []
        /// How many transactions stored them, and the time spent in those (for the log).
        public var transactions = 0
        public var storing = Duration.zero
    }

    /// A pipeline for one push by `device`. Call ``finish()`` or ``abandon()`` once: the writer
    /// runs until then.
    public init(service: SyncService, device: EnrolledDevice) {
        self.service = service
        self.device = device
        let task = Task { try await self.write() }
        writer.withLock { $0 = task }
    }

    /// Hands on the next verified segment; it is read and checked at once, stored in its turn.
    public func submit(_ segment: [UnreadRecord]) {
        let number = state.withLock { state -> Int in
            defer { state.submitted += 1 }
            return state.submitted
        }
        let service = self.service
        Task {
            let prepared: Result<[PreparedPart], CentralError>
            do throws(CentralError) {
                prepared = .success(try service.prepare(segment))
            } catch {
                prepared = .failure(error)
            }
            self.deliver(prepared, number: number)
        }
    }

    /// Declares that no segment follows, waits until every segment is stored, and returns what
    /// was stored. Throws the first segment's failure (a payload that could not be read, a
    /// storage failure); segments before it stay stored.
    public func finish() async throws -> Stored {
        close()
        guard let writer = writer.withLock({ $0 }) else { return Stored() }
        return try await writer.value
    }

    /// Declares that no segment follows (the push broke off) and waits until what was submitted
    /// is stored or has failed.
    public func abandon() async {
        _ = try? await finish()
    }

    private func close() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
    }

    private func deliver(_ prepared: Result<[PreparedPart], CentralError>, number: Int) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ready[number] = prepared
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
    }

    /// The writer: stores ready segments in order, several at a time, until closed and done.
    private func write() async throws -> Stored {
        var stored = Stored()
        var next = 0
        while true {
            let batch = await readySegments(from: next)
            guard !batch.isEmpty else { return stored }
            next += batch.count
            // Segments before one that could not be read are stored all the same.
            var prepared: [PreparedPart] = []
            var failure: CentralError?
            for segment in batch {
                switch segment {
                case .success(let parts): prepared += parts
                case .failure(let error): failure = error
                }
                if failure != nil { break }
            }
            if !prepared.isEmpty {
                let clock = ContinuousClock()
                let started = clock.now
                defer {
                    stored.transactions += 1
                    stored.storing += clock.now - started
                }
                let outcomes = try await service.store(prepared, from: device)
                stored.pushedVersions += prepared.map(\.part.version)
                stored.outcomes += outcomes
            }
            if let failure { throw failure }
        }
    }

    /// The segments ready in order from `next` on, waiting for the first of them; empty when
    /// the pipeline is closed and every segment submitted was taken.
    private func readySegments(from next: Int) async -> [Result<[PreparedPart], CentralError>] {
        while true {
            enum Step { case take([Result<[PreparedPart], CentralError>]), done, wait }
            let step = state.withLock { state -> Step in
                var batch: [Result<[PreparedPart], CentralError>] = []
                var number = next
                while let segment = state.ready.removeValue(forKey: number) {
                    batch.append(segment)
                    number += 1
                }
                if !batch.isEmpty { return .take(batch) }
                return state.closed && next >= state.submitted ? .done : .wait
            }
            switch step {
            case .take(let batch): return batch
            case .done: return []
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        // Something may have arrived since the look above.
                        if state.ready[next] != nil || (state.closed && next >= state.submitted) { return true }
                        state.waiting = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }
}

public import LineProtocol
public import Replication

/// Stores one push's verified segments while the rest of the push still arrives.
///
/// ``run(_:)`` calls its `feed` (which reads the request body) with a `submit` function. Each
/// segment submitted is read and checked (``SyncService/prepare(_:)-([UnreadRecord])``) in a
/// child task of its own, beside the others. One writer, a child task too, stores them in
/// stream order: whenever it is free it takes every segment ready in order and stores them in
/// one transaction (group commit), so a push pays for few commits however finely its
/// checkpoints cut it, and a commit never waits for the reading of segments after it.
///
/// At most ``maximumInFlight`` segments are submitted and not yet taken by the writer: beyond
/// that, `submit` waits (and so does the reading of the body) until the writer takes some.
/// Reading runs ahead of the writer that far and no further.
///
/// ```swift
/// let pipeline = PushPipeline(service: service, device: device)
/// let (pull, stored) = try await pipeline.run { submit in
///     for segment in segments { try await submit(segment) }
///     return pull
/// }
/// // stored.outcomes, in stream order
/// ```
public struct PushPipeline: Sendable {
    /// What became of the push's parts, in stream order: the version each part was pushed at
    /// (all a reply needs of them; the parts themselves are let go once stored) and its outcome.
    public struct Stored: Sendable {
        public var pushedVersions: [VersionVector] = []
        public var outcomes: [StoredOutcome] = []
        /// How many transactions stored them, and the time spent in those (for the log).
        public var transactions = 0
        public var storing = Duration.zero
    }

    /// The most segments submitted and not yet taken by the writer. Reading further ahead
    /// gains nothing when the writer is what is slowest, and all it has read ahead is still to
    /// store once the last byte is in: the device waits for that. Four segments of 250 records
    /// (the laptop's checkpoints) leave at most about 1,000 records to store after the body ends.
    public let maximumInFlight: Int
    private let service: SyncService
    private let device: EnrolledDevice

    /// A pipeline for pushes by `device`.
    public init(service: SyncService, device: EnrolledDevice, maximumInFlight: Int = 4) {
        self.service = service
        self.device = device
        self.maximumInFlight = max(1, maximumInFlight)
    }

    /// What the writer hears, in the order it was sent.
    private enum Event: Sendable {
        /// Segment `number` was read and checked (or could not be read).
        case prepared(number: Int, Result<[PreparedPart], CentralError>)
        /// The feed has ended (returned or broken off) after submitting this many segments.
        case end(submitted: Int)
        /// The writer's own mark, sent when a commit ends: once it comes back, the writer has
        /// heard of every segment made ready while it was storing.
        case caughtUp
    }

    /// Runs `feed`, storing the segments it submits (in the order submitted) while it runs,
    /// and returns what `feed` returned and what was stored.
    ///
    /// When `feed` throws (the body broke off, or was refused), the segments it submitted are
    /// stored all the same, then its error is thrown. When a segment cannot be read (or
    /// storing fails), the segments before it stay stored, nothing after it is, and that
    /// failure is thrown; `submit` throws it too once it has to wait for room, so the feed stops
    /// after at most `maximumInFlight` more segments.
    public func run<Fed>(
        _ feed: (_ submit: (_ segment: [UnreadRecord]) async throws -> Void) async throws -> Fed
    ) async throws -> (fed: Fed, stored: Stored) {
        // Each part is checked as a new case while it is prepared, beside the other segments
        // (the writer takes that check when the centre holds no case of its id); every part of
        // the push is checked with the same peer centres, read once.
        let push = try await service.pushContext(for: device)
        let (events, toWriter) = AsyncStream.makeStream(of: Event.self)
        let (taken, toFeed) = AsyncThrowingStream.makeStream(of: Int.self)
        async let written = write(events, push: push, toWriter: toWriter, toFeed: toFeed)
        var submitted = 0
        let fed: Result<Fed, any Error>
        do {
            fed = .success(
                try await withThrowingDiscardingTaskGroup(returning: Fed.self) { preparing in
                    let service = self.service
                    var room = maximumInFlight
                    var takenSegments = taken.makeAsyncIterator()
                    func submit(_ segment: [UnreadRecord]) async throws {
                        while room == 0 {
                            // The writer ends this stream with its failure, if it fails.
                            guard let count = try await takenSegments.next() else { throw CancellationError() }
                            room += count
                        }
                        room -= 1
                        let number = submitted
                        submitted += 1
                        preparing.addTask {
                            let prepared: Result<[PreparedPart], CentralError>
                            do throws(CentralError) {
                                prepared = .success(try service.prepare(segment, for: push))
                            } catch {
                                prepared = .failure(error)
                            }
                            toWriter.yield(.prepared(number: number, prepared))
                        }
                    }
                    return try await feed(submit)
                })
        } catch {
            fed = .failure(error)  // every segment submitted is prepared all the same (the group waits)
        }
        toWriter.yield(.end(submitted: submitted))
        let stored: Result<Stored, any Error>
        do {
            stored = .success(try await written)
        } catch {
            stored = .failure(error)
        }
        // The feed's own failure (a body that broke off) comes first, as it came first.
        return (try fed.get(), try stored.get())
    }

    /// The writer: stores ready segments in order, several at a time, until every segment
    /// submitted is stored or one fails.
    private func write(
        _ events: AsyncStream<Event>, push: SyncService.PushContext, toWriter: AsyncStream<Event>.Continuation,
        toFeed: AsyncThrowingStream<Int, any Error>.Continuation
    ) async throws -> Stored {
        defer { toWriter.finish() }  // what is prepared after a failure is dropped
        var stored = Stored()
        // Prepared segments (or why one could not be read) by their number, not yet taken.
        var ready: [Int: Result<[PreparedPart], CentralError>] = [:]
        var next = 0  // the number of the next segment to store
        var submitted: Int?  // how many segments there are, once the feed has ended
        var free = true  // false from the end of a commit until the writer has caught up
        do {
            for await event in events {
                switch event {
                case .prepared(let number, let segment): ready[number] = segment
                case .end(let count): submitted = count
                case .caughtUp: free = true
                }
                guard free else { continue }
                // Every segment ready in order; segments before one that could not be read
                // are stored all the same.
                var prepared: [PreparedPart] = []
                var segments = 0
                var failure: CentralError?
                while failure == nil, let segment = ready.removeValue(forKey: next) {
                    next += 1
                    switch segment {
                    case .success(let parts):
                        prepared += parts
                        segments += 1
                    case .failure(let error): failure = error
                    }
                }
                if segments > 0, failure == nil { toFeed.yield(segments) }  // room for more while these are stored
                if !prepared.isEmpty {
                    let clock = ContinuousClock()
                    let started = clock.now
                    let outcomes = try await service.store(prepared, from: device, push: push)
                    stored.transactions += 1
                    stored.storing += clock.now - started
                    stored.pushedVersions += prepared.map(\.part.version)
                    stored.outcomes += outcomes
                    free = false
                    toWriter.yield(.caughtUp)
                }
                if let failure { throw failure }
                if free, let submitted, next == submitted {
                    toFeed.finish()
                    return stored
                }
            }
            throw CancellationError()  // the events end early only when the task is cancelled
        } catch {
            toFeed.finish(throwing: error)
            throw error
        }
    }
}

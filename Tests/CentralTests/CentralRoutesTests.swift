import Central
import Crypto
import Hummingbird
import HummingbirdTesting
import LineProtocol
import Logging
import NIOCore
import Replication
import Testing

/// The centre's HTTP routes, in process: requests go straight to the router (Hummingbird's
/// testing client), with a service on a temporary database.
extension CentralTests {
    static let quiet = Logger(label: "edt-central-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `test` with a client of the routes of a centre on `storage` (and the routes themselves).
    func withRoutes(
        on storage: any CentralStorage, configuration: SyncService.Configuration = .init(),
        _ test: @Sendable (any TestClientProtocol, CentralRoutes) async throws -> Void
    ) async throws {
        let router = Router()
        let routes = CentralRoutes(
            service: SyncService(storage: storage, configuration: configuration),
            authenticator: DeviceAuthenticator(storage: storage),
            logger: Self.quiet)
        routes.register(on: router)
        try await Application(router: router, logger: Self.quiet).test(.router) { client in
            try await test(client, routes)
        }
    }

    /// Runs `test` with a client of the routes of a centre on `storage`.
    func withRoutes(
        on storage: any CentralStorage, configuration: SyncService.Configuration = .init(),
        _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withRoutes(on: storage, configuration: configuration) { client, _ in try await test(client) }
    }

    /// Enrols edt-laptop-a (Reading) in `storage`; returns its signing key.
    func enrolledLaptop(in storage: any CentralStorage) async throws -> Curve25519.Signing.PrivateKey {
        let key = Self.laptopKey
        try await storage.enroll(try device(key: key))
        return key
    }

    /// POSTs `body` to the sync route, with `authorization` if any.
    func sync(_ client: any TestClientProtocol, _ body: [UInt8], authorization: String?) async throws -> TestResponse {
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        return try await client.execute(
            uri: SyncContract.syncPath, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    // MARK: - Routes

    @Test(arguments: StorageBackend.available) func theHealthRouteAnswersOk(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            try await withRoutes(on: storage) { client in
                let response = try await client.execute(uri: "/health", method: .get)
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aSyncWithoutAuthorizationIsUnauthorized(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await enrolledLaptop(in: storage)
            let body = push(records: [try referral("case-1")], checkpointEvery: 10, centre: centre(of: storage))
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: nil)
                #expect(response.status == .unauthorized)
            }
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test(arguments: StorageBackend.available) func aSyncSignedByAnotherKeyIsUnauthorized(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await enrolledLaptop(in: storage)
            let body = push(records: [try referral("case-1")], checkpointEvery: 10, centre: centre(of: storage))
            let forged = try authorization(1, signer: Curve25519.Signing.PrivateKey(), centre: centre(of: storage))
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: forged)
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("not authenticated"))
            }
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test(arguments: StorageBackend.available) func aSyncByARevokedDeviceIsForbidden(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            #expect(try await storage.revoke(try DeviceID("edt-laptop-a")))
            let body = push(records: [try referral("case-1")], checkpointEvery: 10, centre: centre(of: storage))
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .forbidden)
            }
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test(arguments: StorageBackend.available)
    func aPushIsRefusedAsBusyWhileOthersHoldWhatTheCentreMayAndStoredOnceAgain(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            let body = push(records: [try referral("case-1")], checkpointEvery: 10, counter: 1, centre: centre)
            try await withRoutes(on: storage) { client, routes in
                let budget = routes.pushBudget
                #expect(budget.capacity == SyncService.Configuration().pushBytesHeld)
                // Other requests hold all but a few bytes of what the centre may hold.
                let others = budget.claim()
                try others.take(budget.capacity - 100)
                let busy = try await sync(
                    client, body, authorization: try authorization(1, signer: key, centre: centre))
                #expect(busy.status == .serviceUnavailable)
                #expect(busy.headers[.retryAfter] == "2")
                #expect(String(buffer: busy.body).contains("send this one again shortly"))
                #expect(budget.bytesHeld == budget.capacity - 100, "the refused push holds nothing")
                #expect(try await storage.newestSequence() == 0, "and stored nothing")
                // Once they are done, the same push sent again (its next request) is stored.
                others.release()
                #expect(budget.bytesHeld == 0)
                let again = push(records: [try referral("case-1")], checkpointEvery: 10, counter: 2, centre: centre)
                let stored = try await sync(
                    client, again, authorization: try authorization(2, signer: key, centre: centre))
                #expect(stored.status == .ok)
                #expect(try await storage.newestSequence() == 1)
                #expect(budget.bytesHeld == 0, "a push done with gives back what it held")
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aPushRefusedAsBusyPartWayKeepsWhatItsSignedSegmentsStored(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            let records = try (1...3).map { try referral("case-\($0)") }
            // Signed after the second record: the first two are verified before the end.
            let body = push(records: records, checkpointEvery: 2, counter: 1, centre: centre)
            try await withRoutes(on: storage) { client, routes in
                let others = routes.pushBudget.claim()
                try others.take(routes.pushBudget.capacity - body.count / 2)
                let busy = try await sync(
                    client, body, authorization: try authorization(1, signer: key, centre: centre))
                #expect(busy.status == .serviceUnavailable)
                #expect(try await storage.newestSequence() == 2, "the two signed segments stay stored")
                others.release()
                let again = push(records: records, checkpointEvery: 2, counter: 2, centre: centre)
                let stored = try await sync(
                    client, again, authorization: try authorization(2, signer: key, centre: centre))
                #expect(stored.status == .ok)
                #expect(try await storage.newestSequence() == 3, "sent again, the first two are already stored")
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aPushOverTheRequestLimitIsTooLargeWhateverTheBudget(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            var configuration = SyncService.Configuration()
            configuration.maximumRequestBytes = 2_000
            configuration.pushBytesHeld = 0  // the floor: one request at its largest
            let body = push(
                records: try (1...5).map { try referral("case-\($0)") }, checkpointEvery: 10, counter: 1, centre: centre
            )
            #expect(body.count > 2_000)
            try await withRoutes(on: storage, configuration: configuration) { client, routes in
                #expect(routes.pushBudget.capacity == 2_000)
                // Too large is what the laptop must hear (it then sends fewer at once), never
                // busy, which it would send again as it was, for ever.
                let others = routes.pushBudget.claim()
                try others.take(1_000)
                let response = try await sync(
                    client, body, authorization: try authorization(1, signer: key, centre: centre))
                #expect(response.status == .contentTooLarge)
                others.release()
                #expect(routes.pushBudget.bytesHeld == 0)
            }
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test func aPushBudgetIsNeverLessThanOneRequestAtItsLargestAndGivesBackOnce() throws {
        let budget = PushBudget(capacity: 10, largestRequest: 1_000)
        #expect(budget.capacity == 1_000)
        let first = budget.claim()
        try first.take(600)
        let second = budget.claim()
        let refused = #expect(throws: CentralError.self) { try second.take(401) }
        #expect(refused?.code == .busy && refused?.reason == PushBudget.refusalReason)
        try second.take(400)
        #expect(budget.bytesHeld == 1_000)
        first.release()
        first.release()
        #expect(budget.bytesHeld == 400, "a claim gives back once")
        do {
            let dropped = budget.claim()
            try dropped.take(300)
            withExtendedLifetime(dropped) { #expect(budget.bytesHeld == 700) }
        }
        #expect(budget.bytesHeld == 400, "a claim let go gives back what it held")
        second.release()
        #expect(budget.bytesHeld == 0)
    }

    @Test(arguments: StorageBackend.available) func aReplayedSyncIsUnauthorized(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let first = push(
                records: [try referral("case-1")], checkpointEvery: 10, counter: 7, centre: centre(of: storage))
            let replay = push(
                records: [try referral("case-2")], checkpointEvery: 10, counter: 7, centre: centre(of: storage))
            let signed = try authorization(7, signer: key, centre: centre(of: storage))
            try await withRoutes(on: storage) { client in
                #expect(try await sync(client, first, authorization: signed).status == .ok)
                let response = try await sync(client, replay, authorization: signed)
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("replayed"))
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(page.records.map(\.id.rawValue) == ["case-1"], "nothing of the replayed request is stored")
        }
    }

    @Test(arguments: StorageBackend.available) func aSignedPushIsStoredAndAcknowledgedInAnEDTLPReply(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let record = try referral("case-1")
            let body = push(records: [record], checkpointEvery: 10, centre: centre(of: storage))
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            let identity = storage.identity
            let verifier = StreamVerifier.key(storage.signingKey.publicKey)
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/x-edtlp") == true)
                let reply = try DecodedStream([UInt8](buffer: response.body), verifier: verifier)
                #expect(reply.header.kind == .reply)
                guard reply.content.count == 2, case .answer(.stored(let acked, let cursor)) = reply.content[0],
                    case .delta(_, let knowledge) = reply.content[1]
                else {
                    Issue.record("unexpected reply: \(reply.content)")
                    return
                }
                #expect(acked == record.id && cursor.text == "central.\(identity):1")
                #expect(Cursor(knowledge).text == "central.\(identity):1", "the pull covers the case, not echoed back")
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(page.records.map(\.id.rawValue) == ["case-1"])
            #expect(page.records.first?.body == RecordCoding.encode(record))
        }
    }

    @Test(arguments: StorageBackend.available) func aPushCutByManyCheckpointsIsAcknowledgedInStreamOrder(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            // Long enough to come in several pieces of body; a segment every 3 records.
            let records = try (0..<40).map {
                try referral("case-\($0)", concern: String(repeating: "Alone. ", count: 300))
            }
            let body = push(records: records, checkpointEvery: 3, centre: centre(of: storage))
            #expect(body.count > 64 * 1024)
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            let identity = storage.identity
            let verifier = StreamVerifier.key(storage.signingKey.publicKey)
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .ok)
                let acks = try DecodedStream([UInt8](buffer: response.body), verifier: verifier).content.compactMap {
                    message -> String? in
                    if case .answer(.stored(let id, let cursor)) = message {
                        "\(id.rawValue)@\(cursor.text)"
                    } else {
                        nil
                    }
                }
                #expect(acks == (0..<40).map { "case-\($0)@central.\(identity):\($0 + 1)" })
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aDamagedPushIsRefusedAndNothingOfItStored(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let sound = push(
                records: try (0..<3).map { try referral("case-\($0)") }, checkpointEvery: 10,
                centre: centre(of: storage))
            var badChecksum = sound
            badChecksum[sound.count - 80] ^= 0x01
            let truncated = Array(sound.dropLast(30))
            let requests = [
                try authorization(1, signer: key, centre: centre(of: storage)),
                try authorization(2, signer: key, centre: centre(of: storage)),
            ]
            try await withRoutes(on: storage) { [badChecksum] client in
                for (signed, body) in zip(requests, [badChecksum, truncated]) {
                    let response = try await sync(client, body, authorization: signed)
                    #expect(response.status == .badRequest)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true, "not a reply")
                    #expect(!String(buffer: response.body).contains("ACK"))
                }
            }
            #expect(try await storage.newestSequence() == 0, "nothing a checksum did not verify is stored")
        }
    }

    @Test(arguments: StorageBackend.available)
    func aPushDamagedAfterACheckpointKeepsWhatItVerifiedButAcknowledgesNothing(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            var body = push(
                records: try (0..<7).map { try referral("case-\($0)") }, checkpointEvery: 3, centre: centre(of: storage)
            )
            body[body.count - 80] ^= 0x01  // after the last checkpoint
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            try await withRoutes(on: storage) { [body] client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .badRequest)
                #expect(!String(buffer: response.body).contains("ACK"))
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(
                page.records.map(\.id.rawValue) == (0..<6).map { "case-\($0)" },
                "the segments checkpoints verified are stored")
        }
    }

    @Test(arguments: StorageBackend.available) func aPushOverTheSizeLimitIsTooLarge(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            var configuration = SyncService.Configuration()
            configuration.maximumRequestBytes = 2_000
            let body = push(
                records: try (0..<20).map { try referral("case-\($0)") }, checkpointEvery: 100,
                centre: centre(of: storage))
            #expect(body.count > 2_000)
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            try await withRoutes(on: storage, configuration: configuration) { client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .contentTooLarge)
            }
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test(arguments: StorageBackend.available) func aCursorFromAnotherDatabaseIsAConflictToStartOver(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let body = push(
                records: [try referral("case-1")], checkpointEvery: 10, pull: "central.otherdatabase:3",
                centre: centre(of: storage))
            let signed = try authorization(1, signer: key, centre: centre(of: storage))
            try await withRoutes(on: storage) { client in
                let response = try await sync(client, body, authorization: signed)
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).hasPrefix("start-over:"))
            }
        }
    }
}

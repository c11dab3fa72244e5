import Central
import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LineProtocol
import Logging
import NIOCore
import Referrals
import Replication
import Synchronization
import Testing

/// What a log line said: its message and every metadata value, as text.
struct LoggedLine: Sendable {
    let message: String
    let metadata: [String: String]
}

/// A log handler keeping every line, for tests of what the centre logs.
struct KeptLog: LogHandler {
    final class Lines: Sendable {
        let lines = Mutex<[LoggedLine]>([])
        var all: [LoggedLine] { lines.withLock { $0 } }
    }

    let kept: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { $1 }
        let line = LoggedLine(
            message: event.message.description, metadata: merged.mapValues { "\($0)" })
        kept.lines.withLock { $0.append(line) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

/// The centre's operations, in process: request ids in answers and log lines, the figures of
/// `GET /metrics`, and each device's last successful sync.
extension CentralTests {
    /// Runs `test` with a client of the routes of a centre on `storage` (its calls timed), logging
    /// into `log` and counting into `endpoint`.
    func withOperatedRoutes(
        on storage: any CentralStorage, endpoint: MetricsEndpoint, log: KeptLog.Lines = .init(),
        _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let timed = TimedCentralStorage(storage, metrics: endpoint.metrics)
        let router = Router()
        CentralRoutes(
            service: SyncService(storage: timed), authenticator: DeviceAuthenticator(storage: timed),
            logger: Logger(label: "edt-central-tests", factory: { _ in KeptLog(kept: log) }),
            metrics: endpoint.metrics
        ).register(on: router)
        try await Application(router: router, logger: Self.quiet).test(.router, test)
    }

    /// POSTs a push to the sync route with `authorization` and, if given, `X-Request-Id: requestID`.
    func sync(
        _ client: any TestClientProtocol, _ body: [UInt8], authorization: String?, requestID: String?
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        if let requestID, let name = HTTPField.Name(SyncContract.requestIDHeader) { headers[name] = requestID }
        return try await client.execute(
            uri: SyncContract.syncPath, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    /// The `X-Request-Id` of an answer.
    func requestID(of response: TestResponse) -> String? {
        HTTPField.Name(SyncContract.requestIDHeader).flatMap { response.headers[$0] }
    }

    /// The value of the series `series` (name and labels, as the exposition writes them); nil
    /// when it is not there.
    func value(_ series: String, in exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func isRandomID(_ id: String?) -> Bool {
        guard let id else { return false }
        return id.count == 16 && id.allSatisfy { "0123456789abcdef".contains($0) }
    }

    // MARK: - Request ids

    @Test(arguments: StorageBackend.available) func eachAnswerCarriesTheRequestIDAsGivenOrMadeUpWhenMalformedOrMissing(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            try await withOperatedRoutes(on: storage, endpoint: MetricsEndpoint()) { client in
                func health(_ id: String?) async throws -> TestResponse {
                    var headers = HTTPFields()
                    if let id, let name = HTTPField.Name(SyncContract.requestIDHeader) { headers[name] = id }
                    return try await client.execute(uri: SyncContract.healthPath, method: .get, headers: headers)
                }
                #expect(requestID(of: try await health("ops-check.1")) == "ops-check.1", "echoed as given")
                #expect(requestID(of: try await health("3f9a1c2b7d4e5f60-6")) == "3f9a1c2b7d4e5f60-6")
                #expect(Self.isRandomID(requestID(of: try await health(nil))), "none given: one is made up")
                let malformed = try await health("two words")
                #expect(Self.isRandomID(requestID(of: malformed)), "a malformed one is not echoed")
                #expect(malformed.status == .ok, "nor refused")
                #expect(Self.isRandomID(requestID(of: try await health(String(repeating: "x", count: 129)))))
                // A refusal carries it too, and so does an answer from no route.
                let refused = try await sync(client, [], authorization: nil, requestID: "refused-1")
                #expect(refused.status == .unauthorized && requestID(of: refused) == "refused-1")
                let nowhere = try await client.execute(uri: "/no/such/route", method: .get)
                #expect(nowhere.status == .notFound && Self.isRandomID(requestID(of: nowhere)))
            }
        }
    }

    @Test(arguments: StorageBackend.available) func everyLineLoggedForARequestCarriesItsID(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let log = KeptLog.Lines()
            let centre = centre(of: storage)
            try await withOperatedRoutes(on: storage, endpoint: MetricsEndpoint(), log: log) { client in
                let body = push(records: [try referral("case-1")], checkpointEvery: 10, counter: 4, centre: centre)
                let signed = try authorization(4, signer: key, centre: centre)
                let stored = try await sync(client, body, authorization: signed, requestID: "laptop-a-1")
                #expect(stored.status == .ok && requestID(of: stored) == "laptop-a-1")
                let replayed = try await sync(client, body, authorization: signed, requestID: "laptop-a-2")
                #expect(replayed.status == .unauthorized && requestID(of: replayed) == "laptop-a-2")
            }
            let lines = log.all
            let synced = try #require(lines.first { $0.message == "sync" })
            #expect(synced.metadata["request-id"] == "laptop-a-1" && synced.metadata["device"] == "edt-laptop-a")
            let refused = try #require(lines.first { $0.message == "sync refused" })
            #expect(refused.metadata["request-id"] == "laptop-a-2")
            #expect(refused.metadata["refusal"] == "replayed-counter")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.metadata["request-id"] != nil }, "\(lines)")
        }
    }

    // MARK: - Figures

    @Test(arguments: StorageBackend.available) func theFiguresCountSyncsRecordsRefusalsAndTimesButNoCaseData(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let colleague = Curve25519.Signing.PrivateKey()
            try await storage.enroll(try device("edt-laptop-b", key: colleague))
            let endpoint = MetricsEndpoint()
            let centre = centre(of: storage)
            try await withOperatedRoutes(on: storage, endpoint: endpoint) { client in
                // One case stored, one refused: edt-laptop-a does not serve Westminster.
                let body = push(
                    records: [
                        try referral("case-1", concern: "Amy Nowak found alone"),
                        try referral("case-2", host: Self.westminster),
                    ], checkpointEvery: 10, counter: 1, centre: centre)
                let signed = try authorization(1, signer: key, centre: centre)
                #expect(try await sync(client, body, authorization: signed, requestID: nil).status == .ok)
                // A replayed request, an unknown device, another key, no header at all.
                #expect(try await sync(client, body, authorization: signed, requestID: nil).status == .unauthorized)
                let stranger = try authorization(1, signer: .init(), device: "edt-laptop-z", centre: centre)
                #expect(try await sync(client, body, authorization: stranger, requestID: nil).status == .unauthorized)
                let forged = try authorization(2, signer: .init(), centre: centre)
                #expect(try await sync(client, body, authorization: forged, requestID: nil).status == .unauthorized)
                #expect(try await sync(client, body, authorization: nil, requestID: nil).status == .unauthorized)
                // A body signed for another request: the header's counter is 3, the body's 1.
                let mismatched = try authorization(3, signer: key, centre: centre)
                #expect(try await sync(client, body, authorization: mismatched, requestID: nil).status == .badRequest)
                // The colleague pulls the stored case.
                let pull = StreamEncoder.encode(
                    header: Header(
                        kind: .push,
                        parameters: [("device", "edt-laptop-b"), ("centre", centre), ("counter", "1")]),
                    messages: [.pull(since: try #require(Cursor("-")))], signer: StreamSigner(key: colleague))
                let pulled = try await sync(
                    client, pull,
                    authorization: try authorization(1, signer: colleague, device: "edt-laptop-b", centre: centre),
                    requestID: nil)
                #expect(pulled.status == .ok)
                #expect(try self.pulled(Array(buffer: pulled.body), by: storage).ids == ["case-1"])
            }
            let text = String(decoding: endpoint.exposition(), as: UTF8.self)
            #expect(value(#"edt_syncs_total{result="ok"}"#, in: text) == 2, "\(text)")
            #expect(value(#"edt_syncs_total{result="refused"}"#, in: text) == 5)
            #expect(value(#"edt_syncs_total{result="failed"}"#, in: text) == 0)
            #expect(value("edt_records_in_total", in: text) == 1)
            #expect(value("edt_records_out_total", in: text) == 1)
            for (level, reason, count) in [
                ("record", "forbidden", 1.0), ("record", "invalid", 0), ("request", "replayed-counter", 1),
                ("request", "unknown-device", 1), ("request", "bad-signature", 1), ("request", "no-authorization", 1),
                ("request", "bad-request", 1), ("request", "revoked", 0),
            ] {
                #expect(
                    value(#"edt_refusals_total{level="\#(level)",reason="\#(reason)"}"#, in: text) == count,
                    "\(level) \(reason)")
            }
            #expect(value("edt_sync_duration_seconds_count", in: text) == 7, "every sync request is timed")
            #expect(text.contains(#"edt_sync_duration_seconds_bucket{le="0.005"}"#))
            #expect((value(#"edt_storage_duration_seconds_count{operation="store"}"#, in: text) ?? 0) >= 1)
            #expect((value(#"edt_storage_duration_seconds_count{operation="device"}"#, in: text) ?? 0) >= 6)
            #expect((value(#"edt_storage_duration_seconds_count{operation="recordSync"}"#, in: text) ?? 0) == 2)
            for secret in ["case-1", "case-2", "Amy", "Nowak", "edt-laptop", Self.reading, Self.westminster] {
                #expect(!text.contains(secret), "\(secret) is case data, or names a device or an authority")
            }
        }
    }

    @Test func eachEndpointKeepsItsOwnFigures() {
        let first = MetricsEndpoint()
        let second = MetricsEndpoint()
        first.metrics.countSync(.ok)
        first.metrics.countRefusal(.record, reason: "a-code-of-a-later-version")
        let one = String(decoding: first.exposition(), as: UTF8.self)
        let other = String(decoding: second.exposition(), as: UTF8.self)
        #expect(value(#"edt_syncs_total{result="ok"}"#, in: one) == 1)
        #expect(value(#"edt_syncs_total{result="ok"}"#, in: other) == 0, "never the process's global figures")
        #expect(value(#"edt_refusals_total{level="record",reason="other"}"#, in: one) == 1, "labels stay a fixed list")
        #expect(!one.contains("a-code-of-a-later-version"))
    }

    @Test(arguments: StorageBackend.available) func theTimedStorageIsTheStorageItTimes(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let endpoint = MetricsEndpoint()
            let timed = TimedCentralStorage(storage, metrics: endpoint.metrics)
            #expect(timed.identity == storage.identity && timed.publicKey == storage.publicKey)
            try await timed.enroll(try device())
            #expect(try await storage.device(try DeviceID("edt-laptop-a")) != nil, "enrolled in the storage timed")
            #expect(try await timed.revoke(try DeviceID("edt-laptop-q")) == false)
            #expect(try await timed.device(try DeviceID("edt-laptop-a"))?.id.rawValue == "edt-laptop-a")
            let text = String(decoding: endpoint.exposition(), as: UTF8.self)
            for operation in ["enroll", "revoke", "device"] {
                #expect(value(#"edt_storage_duration_seconds_count{operation="\#(operation)"}"#, in: text) == 1)
            }
            #expect(value(#"edt_storage_duration_seconds_count{operation="store"}"#, in: text) == 0)
        }
    }

    // MARK: - Device freshness

    @Test(arguments: StorageBackend.available) func aSuccessfulSyncIsRecordedWithWhatTheDeviceStillHolds(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            let laptop = try DeviceID("edt-laptop-a")
            #expect(try await storage.enrolledDevices().first?.lastSync == nil, "never synced")
            let before = Instant(Date())
            try await withOperatedRoutes(on: storage, endpoint: MetricsEndpoint()) { client in
                // Five held unacknowledged, two of them sent; one is refused (Westminster's).
                let body = push(
                    records: [try referral("case-1"), try referral("case-2", host: Self.westminster)],
                    checkpointEvery: 10, counter: 1, centre: centre, pending: 5)
                let signed = try authorization(1, signer: key, centre: centre)
                #expect(try await sync(client, body, authorization: signed, requestID: nil).status == .ok)
            }
            let first = try #require(try await storage.enrolledDevices().first { $0.device.id == laptop })
            #expect(first.pending == 4, "five, less the one acknowledged: the refused one is still held")
            let synced = try #require(first.lastSync)
            #expect(synced.secondsSinceEpoch >= before.secondsSinceEpoch)
            #expect(synced.secondsSinceEpoch <= Instant(Date()).secondsSinceEpoch)
            try await withOperatedRoutes(on: storage, endpoint: MetricsEndpoint()) { client in
                // A refused request changes nothing; an earlier edt's sync (no pending=) clears the figure.
                let replayed = push(records: [], checkpointEvery: 10, counter: 1, centre: centre, pending: 0)
                let again = try authorization(1, signer: key, centre: centre)
                #expect(try await sync(client, replayed, authorization: again, requestID: nil).status == .unauthorized)
                #expect(try await storage.enrolledDevices().first?.pending == 4)
                let older = push(records: [], checkpointEvery: 10, counter: 2, centre: centre)
                let signed = try authorization(2, signer: key, centre: centre)
                #expect(try await sync(client, older, authorization: signed, requestID: nil).status == .ok)
            }
            let second = try #require(try await storage.enrolledDevices().first)
            #expect(second.pending == nil && second.lastSync != nil)
        }
    }

    @Test(arguments: StorageBackend.available) func enrolledDevicesListsLaptopsAndPeersRevokedOnesIncluded(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let laptop = try DeviceID("edt-laptop-a")
            try await storage.enroll(try device("edt-laptop-a"))
            try await storage.enroll(try device("edt-laptop-b", authorities: [Self.reading, Self.westminster]))
            let peer = try #require(
                PeerCentre(
                    EnrolledDevice(
                        id: try DeviceID("central.hants1"),
                        publicKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation),
                        authorities: ["E10000014"], peerURL: "http://127.0.0.1:9")))
            try await storage.addPeer(peer)
            #expect(try await storage.revoke(try DeviceID("edt-laptop-b")))
            try await storage.recordSync(of: laptop, at: Instant(secondsSinceEpoch: 1_800_000_000), pending: -3)
            try await storage.recordSync(
                of: try DeviceID("edt-laptop-nobody"), at: Instant(secondsSinceEpoch: 1), pending: 1)
            let devices = try await storage.enrolledDevices()
            #expect(devices.map(\.device.id.rawValue) == ["central.hants1", "edt-laptop-a", "edt-laptop-b"])
            #expect(devices.map(\.device.isPeer) == [true, false, false])
            #expect(devices.map(\.device.revoked) == [false, false, true])
            #expect(devices[1].lastSync == Instant(secondsSinceEpoch: 1_800_000_000) && devices[1].pending == 0)
            #expect(devices[0].lastSync == nil && devices[2].lastSync == nil)
            #expect(devices[2].device.authorities == [Self.reading, Self.westminster])
            // Enrolled again (a new key): its last sync stays.
            try await storage.enroll(try device("edt-laptop-a"))
            #expect(try await storage.enrolledDevices()[1].lastSync == Instant(secondsSinceEpoch: 1_800_000_000))
        }
    }

    @Test(arguments: StorageBackend.available) func casesToForwardAreListedARoundAtATimeAndCountedByTheDatabase(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let ids = (1...5).map { "case-\($0)" }
            _ = try await SyncService(storage: storage).store(
                try ids.map { try referral($0) } + [try referral("case-westminster", host: Self.westminster)],
                from: try device("edt-laptop-a", authorities: [Self.reading, Self.westminster]))
            let peer = try DeviceID("central.reading1")
            try await storage.addPeer(
                try #require(
                    PeerCentre(
                        EnrolledDevice(
                            id: peer, publicKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation),
                            authorities: [Self.reading], peerURL: "http://127.0.0.1:9"))))
            let serves: Set<String> = [Self.reading]
            #expect(try await storage.countCasesToForward(to: peer, authorities: serves) == 5)
            // The oldest changes first, a round at a time, each from where the one before ended.
            let round = try await storage.casesToForward(to: peer, authorities: serves, after: 0, limit: 2)
            #expect(round.map(\.id.rawValue) == ["case-1", "case-2"])
            #expect(round[0].sequence < round[1].sequence)
            let next = try await storage.casesToForward(
                to: peer, authorities: serves, after: round[1].sequence, limit: 2)
            #expect(next.map(\.id.rawValue) == ["case-3", "case-4"])
            #expect(try await storage.casesToForward(to: peer, authorities: serves, after: 0, limit: 0).isEmpty)
            #expect(try await storage.casesToForward(to: peer, authorities: [], after: 0, limit: 10).isEmpty)
            #expect(try await storage.countCasesToForward(to: peer, authorities: []) == 0)
            let sent = try await storage.encodedCases(round.map(\.id))
            #expect(sent.map(\.sequence) == round.map(\.sequence))
            try await storage.markForwarded(to: peer, sent.map { ($0.id, $0.sequence) })
            #expect(try await storage.countCasesToForward(to: peer, authorities: serves) == 3)
            #expect(
                try await storage.casesToForward(to: peer, authorities: serves, after: 0, limit: 10).map(\.id.rawValue)
                    == ["case-3", "case-4", "case-5"])
        }
    }

    @Test func aDeviceIsStaleWhenItHasNotSyncedWithinTheTimeOrNeverHas() throws {
        let now = Instant(secondsSinceEpoch: 1_800_000_000)
        let day: Int64 = 86_400
        func freshness(_ lastSync: Int64?, revoked: Bool = false) throws -> DeviceFreshness {
            DeviceFreshness(
                device: try device(key: .init()).revoking(revoked),
                lastSync: lastSync.map { Instant(secondsSinceEpoch: $0) },
                pending: nil)
        }
        #expect(try freshness(nil).isStale(at: now, staleAfterSeconds: day), "never synced")
        #expect(try !freshness(now.secondsSinceEpoch - day + 1).isStale(at: now, staleAfterSeconds: day))
        #expect(try freshness(now.secondsSinceEpoch - day).isStale(at: now, staleAfterSeconds: day), "exactly: stale")
        #expect(try !freshness(now.secondsSinceEpoch).isStale(at: now, staleAfterSeconds: 1))
        #expect(try !freshness(nil, revoked: true).isStale(at: now, staleAfterSeconds: day), "not expected to sync")
    }

    @Test func theFreshnessMigrationKeepsTheDevicesEnrolledBeforeIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central.sqlite").path
        do {
            let storage = try SQLiteCentralStorage(path: path)
            try await storage.enroll(try device())
        }
        // The database as the edt before this version left it: no columns, no migration recorded.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    ALTER TABLE devices DROP COLUMN last_sync;
                    ALTER TABLE devices DROP COLUMN last_pending;
                    DELETE FROM grdb_migrations WHERE identifier = 'device freshness';
                    """)
        }
        try queue.close()
        let storage = try SQLiteCentralStorage(path: path)
        let devices = try await storage.enrolledDevices()
        #expect(devices.map(\.device.id.rawValue) == ["edt-laptop-a"] && devices.first?.lastSync == nil)
        try await storage.recordSync(of: try DeviceID("edt-laptop-a"), at: Instant(secondsSinceEpoch: 7), pending: 2)
        #expect(try await storage.enrolledDevices().first?.pending == 2)
    }
}

extension EnrolledDevice {
    /// This device, revoked when `revoked`.
    func revoking(_ revoked: Bool) -> EnrolledDevice {
        EnrolledDevice(id: id, publicKey: publicKey, authorities: authorities, revoked: revoked, peerURL: peerURL)
    }
}

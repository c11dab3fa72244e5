import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// Slow and stalled request bodies against a centre on PostgreSQL: more pushes stalled half-way
/// than the centre has connections to its database. None holds a connection while it waits, so a
/// laptop's sync goes through beside them; each is cut at the stall deadline, nothing after its
/// last verified checkpoint is stored (what one verified is, whole), nothing is acknowledged,
/// and the centre serves on. Runs against the server `Tools/test` starts (`EDT_TEST_POSTGRES_URL`).
@Suite(
    "Stalled bodies at a PostgreSQL centre, end to end", .serialized,
    .enabled(if: TestPostgres.serverURL != nil, "needs EDT_TEST_POSTGRES_URL (Tools/test starts a server)"))
struct PostgresStalledBodiesEndToEndTests {
    let several = SeveralServersEndToEndTests()
    let e2e = SyncEndToEndTests()
    var edt: EDTProcess { e2e.edt }

    /// A push of four cases, request `counter` of `device`, with a signed checkpoint after the
    /// first two; and the offsets where the checkpoint's line starts and where it ends.
    func checkpointedPush(
        _ records: [Record], device: SyncEndToEndTests.CraftedDevice, counter: UInt64, centre: String
    ) -> (body: [UInt8], checkpointStarts: Int, checkpointEnds: Int) {
        let header = Header(
            kind: .push, parameters: [("device", device.id), ("centre", centre), ("counter", String(counter))])
        let encoder = StreamEncoder(header: header, signer: StreamSigner(key: device.key))
        encoder.append(.delta(base: VersionVector(), knowledge: VersionVector()))
        encoder.append(.record(records[0]))
        encoder.append(.record(records[1]))
        let before = encoder.pendingBytes
        encoder.appendSignature()
        let after = encoder.pendingBytes
        for record in records[2...] { encoder.append(.record(record)) }
        encoder.append(.pull(since: Cursor(VersionVector())))
        return (encoder.finish(), before, after)
    }

    /// Waits up to `seconds` until `connections` have all been closed by the centre; when each
    /// was (nil: still open), and what each received.
    func closings(of connections: [RawConnection], within seconds: Double) -> (at: [Date?], received: [[UInt8]]) {
        var closedAt = [Date?](repeating: nil, count: connections.count)
        var received = [[UInt8]](repeating: [], count: connections.count)
        let deadline = Date().addingTimeInterval(seconds)
        while closedAt.contains(where: { $0 == nil }), Date() < deadline {
            for (index, connection) in connections.enumerated() where closedAt[index] == nil {
                reading: while true {
                    switch connection.read(within: 0) {
                    case .closed:
                        closedAt[index] = Date()
                        break reading
                    case .bytes(let bytes): received[index] += bytes
                    case .nothing: break reading
                    }
                }
            }
            usleep(20_000)
        }
        return (closedAt, received)
    }

    @Test func pushesStalledHalfWayHoldNoDatabaseConnectionAreCutAtTheDeadlineAndStoreOnlyWhatWasVerified() throws {
        let world = try SeveralServersEndToEndTests.World()
        let stall = 15.0
        let central = try world.startServers(1, extra: ["--stall-timeout", String(stall)])[0]
        let laptop = try several.laptop(world, "edt-laptop-a")
        _ = try e2e.capture(laptop)
        // A device of the test's own, whose bodies the test writes and stops.
        let identity = try edt.run(["central", "identity", "--db", world.database])
        let centreKey = try #require(
            Data(base64Encoded: identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        let centre = SyncContract.centreIdentity(publicKey: Array(centreKey))
        let device = SyncEndToEndTests.CraftedDevice()
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database, "--device", device.id, "--public-key", device.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")

        // More stalled pushes than the centre's 20 connections to its database. Each stops half-way:
        // the even ones before their checkpoint, the odd ones after it (its two cases verified).
        let limits = ConnectionLimitsEndToEndTests()
        var stalled: [RawConnection] = []
        var lastByteAt: [Date] = []
        var records: [String: Record] = [:]
        var expected: [String] = []
        for counter in 1...24 {
            let cases = try (0..<4).map {
                try e2e.craftedReferral("stall-\(counter)-\($0)", by: device.id, concern: "Child (\($0)) alone.")
            }
            for record in cases { records[record.id.rawValue] = record }
            let push = checkpointedPush(cases, device: device, counter: UInt64(counter), centre: centre)
            let cut = counter.isMultiple(of: 2) ? push.checkpointStarts - 40 : push.checkpointEnds + 40
            if !counter.isMultiple(of: 2) { expected += cases[0..<2].map(\.id.rawValue) }
            let connection = try RawConnection(port: central.port)
            let authorization = try e2e.header(device: device, counter: UInt64(counter), centre: centre)
            connection.send(limits.syncHead(authorization: authorization, length: push.body.count))
            connection.send(Array(push.body[..<cut]))
            lastByteAt.append(Date())
            stalled.append(connection)
            // Its counter taken before the next request is sent, so that they arrive in order.
            let taken = Date().addingTimeInterval(30)
            while try world.number("SELECT last_counter FROM devices WHERE id = '\(device.id)'") < counter,
                Date() < taken
            {
                usleep(20_000)
            }
        }

        // Beside them, the laptop syncs, and /health answers.
        let synced = try e2e.sync(laptop, central.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(e2e.count(synced.json, "pushed") == 1, "\(synced.standardOutput)")
        #expect(try limits.health(central).status == 200)
        let open = stalled.filter(\.isOpen).count
        #expect(open == stalled.count, "the sync went through while every stalled push was waiting")

        // Each is cut at its deadline, not before, and nothing of it is acknowledged.
        let (closedAt, received) = closings(of: stalled, within: stall + 60)
        for (number, closed) in closedAt.enumerated() {
            let waited = closed.map { $0.timeIntervalSince(lastByteAt[number]) } ?? -1
            #expect(waited >= stall - 0.1, "push \(number + 1) is cut at its deadline, not before: \(waited) s")
            let answer = String(decoding: received[number], as: UTF8.self)
            #expect(!answer.contains("200") && !answer.contains("ACK"), "push \(number + 1): \(answer)")
        }

        // Stored: exactly the cases a checkpoint verified, each whole; change numbers without gaps.
        let held = try TestPostgres.query(
            world.database, "SELECT id || ' ' || md5(body) FROM cases WHERE id LIKE 'stall-%' ORDER BY id")
        let stored = held.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(stored.map(\.[0]) == expected.sorted(), "only what a checkpoint verified")
        for row in stored where row.count == 2 {
            let whole = Insecure.MD5.hash(data: RecordCoding.encode(try #require(records[row[0]])))
            #expect(row[1] == whole.map { String(format: "%02x", $0) }.joined(), "\(row[0]) is stored whole")
        }
        #expect(try world.number("SELECT COUNT(*) FROM cases") == expected.count + 1)
        #expect(try world.number("SELECT MAX(sequence) FROM cases") == expected.count + 1, "no change number lost")

        // The centre serves on: the laptop, and a new one, hold everything stored.
        #expect(try e2e.sync(laptop, central.url).status == 0)
        #expect(try several.ids(laptop).count == expected.count + 1)
        let other = try several.laptop(world, "edt-laptop-b")
        #expect(e2e.count(try e2e.sync(other, central.url).json, "pulled") == expected.count + 1)
        #expect(try e2e.digest(laptop) == e2e.digest(other))
    }
}

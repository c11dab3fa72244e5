import Foundation
import LineProtocol
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Stalled and hostile connections against the real centre on loopback: hundreds of sockets
/// that never finish their headers, a body that stops half-way, a client that reads none of its
/// answers, more connections than the cap. None of them stops `GET /health` or a laptop's sync
/// for longer than their deadline, and each is closed by the centre when it misses it.
///
/// The deadlines are set short or long with `edt central serve`'s flags; the bounds the tests
/// wait within are generous, only to keep a broken centre from hanging them.
@Suite("Connections at the centre: deadlines and a cap", .serialized)
struct ConnectionLimitsEndToEndTests {
    let e2e = SyncEndToEndTests()
    var edt: EDTProcess { e2e.edt }

    /// How stalled clients stop: before sending anything, in the request line, in the headers,
    /// and after a POST's headers without the blank line that ends them.
    static let stalls = [
        "",
        "GE",
        "GET /health HTTP/1.1\r\n",
        "GET /health HTTP/1.1\r\nHost: centre\r\nX-Slow: ",
        "POST /v1/sync HTTP/1.1\r\nHost: centre\r\nContent-Type: text/x-edtlp; charset=utf-8\r\n",
    ]

    /// `count` connections to `port`, each stalled in one of the ways of ``stalls``.
    func stalledConnections(_ count: Int, to port: Int) throws -> [RawConnection] {
        try (0..<count).map { number in
            let connection = try RawConnection(port: port)
            connection.send(Self.stalls[number % Self.stalls.count])
            return connection
        }
    }

    /// `GET /health` with curl: the status (0 when no answer came) and the body.
    func health(_ central: ServerProcess) throws -> (status: Int, body: String) {
        let result = try edt.run(
            ["-s", "--max-time", "30", "-w", "\n%{http_code}", central.url + SyncContract.healthPath],
            executable: URL(fileURLWithPath: "/usr/bin/curl"))
        // curl writes the body, a line feed, then the status.
        let output = result.standardOutput
        guard let cut = output.lastIndex(of: "\n") else { return (0, output) }
        return (Int(output[output.index(after: cut)...]) ?? 0, String(output[..<cut]))
    }

    /// Waits until every connection in `connections` has been closed by the centre, up to
    /// `seconds` in all; how many were.
    func closedByCentre(_ connections: [RawConnection], within seconds: Double) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        return connections.filter { $0.closedByPeer(within: max(0, deadline.timeIntervalSinceNow)) }.count
    }

    // MARK: - Stalled headers

    /// The centre of `world`, started under the open-file limits `openFiles` (`SOFT:HARD`).
    func startCentral(
        _ world: SyncEndToEndTests.World, openFiles: String, extra: [String]
    ) throws -> ServerProcess {
        let central = try ServerProcess.central(
            database: world.database, log: world.directory.appendingPathComponent("central.log"), extra: extra,
            openFiles: openFiles)
        world.central = central
        return central
    }

    /// The attack as it was found: a few hundred sockets that never finish their headers, against
    /// a centre started with a soft limit of 256 open files (macOS's default, and a common one):
    /// each socket is an open file, so the sockets alone used them up and `accept` failed for
    /// everyone. The centre raises its soft limit to the hard one, and holds them all.
    @Test func aFewHundredStalledConnectionsStopNeitherHealthNorASync() throws {
        let world = SyncEndToEndTests.World()
        // A header deadline long enough that every stalled connection stays open throughout.
        let central = try startCentral(world, openFiles: "256:4096", extra: ["--header-timeout", "300"])
        let laptop = try e2e.laptop(world, "edt-laptop-a")
        _ = try e2e.capture(laptop)
        let stalled = try stalledConnections(300, to: central.port)

        let answered = try health(central)
        #expect(answered.status == 200 && answered.body == "ok\n", "\(answered)")
        let synced = try e2e.sync(laptop, central.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(e2e.count(synced.json, "pushed") == 1, "\(synced.standardOutput)")
        #expect(try health(central).status == 200)
        #expect(stalled.filter(\.isOpen).count == 300, "the stalled connections were open all along")
    }

    @Test func stalledConnectionsAreClosedAtTheHeaderDeadline() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--header-timeout", "1"])
        // Not cut before its deadline: a connection that sends nothing stays open for a second.
        let opened = Date()
        let first = try RawConnection(port: central.port)
        #expect(first.closedByPeer(within: 60), "a connection that sends no headers is closed")
        #expect(Date().timeIntervalSince(opened) >= 0.95, "closed at its deadline, not before")

        let stalled = try stalledConnections(300, to: central.port)
        // A client that trickles its request line a byte at a time is cut all the same: the
        // deadline is on the whole head, not on progress.
        let trickling = try (0..<10).map { _ in try RawConnection(port: central.port) }
        let line =
            Array("GET /health HTTP/1.1\r\nHost: centre\r\nX-Slow: ".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 100)
        for byte in line where !trickling.filter(\.isOpen).isEmpty {
            for connection in trickling where connection.isOpen { connection.send([byte]) }
            usleep(100_000)
        }
        #expect(closedByCentre(trickling, within: 60) == 10, "trickled headers are cut at the deadline")
        #expect(closedByCentre(stalled, within: 60) == 300, "every stalled connection is closed by the centre")
        #expect(try health(central).status == 200)
    }

    @Test func aKeptAliveConnectionIsClosedAfterTheIdleDeadline() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--idle-timeout", "1", "--header-timeout", "300"])
        let connection = try RawConnection(port: central.port)
        // Two requests on one connection: kept alive between them.
        var asked = Date()
        for _ in 0..<2 {
            asked = Date()
            connection.send("GET /health HTTP/1.1\r\nHost: centre\r\n\r\n")
            let answer = connection.read(until: "ok\n", within: 60)
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("ok\n"), "\(answer)")
        }
        #expect(connection.closedByPeer(within: 60), "an idle connection is closed")
        #expect(Date().timeIntervalSince(asked) >= 0.95, "closed at its deadline, not before")
    }

    // MARK: - The cap

    @Test func connectionsBeyondTheCapAreClosedUntilStalledOnesAreCut() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--max-connections", "20", "--header-timeout", "10"])
        let laptop = try e2e.laptop(world, "edt-laptop-a")
        _ = try e2e.capture(laptop)

        // 25 stalled connections: the centre keeps 20 and closes the 5 beyond its cap at once.
        let stalled = try stalledConnections(25, to: central.port)
        var refused: [RawConnection] = []
        let deadline = Date().addingTimeInterval(30)
        while refused.count < 5, Date() < deadline {
            refused = stalled.filter { !$0.isOpen }
            usleep(20_000)
        }
        #expect(refused.count == 5, "the connections beyond the cap are closed")
        #expect(stalled.filter(\.isOpen).count == 20, "the first ones are kept")
        #expect(try health(central).status == 0, "a newcomer beyond the cap is closed too")

        // Once the header deadline cuts the stalled ones, newcomers get in.
        #expect(closedByCentre(stalled, within: 60) == 25)
        let answered = try health(central)
        #expect(answered.status == 200 && answered.body == "ok\n", "\(answered)")
        let synced = try e2e.sync(laptop, central.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(e2e.count(synced.json, "pushed") == 1)
        #expect(central.logText.contains("connection cap reached"), "\(central.logText)")
    }

    /// Under a hard limit of 256 open files the cap is lowered to fit it: the stalled sockets
    /// beyond it are turned away at once instead of leaving the centre unable to accept, and once
    /// the header deadline cuts the rest, newcomers get in.
    @Test func theCapIsLoweredToFitTheOpenFileLimit() throws {
        let world = SyncEndToEndTests.World()
        let central = try startCentral(world, openFiles: "256:256", extra: ["--header-timeout", "2"])
        #expect(central.logText.contains("--max-connections lowered"), "\(central.logText)")
        let stalled = try stalledConnections(300, to: central.port)
        #expect(closedByCentre(stalled, within: 60) == 300)
        let answered = try health(central)
        #expect(answered.status == 200 && answered.body == "ok\n", "\(answered)")
    }

    // MARK: - Bodies and answers

    /// A device of the test's own, enrolled at the centre of `world`; the centre's identity.
    func craftedDevice(in world: SyncEndToEndTests.World) throws -> (SyncEndToEndTests.CraftedDevice, String) {
        let identity = try edt.run(["central", "identity", "--db", world.database.path])
        let key = try #require(
            Data(base64Encoded: identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        let device = SyncEndToEndTests.CraftedDevice()
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", device.id, "--public-key", device.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        return (device, SyncContract.centreIdentity(publicKey: Array(key)))
    }

    /// The head of a sync request carrying a body of `length` bytes; `close` asks the centre to
    /// close the connection after its answer.
    func syncHead(authorization: String, length: Int, close: Bool = true) -> String {
        "POST \(SyncContract.syncPath) HTTP/1.1\r\nHost: centre\r\nAuthorization: \(authorization)\r\n"
            + "Content-Type: \(SyncContract.mediaType)\r\nContent-Length: \(length)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test func aBodyThatStallsHalfWayIsClosedAndNothingIsStored() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--stall-timeout", "2"])
        let (device, centre) = try craftedDevice(in: world)
        let referral = try e2e.craftedReferral("case-stalled", by: device.id, concern: "Child (7) found alone.")

        let body = e2e.pushBody([referral], device: device.id, counter: 1, centre: centre, signer: device.key)
        let connection = try RawConnection(port: central.port)
        let authorization = try e2e.header(device: device, counter: 1, centre: centre)
        connection.send(syncHead(authorization: authorization, length: body.count))
        let stalledAt = Date()
        connection.send(Array(body[..<(body.count / 2)]))
        let seen = connection.readUntilClosed(within: 60)
        #expect(seen.closed, "a body that stops is closed by the centre")
        #expect(Date().timeIntervalSince(stalledAt) >= 1.95, "closed at its deadline, not before")
        #expect(!String(decoding: seen.bytes, as: UTF8.self).contains("200"), "nothing is acknowledged")
        #expect(try !e2e.centreHolds("case-stalled", world: world), "nothing of a stalled body is stored")

        // A body that moves, however slowly, is never cut: it comes in pieces a quarter of a
        // second apart, over longer than the stall deadline, and is stored.
        let slow = e2e.pushBody([referral], device: device.id, counter: 2, centre: centre, signer: device.key)
        let patient = try RawConnection(port: central.port)
        patient.send(
            syncHead(authorization: try e2e.header(device: device, counter: 2, centre: centre), length: slow.count))
        let pieces = 16
        for piece in 0..<pieces {
            patient.send(Array(slow[(slow.count * piece / pieces)..<(slow.count * (piece + 1) / pieces)]))
            usleep(250_000)
        }
        let answer = String(decoding: patient.readUntilClosed(within: 60).bytes, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
        #expect(try e2e.centreHolds("case-stalled", world: world))
    }

    @Test func aRefusedRequestCannotHoldItsConnectionByTricklingItsBody() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--header-timeout", "1", "--stall-timeout", "300"])
        let connection = try RawConnection(port: central.port)
        let forged = "EDT-Ed25519 device=edt-laptop-z,counter=1,signature=" + String(repeating: "0", count: 128)
        // Without `Connection: close`: the centre would read the rest of the body, to keep the
        // connection for a next request.
        connection.send(syncHead(authorization: forged, length: 1_000_000, close: false))
        connection.send(String(repeating: "x", count: 100))
        let answer = connection.read(until: "\r\n\r\n", within: 60)
        #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer)")
        // The centre answered: the rest of the body must follow within the header deadline,
        // however it trickles.
        var closed = false
        let deadline = Date().addingTimeInterval(60)
        while !closed, Date() < deadline {
            connection.send("x")
            closed = connection.closedByPeer(within: 0.1)
        }
        #expect(closed, "a refused request's trickled body is cut")
    }

    @Test func aClientThatReadsNoneOfItsAnswersIsClosed() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral(extra: ["--stall-timeout", "1", "--header-timeout", "300"])
        // Requests sent one after another without reading an answer, until the centre stops
        // taking them: its answers wait, unread, in a small receive buffer.
        let connection = try RawConnection(port: central.port, receiveBuffer: 4_096)
        let request = Array("GET /health HTTP/1.1\r\nHost: centre\r\n\r\n".utf8)
        let batch = Array([[UInt8]](repeating: request, count: 1_000).joined())
        var stuck = 0
        let deadline = Date().addingTimeInterval(120)
        while stuck < 20, Date() < deadline, !central.logText.contains("step=reply") {
            stuck = connection.sendWithoutWaiting(batch) == 0 ? stuck + 1 : 0
            usleep(50_000)
        }
        // The centre closes it once its answer has moved no byte for the stall deadline.
        let logged = Date().addingTimeInterval(60)
        while !central.logText.contains("step=reply"), Date() < logged { usleep(100_000) }
        #expect(central.logText.contains("step=reply"), "\(central.logText.suffix(2_000))")
        #expect(connection.readUntilClosed(within: 60).closed, "the unread connection is closed")
        #expect(try health(central).status == 200)
    }

    // MARK: - The flags

    @Test(arguments: [
        ["--header-timeout", "0"], ["--idle-timeout", "-1"], ["--stall-timeout", "nan"],
        ["--stall-timeout", "100000"], ["--max-connections", "0"],
    ])
    func badConnectionFlagsAreUsageErrors(_ flags: [String]) throws {
        let result = try edt.run(["central", "serve", "--db", "x.sqlite"] + flags)
        #expect(result.status == 2, "\(flags): \(result.standardError)")
        #expect(result.standardError.lowercased().contains("error"))
    }

    @Test(arguments: ["0", "1000", "67108863"]) func aPushBudgetBelowOneRequestAtItsLargestIsAUsageError(
        _ bytes: String
    ) throws {
        let result = try edt.run(["central", "serve", "--db", "x.sqlite", "--push-bytes-held", bytes])
        #expect(result.status == 2, "\(bytes): \(result.standardError)")
        #expect(result.standardError.contains("--push-bytes-held must be at least 67108864"), "\(result.standardError)")
    }
}

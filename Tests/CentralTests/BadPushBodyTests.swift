import Central
import Crypto
import Hummingbird
import HummingbirdTesting
import LineProtocol
import NIOCore
import Replication
import Testing

/// Bad input at the sync route, in process, on each backend: a push cut at every frame boundary
/// (and inside lines), and lines over the protocol's limit. Each is refused with a `400` whose
/// text says why, acknowledges nothing, stores exactly the segments a signed checkpoint verified
/// before the fault (each case whole or absent), and the centre serves the next sync.
extension CentralTests {
    /// The ids of the records whose segments a receiver has verified once it has read `prefix`
    /// of `body`: every record before a `SIG n part` line whose LF is in the prefix. Worked out
    /// from the lines themselves, not by the centre's reader.
    func verifiedRecords(in body: [UInt8], upTo prefix: Int) -> [String] {
        var verified: [String] = []
        var pending: [String] = []
        var start = 0
        for (offset, byte) in body.enumerated() where byte == 0x0A {
            guard offset < prefix else { break }  // the line's LF is not in the prefix
            let words = body[start..<offset].split(separator: 0x20, maxSplits: 3).map {
                String(decoding: $0, as: UTF8.self)
            }
            if words.first == "REC", words.count > 2 { pending.append(words[2]) }
            if words.first == "SIG", words.count > 2, words[2] == "part" {
                verified += pending
                pending = []
            }
            start = offset + 1
        }
        return verified
    }

    /// The offsets just past each LF of `body`, but the last (the whole body).
    func frameBoundaries(_ body: [UInt8]) -> [Int] {
        body.indices.filter { body[$0] == 0x0A }.map { $0 + 1 }.filter { $0 < body.count }
    }

    /// The cases `storage` holds whose ids start with `prefix`, each with its stored body.
    func stored(in storage: any CentralStorage, prefix: String) async throws -> [String: [UInt8]] {
        let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10_000)
        var bodies: [String: [UInt8]] = [:]
        for record in page.records where record.id.rawValue.hasPrefix(prefix) {
            bodies[record.id.rawValue] = record.body
        }
        return bodies
    }

    /// Expects `response` to be a refusal: `400`, plain text saying why, no acknowledgement.
    func expectRefused(_ response: TestResponse, saying reason: String, _ what: String) {
        let text = String(buffer: response.body)
        #expect(response.status == .badRequest, "\(what): \(response.status) \(text)")
        #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true, "\(what): not a reply")
        #expect(text.contains(reason), "\(what): the reason is given: \(text)")
        #expect(!text.contains("ACK"), "\(what): nothing acknowledged")
    }

    @Test(arguments: StorageBackend.available) func aPushCutAtEveryFrameBoundaryStoresOnlyWhatACheckpointVerified(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            // Five records, a signed checkpoint after every two: segments of 2, 2, then 1 at END.
            @Sendable func records(_ tag: String) throws -> [Record] {
                try (0..<5).map { try referral("\(tag)-case-\($0)", concern: "Child \($0) alone at home.") }
            }
            let shape = push(records: try records("shape"), checkpointEvery: 2, counter: 1, centre: centre)
            let boundaries = frameBoundaries(shape)
            #expect(boundaries.count == 11, "header, DELTA, 5 REC, 2 SIG part, PULL, SIG final; then END")
            // Each cut: at a frame boundary (numbered by the line it ends), or inside a line
            // (`inside` bytes before the LF ending that line: the line cut short).
            var cuts: [(line: Int, inside: Int)] = [(0, 0)] + (1...boundaries.count).map { ($0, 0) }
            cuts += [(1, 20), (3, 40), (5, 1), (8, 1), (11, 30), (12, 1)]  // header, REC, each SIG, END
            try await withRoutes(on: storage) { [cuts] client in
                var counter: UInt64 = 0
                var acknowledged = 0
                for (number, cut) in cuts.enumerated() {
                    counter += 1
                    let tag = "cut\(number)"
                    let body = push(records: try records(tag), checkpointEvery: 2, counter: counter, centre: centre)
                    let lineEnds = [0] + frameBoundaries(body) + [body.count]
                    let length = lineEnds[cut.line] - cut.inside
                    let what = "cut after line \(cut.line)\(cut.inside > 0 ? ", \(cut.inside) bytes short" : "")"
                    let response = try await sync(
                        client, Array(body[..<length]),
                        authorization: try authorization(counter, signer: key, centre: centre))
                    expectRefused(response, saying: length == 0 ? "empty" : "cut short", what)
                    let expected = verifiedRecords(in: body, upTo: length)
                    let held = try await stored(in: storage, prefix: tag + "-")
                    #expect(held.keys.sorted() == expected.sorted(), "\(what): only what a checkpoint verified")
                    for (id, stored) in held {
                        let whole = try records(tag).first { $0.id.rawValue == id }.map(RecordCoding.encode)
                        let intact = stored == whole
                        #expect(intact, "\(what): \(id) is stored whole, as pushed")
                    }
                    acknowledged += expected.count
                }
                // Two cases kept by each of the 4 cuts after the first checkpoint, four by each of the 6 after the second.
                #expect(acknowledged == 4 * 2 + 6 * 4, "cuts after each checkpoint kept their segments")
                // Every stored case took one change number: none lost to a refused request.
                #expect(try await storage.newestSequence() == Int64(acknowledged))

                // The whole body of the last cut, sent again: every case stored once and acknowledged.
                counter += 1
                let tag = "cut\(cuts.count - 1)"
                let before = try await stored(in: storage, prefix: tag + "-").count
                let whole = push(records: try records(tag), checkpointEvery: 2, counter: counter, centre: centre)
                let response = try await sync(
                    client, whole, authorization: try authorization(counter, signer: key, centre: centre))
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let reply = try DecodedStream(
                    [UInt8](buffer: response.body), verifier: .key(storage.signingKey.publicKey))
                let acks = reply.content.compactMap { message -> String? in
                    if case .answer(.stored(let id, _)) = message { id.rawValue } else { nil }
                }
                #expect(acks == (0..<5).map { "\(tag)-case-\($0)" })
                #expect(try await stored(in: storage, prefix: tag + "-").count == 5)
                #expect(
                    try await storage.newestSequence() == Int64(acknowledged + 5 - before),
                    "the cases stored before are not stored again")
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aLineOverTheProtocolsLimitIsRefusedAndTheCentreServesOn(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = try await enrolledLaptop(in: storage)
            let centre = centre(of: storage)
            let limit = Limits.standard.maximumLineBytes
            // A whole, signed push whose third record is a line of over 1 MiB, after a checkpoint.
            let oversized = try referral("big-case", concern: String(repeating: "Alone. ", count: limit / 7 + 1))
            let small = try (0..<2).map { try referral("before-big-\($0)") }
            let afterCheckpoint = push(
                records: small + [oversized, try referral("after-big")], checkpointEvery: 2, counter: 1,
                centre: centre)
            // The same line first: nothing before it is verified.
            let first = push(
                records: [oversized, try referral("behind-big")], checkpointEvery: 2, counter: 2, centre: centre)
            // A line that never ends: over the limit, it is refused there, not buffered on.
            let endless =
                Array(push(records: [], checkpointEvery: 2, counter: 3, centre: centre).prefix { $0 != 0x0A }) + [0x0A]
                + Array("REC 1 endless-case ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 2 * limit)
            try await withRoutes(on: storage) { client in
                for (counter, body) in [afterCheckpoint, first, endless].enumerated() {
                    let response = try await sync(
                        client, body, authorization: try authorization(UInt64(counter + 1), signer: key, centre: centre)
                    )
                    expectRefused(response, saying: "line-too-long", "push \(counter + 1)")
                    #expect(
                        String(buffer: response.body).contains("longer than \(limit) bytes"),
                        "the limit is named: \(String(buffer: response.body))")
                }
                let held = try await storage.changes(after: 0, authorities: [Self.reading], limit: 100)
                #expect(
                    held.records.map(\.id.rawValue) == ["before-big-0", "before-big-1"],
                    "only the segment verified before the long line")
                let intact = held.records.map(\.body) == small.map(RecordCoding.encode)
                #expect(intact, "each stored whole, as pushed")

                // The centre serves the next sync.
                let next = push(records: [try referral("next-case")], checkpointEvery: 2, counter: 4, centre: centre)
                let response = try await sync(
                    client, next, authorization: try authorization(4, signer: key, centre: centre))
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 100)
            #expect(page.records.map(\.id.rawValue) == ["before-big-0", "before-big-1", "next-case"])
            #expect(try await storage.newestSequence() == 3)
        }
    }
}

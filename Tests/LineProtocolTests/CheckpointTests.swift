import LineProtocol
import Replication
import TestSupport
import Testing

/// `+SUM` checkpoints: a receiver can trust what came before one without waiting for `END`.
@Suite("Checkpoints (+SUM)")
struct CheckpointTests {
    func record(_ number: Int) throws -> Record {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.write(.string("concern \(number)"), to: try FieldPath("concern"), in: try RecordID("case-\(number)"))
        return try #require(replica[try RecordID("case-\(number)")])
    }

    /// A push of `count` records with a checkpoint after every `every`.
    func stream(records count: Int, checkpointEvery every: Int) throws -> [UInt8] {
        let encoder = StreamEncoder(
            header: Header(kind: .push, parameters: [("device", "edt-laptop-a")]), signer: TestKeys.signer)
        var bytes: [UInt8] = []
        encoder.append(.delta(base: VersionVector(), knowledge: VersionVector()))
        for number in 0..<count {
            encoder.append(.record(try record(number)))
            if (number + 1) % every == 0 { encoder.appendChecksum() }
            if number % 3 == 0 { bytes += encoder.takeBytes() }  // taking bytes midway must not disturb the sums
        }
        return bytes + encoder.finish()
    }

    @Test(arguments: [1, 7, 64, 1 << 20])
    func checkpointsVerifyInEveryChunking(chunkSize: Int) throws {
        let bytes = try stream(records: 10, checkpointEvery: 3)
        let lines = bytes.split(separator: 0x0A)
        #expect(lines.filter { $0.starts(with: "+SUM ".utf8) }.count == 3)
        let decoded = try DecodedStream(bytes, verifier: TestKeys.verifier, chunkSize: chunkSize)
        let checkpoints = decoded.messages.compactMap {
            if case .checkpoint(let checksum) = $0 { checksum } else { nil }
        }
        #expect(checkpoints.count == 3)
        // Each is the checksum its line carries.
        let written = lines.filter { $0.starts(with: "+SUM ".utf8) }.map {
            String(decoding: $0.split(separator: 0x20)[2], as: UTF8.self)
        }
        #expect(checkpoints == written)
        #expect(decoded.messages.filter { if case .record = $0 { true } else { false } }.count == 10)
    }

    @Test func aCorruptionBeforeACheckpointIsCaughtAtTheCheckpoint() throws {
        var bytes = try stream(records: 10, checkpointEvery: 3)
        let text = String(decoding: bytes, as: UTF8.self)
        // Flip a byte inside the second record's concern (before the first checkpoint).
        let target = try #require(text.utf8.firstRange(of: "concern 1".utf8))
        bytes[text.utf8.distance(from: text.utf8.startIndex, to: target.lowerBound) + 8] ^= 0x01
        let decoder = MessageDecoder(verifier: TestKeys.verifier)
        var seen: [Message] = []
        do {
            try decoder.decode(bytes) { message, _ in seen.append(message) }
            Issue.record("a corrupted stream must be refused")
        } catch {
            #expect(error.code == .digestMismatch)
            #expect(error.line == 6, "the first +SUM is line 6 (header, DELTA, three RECs)")
            #expect(!seen.contains { if case .checkpoint = $0 { true } else { false } }, "no checkpoint passes")
        }
    }

    @Test func aCorruptionAfterACheckpointLeavesWhatCameBeforeVerified() throws {
        var bytes = try stream(records: 10, checkpointEvery: 3)
        // Inside the last record, after the last checkpoint (the stream ends with SIG final and END).
        let text = String(decoding: bytes, as: UTF8.self)
        let target = try #require(text.utf8.firstRange(of: "concern 9".utf8))
        bytes[text.utf8.distance(from: text.utf8.startIndex, to: target.lowerBound) + 8] ^= 0x01
        let decoder = MessageDecoder(verifier: TestKeys.verifier)
        var checkpoints = 0
        do {
            try decoder.decode(bytes) { message, _ in if case .checkpoint = message { checkpoints += 1 } }
            try decoder.finish()
            Issue.record("a corrupted stream must be refused")
        } catch {
            // The final signature catches it before END's checksum would.
            #expect(error.code == .badSignature)
            #expect(checkpoints == 3)
        }
    }

    @Test func aForgedCheckpointIsRefused() throws {
        let header = "EDTLP 2.0 push device=edt-laptop-a\n"
        let bytes = Array((header + "+SUM 1 xxh3-64:0000000000000000\n").utf8)
        do {
            try MessageDecoder(verifier: TestKeys.verifier).decode(bytes) { _, _ in }
            Issue.record("a forged checkpoint must be refused")
        } catch {
            #expect(error.code == .digestMismatch)
            #expect(error.line == 2)
        }
    }
}

/// Counters are bounded: a claim beyond ``Dot/maximumCounter`` is refused where it is read, so no
/// replica can be made to count past the end of its counters.
@Suite("Bounded counters")
struct BoundedCounterTests {
    @Test func aVectorOrDotBeyondTheBoundIsRefused() throws {
        #expect(Notation.vector("edt-laptop-b:9007199254740992") != nil, "2^53 itself is accepted")
        #expect(Notation.vector("edt-laptop-b:9007199254740993") == nil)
        #expect(Notation.vector("edt-laptop-b:18446744073709551615") == nil)
        #expect(throws: ReplicationError.self) { try Dot(try DeviceID("edt-laptop-b"), Dot.maximumCounter + 1) }
        let text = """
            EDTLP 2.0 bundle device=edt-laptop-x
            DELTA 1 base=- knowledge=edt-laptop-b:18446744073709551615

            """
        let refusal = #expect(throws: LineProtocolError.self) {
            try MessageDecoder(verifier: TestKeys.verifier).decode(Array(text.utf8)) { _, _ in }
        }
        #expect(refusal?.code == .invalidIdentifier)
        #expect(refusal?.line == 2)
    }
}

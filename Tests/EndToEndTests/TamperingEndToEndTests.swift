import CXXHash
import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// An attacker who can alter what a laptop receives and recompute every checksum, but holds no
/// key: a reply rewritten on the way (`edt-faultproxy --faults rewrite`), a bundle file altered or
/// signed again with another key. Only the signatures can tell, and nothing of it is applied.
extension SyncEndToEndTests {
    /// The whole of `referral list --json`, to compare a store's content before and after.
    func listing(_ laptop: Laptop) throws -> String {
        try edt.run(["referral", "list", "--store", laptop.store, "--json"]).standardOutput
    }

    // MARK: - A reply rewritten in flight

    @Test func aReplyAlteredInFlightWithEveryChecksumFixedChangesNothingOnTheLaptop() throws {
        let world = World()
        let central = try world.startCentral()
        let proxy = try ServerProcess.faultProxy(
            upstream: central.port, arguments: ["--faults", "rewrite", "--rate", "1"],
            log: world.directory.appendingPathComponent("proxy.log"))
        defer { proxy.terminate() }
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        let caseOfA = try capture(a)
        #expect(try sync(a, central.url).status == 0)

        // 1. B has nothing to push: the reply's first altered line is the REC of A's case.
        let emptyDigest = try digest(b)
        let emptyListing = try listing(b)
        let pulling = try sync(b, proxy.url, ["--attempts", "2"])
        #expect(pulling.status == 3, "transient failures until the attempts run out: \(pulling.standardError)")
        #expect(pulling.standardError.hasPrefix("error:"))
        #expect(pulling.standardError.contains("bad-signature"), "\(pulling.standardError)")
        #expect(try digest(b) == emptyDigest)
        #expect(try listing(b) == emptyListing)
        #expect(try ids(b).isEmpty, "nothing pulled")
        #expect(proxy.logText.contains("(REC): a letter of the first JSON string value"), "\(proxy.logText)")
        #expect(proxy.logText.contains("xxh3-64 rewritten: END"), "\(proxy.logText)")

        // 2. B has its own referral pending: the first altered line is the ACK of it.
        let own = try capture(b, concern: "Second child reported by school nurse.")
        let pendingDigest = try digest(b)
        let pendingListing = try listing(b)
        let pushing = try sync(b, proxy.url, ["--attempts", "2"])
        #expect(pushing.status == 3, "\(pushing.standardError)")
        #expect(pushing.standardError.contains("bad-signature"), "\(pushing.standardError)")
        #expect(try digest(b) == pendingDigest)
        #expect(try listing(b) == pendingListing)
        #expect(try ids(b) == [own], "nothing pulled")
        #expect(proxy.logText.contains("(ACK): a hex digit of the record id"), "\(proxy.logText)")

        // Nothing was marked acknowledged: B's direct sync pushes its referral again and pulls A's.
        let direct = try sync(b, central.url)
        #expect(direct.status == 0, "\(direct.standardError)")
        #expect(count(direct.json, "pushed") == 1, "\(direct.standardOutput)")
        #expect(count(direct.json, "pulled") == 1, "\(direct.standardOutput)")
        #expect(try sync(a, central.url).status == 0)
        #expect(Set(try ids(b)) == [caseOfA, own])
        #expect(try digest(a) == digest(b))
    }

    // MARK: - A reply that never ends

    @Test(.timeLimit(.minutes(5))) func aReplyThatNeverEndsIsCutAtWhatItMayHoldAndChangesNothing() throws {
        let world = World()
        let central = try world.startCentral()
        let proxy = try ServerProcess.faultProxy(
            upstream: central.port, arguments: ["--faults", "endless", "--rate", "1"],
            log: world.directory.appendingPathComponent("proxy.log"))
        defer { proxy.terminate() }
        let b = try laptop(world, "edt-laptop-b")
        let own = try capture(b)
        let digestBefore = try digest(b)
        let listingBefore = try listing(b)
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: b.store).sorted()

        let cut = try sync(b, proxy.url, ["--attempts", "1"])
        #expect(cut.status == 3, "\(cut.standardError)")
        #expect(cut.standardError.contains("ran past"), "\(cut.standardError)")
        #expect(try digest(b) == digestBefore)
        #expect(try listing(b) == listingBefore)
        #expect(try FileManager.default.contentsOfDirectory(atPath: b.store).sorted() == filesBefore)
        // The laptop stopped reading at what a reply to one record may hold (64 MiB, and 1 MiB
        // and 4 KiB for the record), give or take what the sockets held between them.
        let line = proxy.logText.split(separator: "\n").first { $0.contains("endless: the client stopped reading") }
        let sent = line.flatMap { $0.split(separator: " ").compactMap { Int($0) }.last }
        let limit = (64 << 20) + (1 << 20) + 4_096
        #expect(sent.map { $0 >= limit - (1 << 20) && $0 < limit + (16 << 20) } == true, "\(proxy.logText.suffix(500))")

        // Nothing was acknowledged: a direct sync pushes the referral.
        let direct = try sync(b, central.url)
        #expect(direct.status == 0, "\(direct.standardError)")
        #expect(count(direct.json, "pushed") == 1, "\(direct.standardOutput)")
        #expect(try ids(b) == [own])
    }

    // MARK: - A bundle altered or signed again

    @Test func aTamperedBundleIsRefusedAndTheUntamperedOneImports() throws {
        let world = World()
        let server = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        #expect(try sync(a, server.url).status == 0, "A's first sync brings the centre's certificate of its key")
        _ = try capture(a)
        let file = world.directory.appendingPathComponent("a.edtlp")
        let exported = try edt.run(["bundle", "export", "--store", a.store, "--out", file.path])
        #expect(exported.status == 0, "\(exported.standardError)")
        let original = Array(try Data(contentsOf: file))
        let other = Curve25519.Signing.PrivateKey()
        let keyOfA = Array(try #require(Data(base64Encoded: a.publicKey)))
        let keyOfB = Array(try #require(Data(base64Encoded: b.publicKey)))

        let before = try digest(b)
        let beforeListing = try listing(b)
        let altered = try alterFirstRecordValue(original)
        #expect(altered != original)
        let tampered: [(String, [UInt8])] = [
            // One letter of a JSON string changed, END's checksum recomputed; the SIG as it was.
            ("altered, checksum fixed", try fixingEndChecksum(altered)),
            // Altered and signed again by another key, the header still naming A and A's key.
            ("signed by another key, naming A's key", try resigned(altered, device: a.device, key: keyOfA, by: other)),
            // Signed by another key that it names as A's, under A's certificate (of A's own key).
            (
                "naming A with another key",
                try resigned(altered, device: a.device, key: other.publicKeyBytes, by: other)
            ),
            // Signed by another key that claims to be the importing laptop's own device.
            ("claiming to be B's own", try resigned(altered, device: b.device, key: other.publicKeyBytes, by: other)),
            ("claiming to be B's own, naming B's key", try resigned(altered, device: b.device, key: keyOfB, by: other)),
        ]
        for (name, bytes) in tampered {
            let path = world.directory.appendingPathComponent("tampered.edtlp")
            try Data(bytes).write(to: path)
            let imported = try edt.run(["bundle", "import", "--store", b.store, "--in", path.path, "--json"])
            #expect(imported.status == 1, "\(name): \(imported.standardError)")
            #expect(imported.standardError.contains("bad-signature"), "\(name): \(imported.standardError)")
            #expect(try digest(b) == before, "\(name)")
            #expect(try listing(b) == beforeListing, "\(name)")
        }

        // The control: the bundle as A wrote it imports.
        let imported = try edt.run(["bundle", "import", "--store", b.store, "--in", file.path, "--json"])
        #expect(imported.status == 0, "\(imported.standardError)")
        #expect(count(imported.json, "applied") == 1, "\(imported.standardOutput)")
        #expect(try ids(b) == ids(a))
        #expect(try digest(b) == digest(a))
    }

    /// The stream with one letter of the first `REC` line's first JSON string value (`"value":"`),
    /// or that of the field at `path`, in the other case: still valid UTF-8, JSON and EDTLP.
    func alterFirstRecordValue(_ bytes: [UInt8], path: String? = nil) throws -> [UInt8] {
        var bytes = bytes
        let lines = lineRanges(bytes)
        let record = try #require(lines.first { bytes[$0].starts(with: Array("REC ".utf8)) })
        func find(_ text: String, from start: Int) -> Int? {
            let marker = Array(text.utf8)
            return (start..<max(start, record.upperBound - marker.count)).first {
                bytes[$0..<($0 + marker.count)].elementsEqual(marker)
            }.map { $0 + marker.count }
        }
        var field = record.lowerBound
        if let path { field = try #require(find("\"path\":\"\(path)\"", from: record.lowerBound)) }
        var index = try #require(find("\"value\":\"", from: field))
        while index < record.upperBound, !isLetter(bytes[index]) { index += 1 }
        try #require(index < record.upperBound && bytes[index] != UInt8(ascii: "\""))
        bytes[index] ^= 0x20
        return bytes
    }

    /// The stream with `END`'s checksum recomputed over every byte before it (the `SIG` untouched).
    func fixingEndChecksum(_ bytes: [UInt8]) throws -> [UInt8] {
        var bytes = bytes
        let end = try #require(lineRanges(bytes).last { bytes[$0].starts(with: Array("END ".utf8)) })
        let hex = Array(xxh3(bytes[..<end.lowerBound]).utf8)
        bytes.replaceSubrange((end.upperBound - 16)..<end.upperBound, with: hex)
        return bytes
    }

    /// The bundle's `DELTA` and `REC` frames, as they are, in a new stream whose header names
    /// `device` and `key` and which `signer` signs.
    func resigned(
        _ bytes: [UInt8], device: String, key: [UInt8], by signer: Curve25519.Signing.PrivateKey
    ) throws -> [UInt8] {
        // The original's certificate is carried over: it vouches for the key named, not the signer.
        let first = try #require(lineRanges(bytes).first)
        let certificate = bytes[first].split(separator: UInt8(ascii: " ")).first {
            $0.starts(with: Array("cert=".utf8))
        }.map { String(decoding: $0.dropFirst(5), as: UTF8.self) }
        var parameters = [(Header.deviceParameter, device), (Header.keyParameter, Hex.encode(key))]
        if let certificate { parameters.append((Header.certificateParameter, certificate)) }
        let header = Header(kind: .bundle, parameters: parameters)
        let encoder = StreamEncoder(header: header, signer: StreamSigner(key: signer))
        for range in lineRanges(bytes) {
            let line = bytes[range]
            let tokens = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
            if line.starts(with: Array("DELTA ".utf8)) {
                let base = try #require(Notation.vector(Substring(decoding: tokens[2].dropFirst(5), as: UTF8.self)))
                let knowledge = try #require(
                    Notation.vector(Substring(decoding: tokens[3].dropFirst(10), as: UTF8.self)))
                encoder.append(.delta(base: base, knowledge: knowledge))
            } else if line.starts(with: Array("REC ".utf8)) {
                let id = try RecordID(String(decoding: tokens[2], as: UTF8.self))
                encoder.appendRecord(id: id, encodedPayload: Array(tokens[3]))
            }
        }
        return encoder.finish()
    }

    /// XXH3-64 (seed 0) in 16 lowercase hex digits, as an `END` line writes it.
    func xxh3(_ bytes: ArraySlice<UInt8>) -> String {
        let value = bytes.withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            ranges.append(start..<index)
            start = index + 1
        }
        return ranges
    }

    func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

extension Curve25519.Signing.PrivateKey {
    fileprivate var publicKeyBytes: [UInt8] { Array(publicKey.rawRepresentation) }
}

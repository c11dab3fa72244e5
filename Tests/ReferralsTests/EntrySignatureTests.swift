import Crypto
import Foundation
import LineProtocol
import Referrals
import Replication
import Testing

/// The entry signature format of `Docs/entry-signatures.md`, checked by an independent reading
/// of the spec: the signed bytes are built here by hand, not by the code under test.
@Suite("Entry signatures")
struct EntrySignatureTests {
    let key = Curve25519.Signing.PrivateKey()
    let record: RecordID
    let payload: [String: FieldValue] = [
        "text": .string("Place with foster carer tonight."), "by": .string("J. Okafor"),
        "role": .string("EDT social worker"),
        "at": .string("2027-03-27T03:00:00Z"), "device": .string("edt-laptop-a"),
    ]

    init() throws {
        record = try RecordID("c9d0683d-422a-4193-81b9-85fd7b0e3711")
    }

    func entry(_ payload: [String: FieldValue], kind: String = "decision") throws -> Entry {
        try Entry(dot: try Dot(try DeviceID("edt-laptop-a"), 7), kind: kind, payload: .object(payload))
    }

    func signed() throws -> [String: FieldValue] {
        try EntrySignature.sign(payload, kind: .decision, record: record) { Array(try key.signature(for: $0)) }
    }

    @Test func theSignedBytesAreAsTheSpecSays() throws {
        // "edt-entry-1" LF record LF kind LF canonical JSON (keys in byte order, no whitespace).
        let expected =
            "edt-entry-1\nc9d0683d-422a-4193-81b9-85fd7b0e3711\ndecision\n"
            + #"{"at":"2027-03-27T03:00:00Z","by":"J. Okafor","device":"edt-laptop-a","role":"EDT social worker","text":"Place with foster carer tonight."}"#
        #expect(EntrySignature.signedBytes(payload: payload, kind: "decision", record: record) == Array(expected.utf8))
        let withSignature = try signed()
        #expect(
            EntrySignature.signedBytes(payload: withSignature, kind: "decision", record: record)
                == Array(expected.utf8),
            "the signature member is left out of what is signed")
        guard case .string(let text)? = withSignature["signature"] else {
            Issue.record("no signature")
            return
        }
        #expect(text.hasPrefix("ed25519:"))
        let raw = try #require(Data(base64Encoded: String(text.dropFirst("ed25519:".count))))
        #expect(key.publicKey.isValidSignature(raw, for: Array(expected.utf8)))
    }

    @Test func aSignedEntryVerifiesAgainstItsDevicesKey() throws {
        let entry = try entry(try signed())
        #expect(EntrySignature.verify(entry, in: record, publicKey: Array(key.publicKey.rawRepresentation)) == .valid)
    }

    @Test func anAlteredMovedOrRekindedEntryOrAnotherKeyFails() throws {
        let publicKey = Array(key.publicKey.rawRepresentation)
        var altered = try signed()
        altered["text"] = .string("No further action.")
        #expect(isInvalid(EntrySignature.verify(try entry(altered), in: record, publicKey: publicKey)))
        let other = try RecordID("611f801f-5f8e-4a3b-84a3-449448814725")
        #expect(
            isInvalid(EntrySignature.verify(try entry(try signed()), in: other, publicKey: publicKey)),
            "moved to another case")
        #expect(
            isInvalid(EntrySignature.verify(try entry(try signed(), kind: "note"), in: record, publicKey: publicKey)),
            "read as another kind")
        let stranger = Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)
        #expect(isInvalid(EntrySignature.verify(try entry(try signed()), in: record, publicKey: stranger)))
        #expect(isInvalid(EntrySignature.verify(try entry(try signed()), in: record, publicKey: [1, 2, 3])))
        var garbled = try signed()
        garbled["signature"] = .string("ed25519:not base64!")
        #expect(isInvalid(EntrySignature.verify(try entry(garbled), in: record, publicKey: publicKey)))
        garbled["signature"] = .integer(7)
        #expect(isInvalid(EntrySignature.verify(try entry(garbled), in: record, publicKey: publicKey)))
    }

    @Test func unsignedAndEarlierFormatEntriesAreToldApart() throws {
        let publicKey = Array(key.publicKey.rawRepresentation)
        #expect(EntrySignature.verify(try entry(payload), in: record, publicKey: publicKey) == .unsigned)
        #expect(
            EntrySignature.verify(
                try Entry(
                    dot: try Dot(try DeviceID("edt-laptop-a"), 1), kind: "note", payload: .string("called police")),
                in: record, publicKey: publicKey) == .unsigned)
        // edt 0.1 signed the payload's canonical JSON alone.
        var canonical: [UInt8] = []
        JSONPayload.write(.object(payload), to: &canonical)
        var legacy = payload
        legacy["signature"] = .string("ed25519:" + Data(try key.signature(for: canonical)).base64EncodedString())
        #expect(EntrySignature.verify(try entry(legacy), in: record, publicKey: publicKey) == .validPayloadOnly)
    }

    func isInvalid(_ verification: EntrySignature.Verification) -> Bool {
        if case .invalid = verification { true } else { false }
    }
}

@Suite("Instants")
struct InstantTests {
    @Test(arguments: [
        ("2027-03-27T02:10:00Z", "2027-03-27T02:10:00Z"),  // GMT
        ("2027-03-28T01:00:00Z", "2027-03-28T02:00:00+01:00"),  // the first instant of BST 2027
        ("2027-03-28T00:59:59Z", "2027-03-28T00:59:59Z"),
        ("2027-10-31T00:59:59Z", "2027-10-31T01:59:59+01:00"),  // the last second of BST 2027
        ("2027-10-31T01:00:00Z", "2027-10-31T01:00:00Z"),
        ("2027-06-12T23:40:00-01:00", "2027-06-13T01:40:00+01:00"),
        ("2027-06-13T00:05+02:00", "2027-06-12T23:05:00+01:00"),  // seconds may be left out
        ("2028-02-29T12:00:00.250Z", "2028-02-29T12:00:00.250Z"),  // a fraction is kept as written
        ("1999-12-31T23:59:59+14:00", "1999-12-31T09:59:59Z"),
    ])
    func readAndShownInLondonsOffset(written: String, shown: String) throws {
        let instant = try #require(Instant(iso8601: written))
        #expect(instant.london == shown)
        #expect(Instant(iso8601: shown) == instant, "what is shown reads back as the same instant")
    }

    @Test(arguments: [
        "2027-03-27T02:10:00", "2027-02-29T00:00:00Z", "2027-03-27T24:00:00Z", "2027-03-27T02:60:00Z",
        "2027-03-27 02:10:00Z",
        "2027-03-27T02:10:00+15:00", "2027-03-27T02:10:00+0100", "1899-12-31T23:00:00Z", "2027-03-27T02:10:00.Z",
        "2027-03-27T02:10:00.1234567890Z", "2027-03-27T02:10:00Zx", "", "2027-3-27T02:10:00Z",
    ])
    func malformedInstantsAreRefused(text: String) {
        #expect(Instant(iso8601: text) == nil)
        #expect(!Identifiers.isInstant(text))
    }

    @Test func instantsAreEqualWhenTheyAreTheSameInstant() throws {
        let half = try #require(Instant(iso8601: "2027-06-12T23:41:00.5Z"))
        let sameHalf = try #require(Instant(iso8601: "2027-06-13T00:41:00.500+01:00"))
        #expect(half == sameHalf && !(half < sameHalf) && !(sameHalf < half))
        #expect(Set([half, sameHalf]).count == 1)
        #expect(half != (try #require(Instant(iso8601: "2027-06-12T23:41:00.05Z"))))
    }

    @Test func instantsOrderByTimeNotByText() throws {
        let earlier = try #require(Instant(iso8601: "2027-06-13T00:40:00+01:00"))
        let later = try #require(Instant(iso8601: "2027-06-12T23:41:00Z"))
        #expect(earlier < later)
        #expect(try #require(Instant(iso8601: "2027-06-12T23:41:00.5Z")) > later)
    }
}

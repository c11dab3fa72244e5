import Crypto
import Foundation
import LineProtocol
import Replication
import Testing

/// The keys of the peers tests in hex (at file level, for the tests' arguments).
private let hexA = String(repeating: "a1", count: 32)
private let hexB = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/// A reply's `peers=` header parameter: the peer centres its centre vouches for, written and
/// read back, and every malformed spelling refused.
@Suite("Header: peers")
struct HeaderPeersTests {
    static let keyA = [UInt8](repeating: 0xA1, count: 32)
    static let keyB = Array(UInt8(0)..<UInt8(32))

    @Test func theValueIsSortedByDeviceWithLowercaseHexKeys() {
        let value = Header.peersValue([(device: "central.zz9", key: Self.keyA), (device: "central.h1", key: Self.keyB)])
        #expect(value == "central.h1:\(hexB),central.zz9:\(hexA)")
        #expect(Header.peersValue([]) == "")
    }

    @Test func aWrittenValueParsesBackToTheSamePeers() throws {
        let peers = [(device: "central.h1", key: Self.keyB), (device: "central.zz9", key: Self.keyA)]
        let parsed = try #require(Header.parsePeers(Header.peersValue(peers)))
        #expect(parsed.map(\.device) == ["central.h1", "central.zz9"])
        #expect(parsed.map(\.key) == [Self.keyB, Self.keyA])
        let one = try #require(Header.parsePeers("central.a-b_c.d:\(hexA)"))
        #expect(one.count == 1 && one.first?.device == "central.a-b_c.d" && one.first?.key == Self.keyA)
    }

    @Test func aDeviceNamedTwiceWithTheSameKeyIsListedOnce() throws {
        let parsed = try #require(Header.parsePeers("central.h1:\(hexA),central.h1:\(hexA)"))
        #expect(parsed.map(\.device) == ["central.h1"])
    }

    @Test(
        arguments: [
            "",  // no pair at all
            "central.h1",  // a pair without ':'
            "central.h1\(hexA)",  // a pair without ':'
            "central.h1:\(hexA),",  // an empty pair after a comma
            ",central.h1:\(hexA)",  // an empty pair before
            "central.h1:\(hexA),central.h2",  // the second pair without ':'
            "edt-laptop-a:\(hexA)",  // a device that is not a centre's
            "Central.h1:\(hexA)",  // the prefix is lowercase
            "centralh1:\(hexA)",  // no dot after `central`
            "central.:\(hexA)",  // no identity after the prefix
            ":\(hexA)",  // no device
            "central.h/1:\(hexA)",  // a device id with a character a device id cannot hold
            "central.h1:",  // no key
            "central.h1:\(String(hexA.dropLast(2)))",  // 31 bytes
            "central.h1:\(hexA)00",  // 33 bytes
            "central.h1:\(hexA.uppercased())",  // uppercase hex
            "central.h1:\(String(hexA.dropLast()))g",  // not hex
            "central.h1:\(String(hexA.dropLast()))",  // an odd number of digits
            "central.h1:\(hexA):\(hexA)",  // a second ':' in the key
            "central.h1:\(hexA),central.h1:\(hexB)",  // one device, two keys
        ])
    func aMalformedValueIsRefused(_ value: String) {
        #expect(Header.parsePeers(value) == nil, "\(value)")
    }

    @Test func theParameterTravelsInASignedReplyHeader() throws {
        let key = Curve25519.Signing.PrivateKey()
        let value = Header.peersValue([(device: "central.h1", key: Self.keyA), (device: "central.h2", key: Self.keyB)])
        let bytes = StreamEncoder.encode(
            header: Header(
                kind: .reply,
                parameters: [(Header.deviceParameter, "central"), (Header.peersParameter, value)]),
            messages: [.delta(base: VersionVector(), knowledge: VersionVector())], signer: StreamSigner(key: key))
        let stream = try DecodedStream(bytes, verifier: .key(key.publicKey))
        #expect(Header.peersParameter == "peers")
        #expect(stream.header[Header.peersParameter] == value)
        let peers = try #require(stream.header[Header.peersParameter].flatMap(Header.parsePeers))
        #expect(peers.map(\.device) == ["central.h1", "central.h2"])
        // The header is signed with the stream: another key does not verify it.
        #expect(throws: LineProtocolError.self) {
            try DecodedStream(bytes, verifier: .key(Curve25519.Signing.PrivateKey().publicKey))
        }
    }

    @Test func theLookupGivesAPeersVouchedKeyElseTheCentresForCentreDevicesOnly() throws {
        let centre = [UInt8](repeating: 7, count: 32)
        let peer = try DeviceID("central.h1")
        let lookup = SyncContract.centreKeyLookup(centreKey: centre, peerCentres: [peer: Self.keyA])
        #expect(lookup(peer) == Self.keyA)
        #expect(lookup(try DeviceID("central.own")) == centre)
        #expect(lookup(try DeviceID("edt-laptop-a")) == nil)
        #expect(lookup(try DeviceID("central")) == nil, "the reply's own device name is not an entry device")
        let unknownCentre = SyncContract.centreKeyLookup(centreKey: nil, peerCentres: [peer: Self.keyA])
        #expect(unknownCentre(peer) == Self.keyA)
        #expect(unknownCentre(try DeviceID("central.own")) == nil)
    }
}

import LineProtocol
import Replication

/// Relaying: a device forwards a colleague's bundle, as the colleague signed it, so that writes
/// carried by hand reach the centre with their author's proof (`Protocol/PROTOCOL.md` §4.6).
extension SyncService {
    /// Stores the records of `bundle`, a bundle stream that `forwarder` relays, and returns the
    /// reply stream (an `ACK` or `NAK` per record, in bundle order) for request `counter`.
    ///
    /// The bundle stands as its author's push: its header must name an enrolled, unrevoked
    /// device, every signature must verify against that device's enrolled key, and each record
    /// is checked as if that device had pushed it (its claims about other devices' writes, its
    /// fields, the authorities it serves). The forwarder proves nothing of it; it only carries it.
    /// A bundle that fails any of this is refused whole (`refused`: 400), and nothing of it stored.
    public func relay(
        _ bundle: [UInt8], from forwarder: EnrolledDevice, counter: UInt64
    ) async throws(CentralError) -> [UInt8] {
        try await relayAnswering(bundle, from: forwarder, counter: counter).reply
    }

    /// ``relay(_:from:counter:)``, with what became of each of the bundle's records (in bundle
    /// order), for the centre's figures.
    func relayAnswering(
        _ bundle: [UInt8], from forwarder: EnrolledDevice, counter: UInt64
    ) async throws(CentralError) -> (reply: [UInt8], outcomes: [StoredOutcome]) {
        guard bundle.count <= configuration.maximumRequestBytes else {
            throw CentralError(
                .tooLarge, "the bundle is over \(configuration.maximumRequestBytes) bytes; it cannot be relayed")
        }
        guard let named = Header.leading(bundle[...])?.device, let id = try? DeviceID(named) else {
            throw CentralError(.refused, "line 1: the relayed stream is not a bundle naming its device (device=)")
        }
        guard let author = try await storage.device(id), !author.revoked,
            let key = StreamVerifier.rawKey(author.publicKey)
        else {
            throw CentralError(
                .refused,
                "the bundle's device \(named) is not an enrolled device of this centre (or it was revoked): its writes cannot be proven, so nothing of it was stored"
            )
        }
        let stream: DecodedStream
        do {
            stream = try DecodedStream(bundle, verifier: key)
        } catch {
            throw CentralError(
                .refused, "\(error) (the bundle must be exactly as \(named) signed it); nothing of it was stored")
        }
        guard stream.header.kind == .bundle, stream.header.device == named else {
            throw CentralError(.refused, "line 1: the relayed stream is not a bundle of \(named)")
        }
        let parts = stream.deltas.flatMap(\.records)
        let prepared = prepare(parts)
        let outcomes = try await store(prepared, from: author)
        let reply = try await reply(
            pushedVersions: prepared.map(\.part.version), outcomes: outcomes, pull: nil, to: forwarder,
            counter: counter)
        return (reply, outcomes)
    }
}

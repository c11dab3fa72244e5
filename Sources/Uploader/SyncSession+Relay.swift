import Foundation
import LineProtocol
import Replication

/// Relaying colleagues' bundles (`Protocol/PROTOCOL.md` §4.6): before it pushes, a sync forwards
/// every bundle this laptop imported from another device, as that device signed it, so the
/// centre gets those writes with their author's proof; then this laptop's own records, which
/// hold them too, are accepted.
extension SyncSession {
    /// Forwards each kept bundle once. A bundle the centre took, or refused for what it is (400:
    /// a device it does not know, a bad signature; 413: too large), is forgotten, its refusals noted in
    /// `summary`; one the network or the centre failed on stays kept for the next sync (the push
    /// that follows may then be refused `unproven-write` for the writes it carried, and is sent
    /// again later: nothing is lost).
    func relayBundles(into summary: inout Summary) throws(SyncError) {
        let bundles: [(name: String, bytes: [UInt8])]
        do {
            bundles = try store.bundlesToRelay()
        } catch {
            throw SyncError(.store, "\(error)")
        }
        for bundle in bundles {
            summary.attempts += 1
            let outcome: Result<[Rejection], StateMachine.Failure>
            do throws(StateMachine.Failure) {
                outcome = .success(try relay(bundle.bytes))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let refusals):
                summary.relayed += 1
                summary.requests += 1
                summary.rejections += refusals
            case .failure(.permanent(let reason)) where reason.hasPrefix(Self.refusedBundle):
                summary.relayRefusals.append(String(reason.dropFirst(Self.refusedBundle.count)))
            case .failure(.tooLarge(let reason)):
                summary.relayRefusals.append("the bundle is too large to relay: \(reason)")
            case .failure(.local(let reason)):
                throw SyncError(.store, reason)
            case .failure(.permanent(let reason)):
                throw SyncError(.refused, reason)
            case .failure:
                continue  // kept: sent again at the next sync
            }
            do {
                try store.forgetRelay(bundle.name)
            } catch {
                throw SyncError(.store, "\(error)")
            }
        }
    }

    private static let refusedBundle = "relay refused: "

    /// Sends one bundle to the relay resource; the centre's refusals of its records.
    private func relay(_ bundle: [UInt8]) throws(StateMachine.Failure) -> [Rejection] {
        let signed = try signedRequest(path: SyncContract.relayPath)
        let reply = ReplyReader(
            centreKey: signed.verifier, centre: signed.centre, counter: signed.counter,
            stagingDirectory: options.stagingDirectory ?? FileManager.default.temporaryDirectory,
            maximumBytes: ReplyReader.maximumReplyBytes(pushed: 0)
                + SyncContract.relayReplyBytesPerBundleByte * bundle.count)
        var transfer = options.transfer
        transfer.headers += [
            "Authorization: \(signed.authorization.headerValue)", "Content-Type: \(SyncContract.mediaType)", "Expect:",
            "\(SyncContract.requestIDHeader): \(nextRequestID())",
        ]
        var sent = false
        do {
            _ = try CurlTransfer.perform(
                method: "POST", url: options.relayURL, options: transfer,
                body: {
                    defer { sent = true }
                    return sent ? nil : bundle
                }, bodyLength: Int64(bundle.count), onHead: reply.head, sink: reply.consume)
        } catch {
            if error.code == .aborted, let failure = reply.stagingFailure { throw .local(failure) }
            if error.code == .aborted, let damage = reply.damage {
                throw .transient("the reply was damaged in transit (\(damage))", retryAfter: nil)
            }
            throw .transient("the network failed: \(error.message)", retryAfter: nil)
        }
        if reply.status == 400 {
            throw .permanent(Self.refusedBundle + reply.reason)
        }
        let stream = try reply.verified(url: options.relayURL)
        _ = try trustPeerCentres(stream.peerCentres, centreKey: signed.centreKey)
        return stream.answers.compactMap { answer in
            guard case .refused(let id, let reason, let message) = answer else { return nil }
            return Rejection(record: id, reason: reason.code, message: "relayed: " + message)
        }
    }
}

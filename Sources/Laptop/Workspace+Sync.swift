import Referrals
import ReplicaStore
import Replication
public import Uploader

/// The store is what a sync needs: ``SyncStore``'s requirements are the store's own methods.
/// (Declared here, where both modules meet: the uploader knows no store, the store no uploader.)
extension ReplicaStore: SyncStore {}

/// Syncing with the central endpoint.
extension Workspace {
    /// Pushes what the centre lacks and pulls what changed for this device's authorities
    /// (``SyncSession``), on a thread of its own, staging replies in the store's directory unless
    /// `options` names another. Refusals by the centre stay here, flagged.
    ///
    /// A reply bringing an entry in a centre's name (a `central.` dot: a day team's acceptance, a
    /// home authority's act) that does not verify with the key this laptop trusts for that
    /// centre (``centreKeys()``: the key its centre vouches for a peer centre, this reply's
    /// vouching included, else its centre's own) is refused whole, and nothing of it is applied.
    /// Once every reply is applied, the cases the centre holds and their day team accepted are
    /// dropped from this laptop (``purgeAccepted()``), and those no authority it serves sees any
    /// longer (``purgeUnserved()``: forwarded anew to another home authority);
    /// ``SyncSession/Summary/purged`` counts both.
    /// - Parameter progress: told where the sync is (on the sync's thread).
    public func sync(
        _ options: SyncSession.Options, progress: (@Sendable (SyncSession.Progress) -> Void)? = nil
    ) async throws(LaptopError) -> SyncSession.Summary {
        var options = options
        // Replies are staged beside the store's own files (owner-only, removed once read).
        if options.stagingDirectory == nil { options.stagingDirectory = store.directory }
        options.checkPulled = Self.centreEntriesProblem
        let session = SyncSession(store: store, options: options, progress: progress)
        var summary: SyncSession.Summary
        do {
            summary = try await session.run()
        } catch {
            switch error.code {
            case .refused: throw .refused(error.message)
            case .network, .store: throw .inputOutput(error.message)
            }
        }
        // The sync has happened: a purge that fails does not undo it, and is reported beside it.
        do throws(LaptopError) {
            summary.purged =
                try purgeAccepted().count + purgeUnserved().count
                + storeValue { () throws(StoreError) in try store.purgeGone(summary.gone) }.count
        } catch {
            summary.purgeProblem = error.message
        }
        return summary
    }

    /// Why a reply pulling `records` is refused: an entry in a centre's name (at a
    /// `central.<identity>` dot) that is not signed with the key `centreKey` gives for that
    /// centre (``centreKeys()``: a peer centre's vouched key, else this laptop's centre's);
    /// nil when there is none.
    @Sendable static func centreEntriesProblem(
        in records: [Record], centreKey: @Sendable (DeviceID) -> [UInt8]?
    ) -> String? {
        for record in records {
            if let problem = HandoverAcceptance.centreEntriesProblem(in: record, centreKey: centreKey) {
                return "case \(record.id): \(problem)"
            }
        }
        return nil
    }
}

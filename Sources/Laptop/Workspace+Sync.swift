import ReplicaStore
public import Uploader

/// The store is what a sync needs: ``SyncStore``'s requirements are the store's own methods.
/// (Declared here, where both modules meet: the uploader knows no store, the store no uploader.)
extension ReplicaStore: SyncStore {}

/// Syncing with the central endpoint.
extension Workspace {
    /// Pushes what the centre lacks and pulls what changed for this device's authorities
    /// (``SyncSession``), on a thread of its own, staging replies in the store's directory unless
    /// `options` names another. Refusals by the centre stay here, flagged.
    /// - Parameter progress: told where the sync is (on the sync's thread).
    public func sync(
        _ options: SyncSession.Options, progress: (@Sendable (SyncSession.Progress) -> Void)? = nil
    ) async throws(LaptopError) -> SyncSession.Summary {
        var options = options
        // Replies are staged beside the store's own files (owner-only, removed once read).
        if options.stagingDirectory == nil { options.stagingDirectory = store.directory }
        let session = SyncSession(store: store, options: options, progress: progress)
        do {
            return try await session.run()
        } catch {
            switch error.code {
            case .refused: throw .refused(error.message)
            case .network, .store: throw .inputOutput(error.message)
            }
        }
    }
}

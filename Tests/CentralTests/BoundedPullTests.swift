import Central
import Crypto
import LineProtocol
import Replication
import Testing

/// A pull's page is bounded by bytes as well as cases, and its reply is streamed from storage a
/// few cases at a time (issue 18: large cases once made every reply a page held whole); a part
/// the centre already holds, byte for byte, costs no decoding of the stored case.
@Suite("Bounded, streamed pulls")
struct BoundedPullTests {
    let central = CentralTests()

    /// A case whose concern holds `bytes` bytes of text (at most 100,000: a long text's limit).
    func large(_ id: String, bytes: Int, device: String = "edt-laptop-b") throws -> Record {
        try central.referral(id, concern: String(repeating: "x", count: bytes), device: device)
    }

    /// The ids pulled by a reply, its cursor and whether it says `+MORE`, checking its signature.

    @Test(arguments: StorageBackend.available) func aPageStopsAtItsByteBudgetYetAlwaysCarriesOneCase(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let other = try central.device("edt-laptop-b")
            var configuration = SyncService.Configuration()
            configuration.pullPageBytes = 85_000
            let service = SyncService(storage: storage, configuration: configuration)
            // 40 KB, 40 KB, 90 KB (over the budget on its own), 5 KB, 5 KB.
            let sizes = [40_000, 40_000, 90_000, 5_000, 5_000]
            let parts = try sizes.enumerated().map { try large("case-\($0.offset)", bytes: $0.element) }
            _ = try await service.store(parts, from: other)
            let laptop = try central.device()
            var cursor = Cursor("-")
            var pages: [[String]] = []
            while true {
                let page = try central.pulled(
                    try await service.reply(pushed: [], outcomes: [], pull: cursor, to: laptop, counter: 1),
                    by: storage)
                pages.append(page.ids)
                cursor = page.knowledge
                if !page.more { break }
                #expect(pages.count < 10, "the pull must move on")
            }
            #expect(pages == [["case-0", "case-1"], ["case-2"], ["case-3", "case-4"]])
        }
    }

    @Test(arguments: StorageBackend.available) func aReplyIsWrittenInPiecesThatTogetherAreOneSignedStream(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try central.device()
            let other = try central.device("edt-laptop-b")
            let parts = try (0..<6).map { try large("case-\($0)", bytes: 90_000) }
            _ = try await service.store(parts, from: other)
            let reply = try await service.prepareReply(
                pushedVersions: [], outcomes: [], pull: Cursor("-"), to: laptop, counter: 1)
            #expect(reply.pulledCases == 6)
            var pieces: [[UInt8]] = []
            try await reply.write { pieces.append($0) }
            #expect(pieces.count >= 6, "about a case per piece: \(pieces.map(\.count))")
            #expect(pieces.allSatisfy { $0.count < 200_000 }, "no piece holds the page: \(pieces.map(\.count))")
            let whole = pieces.flatMap { $0 }
            #expect(try central.pulled(whole, by: storage).ids == parts.map(\.id.rawValue))
            #expect(whole == (try await reply.bytes()), "the same stream either way")
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseChangedAfterThePageWasListedIsLeftForTheNextPull(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try central.device()
            let other = try central.device("edt-laptop-b")
            _ = try await service.store(
                [
                    try central.referral("case-1", device: "edt-laptop-b"),
                    try central.referral("case-2", device: "edt-laptop-b"),
                ],
                from: other)
            let reply = try await service.prepareReply(
                pushedVersions: [], outcomes: [], pull: Cursor("-"), to: laptop, counter: 1)
            // case-1 changes between the listing and the reading.
            _ = try await service.store(
                [try central.referral("case-1", concern: "Changed since", device: "edt-laptop-c")],
                from: try central.device("edt-laptop-c"))
            let first = try central.pulled(try await reply.bytes(), by: storage)
            #expect(first.ids == ["case-2"], "the change listed is no longer the case's last: it is not sent")
            #expect(first.knowledge?.text == "central.\(storage.identity):2")
            let next = try central.pulled(
                try await service.reply(pushed: [], outcomes: [], pull: first.knowledge, to: laptop, counter: 2),
                by: storage)
            #expect(next.ids == ["case-1"], "its new change comes after the cursor")
        }
    }

    @Test(arguments: StorageBackend.available) func aPartIdenticalToTheStoredCaseIsAcknowledgedAndNothingIsWritten(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try central.device()
            let part = try large("case-1", bytes: 50_000, device: "edt-laptop-a")
            let first = try await service.store([part], from: laptop)
            #expect(first == [.stored(part.id, sequence: 1, version: part.version)])
            let again = try await service.store([part], from: laptop)
            #expect(again == first, "acknowledged at the same change: nothing was written")
            #expect(try await storage.newestSequence() == 1)
            // The check still runs: a device that does not serve the case's authority is refused
            // even when what it sends is exactly what the centre holds.
            let stranger = try central.device("edt-laptop-w", authorities: [CentralTests.westminster])
            let refused = try await service.store([part], from: stranger)
            #expect(refused.map(\.rejectionCode) == ["forbidden"])
            // A part that differs by one write is merged as ever.
            let changed = try large("case-1", bytes: 50_001, device: "edt-laptop-b")
            let merged = try await service.store([changed], from: try central.device("edt-laptop-b"))
            #expect(merged.map(\.sequence) == [2])
        }
    }
}

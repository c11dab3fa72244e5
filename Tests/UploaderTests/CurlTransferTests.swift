import Foundation
import TestSupport
import Testing
import Uploader

/// libcurl through CCurl, with streamed bodies both ways. file:// URLs exercise the read and
/// write callbacks without a network; HTTP against the real server comes with the central endpoint.
@Suite("libcurl transfers")
struct CurlTransferTests {
    @Test func aBodyStreamsUpAndTheResponseStreamsDownInSmallPieces() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("upload.bin")
        var random = SeededGenerator(seed: 11)
        let payload = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &random) }

        // Upload in 7-byte chunks (and some empty ones): curl pulls through the read callback.
        var offset = 0
        var chunksServed = 0
        let upload = try CurlTransfer.perform(
            method: "PUT", url: file.absoluteString,
            body: {
                guard offset < payload.count else { return nil }
                chunksServed += 1
                if chunksServed % 50 == 0 { return [] }
                let end = min(payload.count, offset + 7)
                defer { offset = end }
                return Array(payload[offset..<end])
            }, sink: { _ in true })
        #expect(upload.bytesSent == Int64(payload.count))
        #expect(try Data(contentsOf: file) == Data(payload))

        // Download: the write callback hands over pieces as they come.
        var received: [UInt8] = []
        var pieces = 0
        let download = try CurlTransfer.perform(
            method: "GET", url: file.absoluteString,
            sink: { piece in
                received += piece
                pieces += 1
                return true
            })
        #expect(received == payload)
        #expect(download.bytesReceived == Int64(payload.count))
        #expect(pieces >= 1)
    }

    @Test func aSinkCanStopATransfer() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("big.bin")
        try Data(count: 1 << 20).write(to: file)
        let error = #expect(throws: TransferError.self) {
            try CurlTransfer.perform(method: "GET", url: file.absoluteString, sink: { _ in false })
        }
        #expect(error?.code == .aborted)
        #expect(error?.isRetryable == false)
    }

    @Test func failuresHaveStableCodes() {
        do {
            _ = try CurlTransfer.perform(method: "GET", url: "file:///nonexistent/edt/nothing", sink: { _ in true })
            Issue.record("reading a missing file must fail")
        } catch {
            #expect(error.code == .file)
        }
        do {
            _ = try CurlTransfer.perform(method: "GET", url: "nosuchscheme://x", sink: { _ in true })
            Issue.record("an unknown scheme must fail")
        } catch {
            #expect(error.code == .setup)
        }
        do {
            // Port 9 on loopback (discard) has nothing listening here: refused at once.
            var options = TransferOptions()
            options.connectTimeoutSeconds = 2
            _ = try CurlTransfer.perform(
                method: "GET", url: "http://127.0.0.1:9/", options: options, sink: { _ in true })
            Issue.record("nothing listens on 127.0.0.1:9")
        } catch {
            #expect(error.code == .couldNotConnect)
            #expect(error.isRetryable)
        }
    }
}

import Central
import Foundation
import Referrals
import ReplicaStore
import Replication

#if canImport(Glibc)
import Glibc
#endif

/// What the sync benchmarks share: laptop stores of valid referrals, the central endpoint run
/// as `edt central serve` in a subprocess, and a loopback HTTP sink for the curl baseline.
enum SyncFixture {
    /// The authority the laptops serve and their referrals are hosted in.
    static let authority = "E06000038"
    static let passphrase = "benchmark passphrase"

    /// A valid referral document of about 2 KB; `number` varies its texts.
    static func referral(_ number: Int, host: String = authority) -> FieldValue {
        let text = { (seed: Int, length: Int) in
            FieldValue.string(ReferralCorpus.text(seed: number &* 7 &+ seed, length: length))
        }
        return .object([
            "receivedAt": .string("2027-03-27T02:10:00Z"),
            "receivedBy": .object(["name": .string("Sam Patel"), "role": .string("EDT social worker")]),
            "hostAuthority": .string(host), "homeAuthority": .string("E09000033"),
            "channel": .string("phone"), "verbal": .bool(true), "immediateProtection": .bool(false),
            "concern": text(1, 1_500),
            "children": .array([
                .object([
                    "name": .string("Child \(number)"), "dateOfBirth": .string("2019-05-01"), "location": text(2, 80),
                ])
            ]),
            "referrer": .object([
                "name": .string("PC Daniel Okonkwo"), "role": .string("Police constable"),
                "agency": .string("Thames Valley Police"),
                "phone": .string("07700 900123"), "professional": .bool(true),
            ]),
            "family": .object(["address": text(3, 80)]),
        ])
    }

    /// A new store in `directory` holding `records` referrals, each validated and written as
    /// `edt referral import` does, committed in batches.
    static func laptop(
        at directory: URL, device: String, records: Int, progress: Progress, label: String,
        serving served: String = authority
    ) throws -> ReplicaStore {
        progress.say("\(label): creating the store…")
        let store = try ReplicaStore.create(
            at: directory, device: try DeviceID(device), authorities: [served], passphrase: passphrase)
        let batch = 2_000
        var written = 0
        while written < records {
            let end = min(records, written + batch)
            progress.say("\(label): writing referrals \(written)/\(records)…")
            try store.commit { replica in
                for number in written..<end {
                    var item = 0
                    let capture = try ReferralCapture.validate(referral(number, host: served)) { prefix in
                        item += 1
                        return prefix + String(item)
                    }
                    replica.write(capture.writes, in: try RecordID(UUID().uuidString.lowercased()))
                }
            }
            written = end
        }
        return store
    }
}

/// A failure of a benchmark's setup or check, said plainly.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `edt central serve` on a loopback port, in a subprocess, with its own SQLite database. Stopped
/// with SIGTERM by ``stop()`` (call it in a `defer`).
final class CentralProcess {
    let url: String
    private let process: Process
    let log: URL

    /// Enrols `stores` in a new database at `database`, then starts the endpoint and waits for
    /// its `listening on` line.
    init(database: URL, enrolling stores: [ReplicaStore]) async throws {
        do {
            let storage = try SQLiteCentralStorage(path: database.path)
            for store in stores {
                let device = EnrolledDevice(
                    id: store.device, publicKey: store.publicKey, authorities: Set(store.authorities))
                try await storage.enroll(device)
                // The laptop trusts this centre's replies (EDTLP 2: they are signed by its key).
                try store.setCentreKey(storage.publicKey)
            }
        }
        let executable = try Self.edtExecutable()
        log = database.deletingPathExtension().appendingPathExtension("log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw BenchFailure("cannot create \(log.path)")
        }
        let output = Pipe()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["central", "serve", "--db", database.path, "--listen", "127.0.0.1:0"]
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        do {
            url = try Self.readAddress(from: output.fileHandleForReading.fileDescriptor, log: log)
        } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
        self.process = process
    }

    deinit { stop() }

    /// CPU seconds the endpoint has used so far (nil once it has exited).
    var cpuSeconds: Double? { process.isRunning ? Measure.cpuSeconds(ofProcess: process.processIdentifier) : nil }

    /// Sends SIGTERM (once) and waits for the endpoint to exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// The `edt` executable built beside this one.
    static func edtExecutable() throws -> URL {
        let here = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments.first ?? "edt-bench")
        let edt = here.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("edt")
        guard FileManager.default.isExecutableFile(atPath: edt.path) else {
            throw BenchFailure(
                """
                no edt executable at \(edt.path): build it into the same folder as edt-bench \
                (swift build -c release --static-swift-stdlib --product edt with the same --scratch-path)
                """)
        }
        return edt
    }

    /// Reads the endpoint's stdout until `listening on URL`, for up to 60 seconds.
    private static func readAddress(from descriptor: Int32, log: URL) throws -> String {
        let prefix = "listening on "
        var buffer: [UInt8] = []
        let deadline = Date().addingTimeInterval(60)
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while Date() < deadline {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
                continue
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 1_000)
            guard ready >= 0 || errno == EINTR else { break }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }  // the endpoint closed its stdout: it exited
            buffer.append(contentsOf: chunk[..<count])
        }
        let errors = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw BenchFailure("edt central serve did not say where it listens; its stderr:\n\(errors.suffix(2_000))")
    }
}

/// A minimal HTTP/1.1 sink on a loopback port: reads each request's headers and its
/// Content-Length bytes, discards them, and answers 200 with an empty body.
final class SinkServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let finished = DispatchSemaphore(value: 0)
    /// Body bytes received by the last request; written by the server thread before it answers.
    private let lock = NSLock()
    private var lastBody = 0

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchFailure("sink: socket() failed: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw BenchFailure("sink: cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        guard named == 0 else {
            close(listener)
            throw BenchFailure("sink: getsockname failed")
        }
        port = UInt16(bigEndian: address.sin_port)
        self.listener = listener
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// The body length of the last request served.
    var lastBodyBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return lastBody
    }

    /// Stops accepting and waits for the server thread.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        finished.wait()
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var head: [UInt8] = []
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var bodyStart: Int?
        while bodyStart == nil {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            head.append(contentsOf: buffer[..<count])
            if head.count >= 4 {
                for index in max(0, head.count - count - 3)...(head.count - 4)
                where Array(head[index..<index + 4]) == separator {
                    bodyStart = index + 4
                    break
                }
            }
        }
        guard let bodyStart else { return }
        let headers = String(decoding: head[..<bodyStart], as: UTF8.self).lowercased()
        var expected = 0
        for line in headers.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            expected = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        var received = head.count - bodyStart
        while received < expected {
            let count = buffer.withUnsafeMutableBytes {
                recv(connection, $0.baseAddress, min($0.count, expected - received), 0)
            }
            guard count > 0 else { break }
            received += count
        }
        lock.lock()
        lastBody = received
        lock.unlock()
        var reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        reply.withUTF8 { _ = send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

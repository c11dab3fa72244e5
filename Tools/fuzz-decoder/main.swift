// edt-fuzz-decoder: the libFuzzer target for the EDTLP decoder.
//
// Built by Tools/fuzz with -sanitize=fuzzer,address and -DEDT_FUZZING, it runs libFuzzer. Built
// normally, it replays the files named on its command line through the same checks, so a crash
// libFuzzer found can be reproduced in an ordinary debug build.
import CFuzzerDriver
import Crypto
import Foundation
import LineProtocol
import Replication

#if canImport(Glibc)
import Glibc
#endif

/// The key the fuzzed streams are signed with: the protocol's test key (seed bytes 0 to 31), the
/// one the golden vectors (the corpus's seeds) are signed with.
let testKey = (try? Curve25519.Signing.PrivateKey(rawRepresentation: Data(0..<32))) ?? Curve25519.Signing.PrivateKey()
let verifier = StreamVerifier.key(testKey.publicKey)

/// Decodes `bytes` in chunks whose size comes from the first byte; when the stream is valid,
/// re-encodes what was read and checks that it decodes to the same messages. Also reads the
/// records unread-first, as the central endpoint does (see ``checkUnreadRecords``).
func check(_ bytes: [UInt8]) {
    let chunkSize = Int(bytes.first ?? 1) % 64 + 1
    let limits = Limits(maximumLineBytes: 4096, maximumJSONDepth: 16)
    let stream = try? DecodedStream(bytes, verifier: verifier, chunkSize: chunkSize, limits: limits)
    checkUnreadRecords(
        bytes, chunkSize: chunkSize, limits: limits,
        expected: stream.map { stream in
            stream.messages.compactMap { message in
                if case .record(let record) = message { record } else { nil }
            }
        })
    guard let stream else { return }
    let reencoded = StreamEncoder.encode(
        header: stream.header, messages: stream.messages.filter { $0 != .signature(.final) },
        signer: StreamSigner(key: testKey))
    guard
        let again = try? DecodedStream(
            reencoded, verifier: verifier, chunkSize: 4096,
            limits: Limits(maximumLineBytes: 1 << 20, maximumJSONDepth: 16))
    else {
        fatalError("a valid stream re-encoded into an invalid one")  // a bug for the fuzzer to report
    }
    guard withoutSums(again.messages) == withoutSums(stream.messages), again.header == stream.header else {
        fatalError("a valid stream changed meaning when re-encoded")
    }
}

/// `messages` with each checkpoint's checksum left out: it is the checksum of the bytes before
/// it, which re-encoding writes otherwise when a payload came in another form than canonical.
func withoutSums(_ messages: [Message]) -> [Message] {
    messages.map { message in
        if case .checkpoint = message { .checkpoint(checksum: "") } else { message }
    }
}

/// Reads the `REC` frames of `bytes` unread, then each payload keeping it when canonical, with
/// one reader through them all: a payload kept must be exactly its record's encoding, and when
/// the stream is valid the records must be those the plain decoder read (`expected`).
func checkUnreadRecords(_ bytes: [UInt8], chunkSize: Int, limits: Limits, expected: [Record]?) {
    let decoder = MessageDecoder(limits: limits, verifier: verifier)
    var unread: [UnreadRecord] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunkSize)
        do {
            try decoder.decode(bytes[start..<end]) {
                unread.append($0)
            } _: { _, _ in
            }
        } catch {
            break
        }
        start = end
    }
    var reader = UnreadRecord.Reader()
    var read: [Record] = []
    for record in unread {
        guard let contents = try? reader.read(record) else { continue }
        if let canonical = contents.canonicalPayload, !canonical.elementsEqual(RecordCoding.encode(contents.record)) {
            fatalError("a payload kept as canonical is not its record's encoding")
        }
        read.append(contents.record)
    }
    if let expected, read != expected {
        fatalError("reading records unread-first gave other records than the decoder")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if EDT_FUZZING
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
#else
let paths = CommandLine.arguments.dropFirst()
if paths.isEmpty {
    print("usage: edt-fuzz-decoder FILE...   (replays inputs; run Tools/fuzz to fuzz)")
}
for path in paths {
    guard let file = fopen(path, "rb") else {
        print("error: cannot open \(path)")
        exit(1)
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    fclose(file)
    check(bytes)
    print("ok \(path) (\(bytes.count) bytes)")
}
#endif

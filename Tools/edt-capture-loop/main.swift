// edt-capture-loop: captures referrals into a store in a loop, printing each id on stdout only
// once its commit has returned (is durable). The durability test kills it with SIGKILL at random
// moments and checks that every id it printed is in the store.
//   edt-capture-loop STORE-DIR [COUNT]      (EDT_PASSPHRASE unlocks the store)
import Foundation
import Referrals
import ReplicaStore
import Replication

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2, let passphrase = ProcessInfo.processInfo.environment["EDT_PASSPHRASE"] else {
    FileHandle.standardError.write(Data("usage: EDT_PASSPHRASE=... edt-capture-loop STORE-DIR [COUNT]\n".utf8))
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000
do {
    let store = try ReplicaStore.open(at: URL(fileURLWithPath: arguments[1]), passphrase: passphrase)
    let host = store.authorities.first ?? "E06000038"
    for number in 0..<count {
        let document = FieldValue.object([
            "receivedAt": .string("2027-03-27T02:10:00Z"),
            "receivedBy": .object(["name": .string("Loop Worker"), "role": .string("EDT social worker")]),
            "hostAuthority": .string(host), "channel": .string("phone"),
            "concern": .string("Capture \(number): child reported alone at night, neighbour worried."),
        ])
        let capture = try ReferralCapture.validate(document) { prefix in prefix + String(number) }
        let id = try RecordID(UUID().uuidString.lowercased())
        try store.commit { replica in
            replica.write(capture.writes, in: id)
        }
        let line = id.rawValue + "\n"
        _ = line.withCString { write(1, $0, strlen($0)) }  // unbuffered: printed means durable
    }
} catch {
    FileHandle.standardError.write(Data("edt-capture-loop: \(error)\n".utf8))
    exit(1)
}

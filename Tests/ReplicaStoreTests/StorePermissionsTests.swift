import Foundation
import ReplicaStore
import Replication
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A lost laptop's finder who is another user of the machine reads nothing: the store's
/// directory is its owner's alone and every file in it too, whatever the umask and whatever mode
/// an existing directory had.
@Suite("Store permissions", .serialized)
struct StorePermissionsTests {
    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func aStoreInAnExistingOpenDirectoryIsTheOwnersAlone() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        chmod(directory.path, 0o777)
        let previous = umask(0o000)  // the loosest umask: files would be made 0666
        defer { umask(previous) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"],
                passphrase: "pass phrase")
            try store.commit { replica in
                replica.write(.string("x"), to: try FieldPath("concern"), in: try RecordID("case-1"))
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(files.contains("replica.sqlite"))
            #expect(try mode(directory.path) == 0o700)
            for file in files {
                #expect(try mode(directory.appendingPathComponent(file).path) == 0o600, "\(file)")
            }
        }
        // A store whose file was left readable (by an older version) is made private when opened.
        chmod(directory.appendingPathComponent("replica.sqlite").path, 0o644)
        _ = try ReplicaStore.open(at: directory, passphrase: "pass phrase")
        #expect(try mode(directory.appendingPathComponent("replica.sqlite").path) == 0o600)
    }
}

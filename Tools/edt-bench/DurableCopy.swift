import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Copies a timed run starts from, written to disk before the run.
///
/// A fresh copy's pages are still dirty in the kernel's page cache. The first `fsync` of the
/// copied file, which SQLite makes when the timed process checkpoints its log as it closes the
/// database, would write all of them and bill the copy to the run: 27 ms of the end of an
/// `edt sync` of a 10,000-referral store, against 1 ms once the copy is on disk. A worker's
/// store, or a centre's database, is never a copy not yet written.
enum DurableCopy {
    /// Copies `source` (a file, or a directory and everything in it) to `destination`, then
    /// writes the copy to disk.
    static func copy(_ source: URL, to destination: URL) throws {
        try FileManager.default.copyItem(at: source, to: destination)
        try writeToDisk(destination)
    }

    /// Syncs `url` (a file, or a directory and everything in it) and the directory holding it.
    static func writeToDisk(_ url: URL) throws {
        try writeTree(url)
        try sync(url.deletingLastPathComponent().path)
    }

    /// Syncs `url` and, when it is a directory, everything in it, each once.
    private static func writeTree(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw BenchFailure("\(url.path) vanished before it could be written to disk")
        }
        if isDirectory.boolValue {
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
                try writeTree(url.appendingPathComponent(name))
            }
        }
        try sync(url.path)
    }

    private static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw BenchFailure("cannot open \(path) to write it to disk: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw BenchFailure("cannot write \(path) to disk: \(String(cString: strerror(errno)))")
        }
    }
}

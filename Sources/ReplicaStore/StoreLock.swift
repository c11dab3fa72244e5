import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a store directory (`flock` on its `lock` file), held while a store is
/// open: a process keeps the store's version vector, and which buckets it has checked, in
/// memory, so two processes changing one store at once would overwrite each other's changes (and
/// the version vector, dots). A second process waits for the first to finish.
final class StoreLock {
    /// The lock file inside the store directory.
    static let fileName = "lock"
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock, waiting up to `waitSeconds` for another process to release it.
    static func acquire(in directory: URL, waitingUpTo waitSeconds: Double) throws(StoreError) -> StoreLock {
        let path = directory.appendingPathComponent(fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(max(0, waitSeconds))
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(descriptor)
                throw StoreError(
                    .busy,
                    "another edt process (a sync, an import) is using the store in \(directory.path); try again when it has finished"
                )
            }
            usleep(50_000)
        }
        return StoreLock(descriptor: descriptor)
    }
}

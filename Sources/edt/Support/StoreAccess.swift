import ArgumentParser
import Foundation
import ReplicaStore
import Replication

/// The `--store DIR` option shared by the laptop commands.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The replica store directory.", valueName: "DIR"))
    var store: String

    var directory: URL { URL(fileURLWithPath: store) }

    /// Opens the store, asking for the passphrase if needed; failures become `Failure`s.
    func open() throws -> ReplicaStore {
        let passphrase = try Passphrase.obtain()
        do {
            return try ReplicaStore.open(at: directory, passphrase: passphrase)
        } catch {
            throw Failure(storeError: error)
        }
    }
}

extension Failure {
    init(storeError error: StoreError) {
        self = error.isInputOrOutput ? .inputOutput(error.message) : .refused(error.message)
    }
}

extension ReplicaStore {
    /// `commit` with errors mapped to the CLI's failures.
    @discardableResult
    func commitOrFail<Result>(_ change: (inout Replica) throws -> Result) throws -> Result {
        do {
            return try commit(change)
        } catch let error as StoreError {
            throw Failure(storeError: error)
        }
    }
}

/// A clock reading, as the instants edt writes: ISO 8601 with the Europe/London offset in force.
enum Clock {
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Europe/London") ?? .gmt
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}

/// Reading input files (or stdin) whole.
enum InputFile {
    static func read(_ path: String?) throws -> [UInt8] {
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure.inputOutput("cannot read \(path): check the path and its permissions")
            }
            return Array(data)
        }
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}

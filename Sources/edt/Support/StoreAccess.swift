import ArgumentParser
import Foundation
import Laptop
import Referrals

/// The `--store DIR` option shared by the laptop commands.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The replica store directory.", valueName: "DIR"))
    var store: String

    @OptionGroup var authorities: AuthorityOptions

    var directory: URL { URL(fileURLWithPath: store) }

    /// How long to wait for another edt process using the store: `EDT_STORE_WAIT_SECONDS`, else 120.
    var lockWaitSeconds: Double {
        ProcessInfo.processInfo.environment["EDT_STORE_WAIT_SECONDS"].flatMap(Double.init)
            ?? Workspace.defaultLockWaitSeconds
    }

    /// Opens the store, asking for the passphrase if needed; waits for another edt process
    /// using it up to `EDT_STORE_WAIT_SECONDS` (default 120).
    func open() throws -> Workspace {
        let known = try authorities.load()
        let passphrase = try Passphrase.obtain()
        do {
            return try Workspace.open(
                at: directory, passphrase: passphrase, lockWaitSeconds: lockWaitSeconds, knownAuthorities: known)
        } catch {
            throw Failure(error)
        }
    }
}

extension Failure {
    /// A refusal or failure of the laptop layer, with its exit status.
    init(_ error: LaptopError) {
        self = error.code == .refused ? .refused(error.message) : .inputOutput(error.message)
    }
}

/// Calls the laptop layer, turning its refusals and failures into the CLI's.
func laptop<Result>(_ operation: () throws(LaptopError) -> Result) throws(Failure) -> Result {
    do {
        return try operation()
    } catch {
        throw Failure(error)
    }
}

extension ReferralEntry.Author {
    /// `--by`/`--role`, else EDT_WORKER_NAME/EDT_WORKER_ROLE; nil when neither is given.
    static func from(by: String?, role: String?) throws -> ReferralEntry.Author? {
        let environment = ProcessInfo.processInfo.environment
        let name = by ?? environment["EDT_WORKER_NAME"]
        let role = role ?? environment["EDT_WORKER_ROLE"]
        guard name != nil || role != nil else { return nil }
        do {
            return try ReferralEntry.Author(name: name ?? "", role: role ?? "")
        } catch {
            throw Failure.refused("--by and --role: \(error.message)")
        }
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

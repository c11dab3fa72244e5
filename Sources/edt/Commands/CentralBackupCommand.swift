import ArgumentParser
import Central
import CentralPostgres
import Foundation
import Replication

extension CentralCommand {
    /// `edt central backup`: an online copy of the central database.
    struct BackupCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract:
                "Copy the central database to a new file, while it serves (SQLite's online backup, or pg_dump for PostgreSQL).",
            discussion: """
                The copy is whole and consistent: every change committed before it began, nothing \
                half-written, taken while laptops go on syncing. It is one file, never written over \
                an existing one. To restore, stop the centre; SQLite: put the copy in place of the \
                database (removing its -wal and -shm files); PostgreSQL: `pg_restore --clean \
                --if-exists --no-owner -d URL FILE`, into the database or a new, empty one. Then \
                start the centre again, where laptops reach it. The copy keeps the centre's key and \
                identity, so laptops trust it, but not the database's incarnation: restored, it \
                begins a life of its own, every laptop is told to start over at its next sync and \
                sends again everything it holds, so nothing they hold is lost.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: ArgumentHelp("The new file to write the copy to.", valueName: "FILE")) var to: String
        @Flag(help: "Print one JSON object: {\"backup\": PATH, \"bytes\", \"cases\", \"newestSequence\"}.")
        var json = false

        func run() async throws {
            let storage = try await database.open()
            let backup: (path: String, bytes: Int64, cases: Int, newestSequence: Int64)
            do throws(CentralError) {
                if let postgres = storage as? PostgresCentralStorage {
                    let copy = try await postgres.backup(to: to)
                    backup = (copy.path, copy.bytes, copy.cases, copy.newestSequence)
                } else if let sqlite = storage as? SQLiteCentralStorage {
                    let copy = try await sqlite.backup(to: to)
                    backup = (copy.path, copy.bytes, copy.cases, copy.newestSequence)
                } else {
                    throw CentralError(.refused, "this database cannot be backed up by edt")
                }
            } catch {
                throw error.code == .refused ? Failure.refused(error.message) : Failure.inputOutput(error.message)
            }
            if json {
                JSONOutput.print(
                    .object([
                        "backup": .string(backup.path), "bytes": .integer(backup.bytes),
                        "cases": .integer(Int64(backup.cases)), "newestSequence": .integer(backup.newestSequence),
                    ]))
            } else {
                print(
                    "Backed up \(backup.cases) case(s) (changes up to \(backup.newestSequence)) to \(backup.path), \(backup.bytes) bytes"
                )
            }
        }
    }
}

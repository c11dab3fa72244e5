import Central
import CentralPostgres
import GRDB
import TestSupport

extension CentralTests {
    /// Runs `sql` on the database under `storage`, behind the centre's back (an intruder's edit).
    func tamper(_ storage: any CentralStorage, _ sql: String) throws {
        if let sqlite = storage as? SQLiteCentralStorage {
            let queue = try DatabaseQueue(path: sqlite.path)
            try queue.write { db in try db.execute(sql: sql) }
        } else if let postgres = storage as? PostgresCentralStorage {
            try TestPostgres.psql(postgres.address.description, sql)
        }
    }
}

import GRDB
public import Referrals
public import Replication

/// Device freshness in the SQLite database: each device's last successful sync (`last_sync`,
/// seconds since the epoch) and the records it then held unacknowledged (`last_pending`), two
/// columns of `devices` added by the migration "device freshness".
extension SQLiteCentralStorage {
    /// The migration "device freshness" (the last of the list): the two columns, empty for every
    /// device enrolled before (never synced, as far as the centre knows).
    static func migrateDeviceFreshness(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE devices ADD COLUMN last_sync INTEGER;
                ALTER TABLE devices ADD COLUMN last_pending INTEGER;
                """)
    }

    public func recordSync(of device: DeviceID, at instant: Instant, pending: Int?) async throws(CentralError) {
        let pending = pending.map { Int64(max(0, $0)) }
        try await write { db in
            try db.execute(
                sql: "UPDATE devices SET last_sync = ?, last_pending = ? WHERE id = ?",
                arguments: [instant.secondsSinceEpoch, pending, device.rawValue])
        }
    }

    public func enrolledDevices() async throws(CentralError) -> [DeviceFreshness] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, public_key, authorities, revoked, peer_url, last_sync, last_pending
                    FROM devices ORDER BY id
                    """
            ).compactMap { row in
                guard let id = try? DeviceID(row["id"] as String) else { return nil }
                let lastSync: Int64? = row["last_sync"]
                let pending: Int64? = row["last_pending"]
                return DeviceFreshness(
                    device: Self.enrolledDevice(id: id, row), lastSync: lastSync.map { Instant(secondsSinceEpoch: $0) },
                    pending: pending.map { Int($0) })
            }
        }
    }
}

public import Central
import NIOCore
import PostgresNIO
public import Referrals
public import Replication

/// Device freshness in PostgreSQL: each device's last successful sync (`last_sync`) and what it
/// then held unacknowledged (`last_pending`), columns of `devices` (migration "device freshness").
extension PostgresCentralStorage {
    public func recordSync(of device: DeviceID, at instant: Instant, pending: Int?) async throws(CentralError) {
        let pending = pending.map { Int64(max(0, $0)) }
        let seconds = instant.secondsSinceEpoch
        let id = device.rawValue
        try await withConnection { connection in
            try await connection.query(
                "UPDATE devices SET last_sync = \(seconds), last_pending = \(pending) WHERE id = \(id)",
                logger: self.logger)
        }
    }

    public func enrolledDevices() async throws(CentralError) -> [DeviceFreshness] {
        try await withConnection { connection in
            var devices: [DeviceFreshness] = []
            for try await (id, key, authorities, revoked, url, lastSync, pending) in try await connection.query(
                """
                SELECT id, public_key, authorities, revoked, peer_url, last_sync, last_pending
                FROM devices ORDER BY id
                """, logger: self.logger
            ).decode((String, ByteBuffer, String, Bool, String?, Int64?, Int64?).self) {
                guard let device = try? DeviceID(id) else { continue }
                devices.append(
                    DeviceFreshness(
                        device: EnrolledDevice(
                            id: device, publicKey: Array(key.readableBytesView),
                            authorities: Set(authorities.split(separator: " ").map(String.init)), revoked: revoked,
                            peerURL: url),
                        lastSync: lastSync.map { Instant(secondsSinceEpoch: $0) }, pending: pending.map { Int($0) }))
            }
            return devices
        }
    }
}

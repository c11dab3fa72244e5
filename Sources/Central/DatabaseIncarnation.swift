import Replication

/// Which life of a central database is serving: its first, or one begun by restoring a backup.
///
/// A cursor names the database (its identity) and a number of its change sequence. A database
/// restored from a backup keeps its identity and key, so laptops trust it, but it has lost the
/// changes made after the backup, and soon gives their numbers to new changes: a cursor issued
/// before the restore would then pass for one of its own, and what the centre had acknowledged
/// to that device after the backup would never be sent again, nor the new changes below its
/// number pulled. So a backup never carries the incarnation (`edt central backup`: removed from
/// SQLite's copy, its table's rows left out of `pg_dump`'s), and a database opened without one
/// was restored: it makes a new, random one. Its cursors carry it
/// (`central.<identity>.incarnation:<n>`), and a cursor that does not carry it (issued before
/// the restore, or after another) makes the device start over, sending again all it holds.
/// A database in its first life (incarnation ``first``, made with it) issues its cursors
/// without one.
public enum DatabaseIncarnation {
    /// The incarnation of a database's first life, made with it: its cursors carry none.
    public static let first: UInt64 = 0

    /// A new incarnation for a database opened without one (restored from a backup): random,
    /// from 1 to 2^53 - 1, a counter a cursor's version vector carries.
    public static func new() -> UInt64 { UInt64.random(in: 1..<Dot.maximumCounter) }

    /// The name a cursor carries it under: `central.<identity>.incarnation`.
    static let cursorSuffix = ".incarnation"
}

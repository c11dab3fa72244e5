/// # Replication
///
/// The heart of edt: how replicas of the referral store change independently and merge without
/// losing a value. Pure Swift, no I/O, no clocks.
///
/// - A ``Replica`` holds ``Record``s (cases). Each write by the replica's device gets the next
///   ``Dot`` (device, counter); a replica's ``VersionVector`` says which dots it has incorporated.
/// - A record is a map of fields plus a set of entries. A field is a ``MultiValueRegister``: a
///   write that saw the other value replaces it; concurrent writes are both kept (a conflict)
///   until a write whose context covers them. Nothing picks a winner silently.
/// - ``Entry`` values (conversations, decisions, notes, corrections) are immutable, identified by
///   their dot, and merged by union.
/// - ``Replica/merge(_:)`` joins whole states; ``Replica/delta(since:)`` gives exactly what a
///   version vector says the other side lacks, and ``Replica/apply(_:)`` takes it in. Merging is
///   commutative, associative and idempotent; a delta applied twice or out of order does no harm.
/// - ``Replica/canonicalEncoding()`` and ``Replica/digest()`` are deterministic: replicas that
///   have seen the same updates produce the same bytes.
///
/// ```swift
/// var laptop = Replica(device: try DeviceID("laptop-a"))
/// let id = try RecordID("7d1c0a52-5d2e-4a4e-9e55-1f0b7c1e2a90")
/// laptop.write(.string("Child found at Reading station"), to: try FieldPath("concern"), in: id)
/// var centre = Replica(device: try DeviceID("central"))
/// centre.apply(laptop.delta(since: centre.knowledge))
/// ```
public enum ReplicationModule {
    /// The version of the canonical encoding produced by ``Replica/canonicalEncoding()``.
    public static let canonicalEncodingVersion = 1
}

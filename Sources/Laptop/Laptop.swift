/// # Laptop
///
/// The laptop's application layer: everything a worker does with the replica on the laptop,
/// between the `edt` program (which only parses arguments, calls this layer and prints) and the
/// store (`ReplicaStore`) and the network (`Uploader`).
///
/// - ``Workspace``: one open store with the device's policies and a clock. Capture, import,
///   set, resolve, notes, reading (a referral with its conflicts, entries and field history;
///   the list), bundles, sync. Each change is one durable commit, or nothing.
/// - ``DevicePolicy``: which authorities this device serves, and what that allows.
/// - ``InstantSource``: the clock, injected (``SystemClock`` in use, ``FixedClock`` in tests).
/// - ``FieldHistory``: the values fields held before they were set anew, read from the
///   signed entries that recorded each replacement (so every replica that synced has it).
/// - ``CaptureQuestionnaire``: the questions asked on a terminal for a new referral, made
///   from the referral schema.
/// - ``LaptopError``: why an operation was refused or failed, with what to do next.
///
/// Entries are signed in the format of `Referrals.EntrySignature` (`Docs/entry-signatures.md`),
/// which anyone holding the device's public key can verify.
public enum LaptopModule {}

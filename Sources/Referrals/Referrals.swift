/// # Referrals
///
/// The referral record of out-of-hours children's social care (see the schema in
/// ``ReferralSchema`` and `Docs/referral.schema.json`) and its validation. Pure: no I/O, no clock.
///
/// - ``ReferralCapture/validate(_:newItemID:)`` checks a whole referral document, refusing what
///   is wrong (with the path of the problem) and returning the field writes to make and the
///   **gaps**: recommended information that is missing, which never blocks saving.
/// - ``ReferralCapture/validateWrite(_:at:in:)`` checks one field change (`edt referral set`).
/// - ``ReferralView`` renders a record back as a document, with conflicted fields apart.
/// - ``ReferralEntry`` builds the immutable entries: conversations, decisions (signed), notes and
///   corrections.
///
/// Collections (children, household members, addresses...) are stored per item under a stable
/// item id (`children.c3f9a1b2.name`), so concurrent edits to different items merge cleanly.
public enum ReferralsModule {}

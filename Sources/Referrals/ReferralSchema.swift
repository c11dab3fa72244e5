/// The shape of a referral document: every field the software knows, its type, and whether it is
/// required (refused when missing), recommended (reported as a gap when missing) or optional.
///
/// Source: `Docs/domain.md`, "The referral record" and "Records that must be kept". The
/// JSON Schema form, for users and other systems, is ``jsonSchema()`` (committed as
/// `Docs/referral.schema.json`; a test keeps the two the same).
public enum ReferralSchema {
    /// How much a field matters.
    public enum Requirement: Sendable, Hashable {
        /// Refused when missing: the referral cannot be saved without it.
        case required
        /// Listed as a gap when missing, for the day team.
        case recommended
        case optional
    }

    /// The type of a single value.
    public enum Scalar: Sendable, Hashable {
        case text(maximumLength: Int)
        case instant
        case date
        case boolean
        case integer(ClosedRange<Int64>)
        case choice([String])
        case authority
        case nhsNumber
        case upn
        /// A list of short texts (aliases, agencies), stored and merged as one value.
        case textList
    }

    /// One member of an object.
    public struct Member: Sendable {
        public let name: String
        public let shape: Shape
        public let requirement: Requirement
        public let summary: String
    }

    /// What a member holds.
    public indirect enum Shape: Sendable {
        case scalar(Scalar)
        case object([Member])
        /// A list of objects; each item gets a stable id (`prefix` + 8 hex digits unless given).
        case collection(prefix: String, item: [Member])
    }

    static func m(_ name: String, _ shape: Shape, _ requirement: Requirement = .optional, _ summary: String) -> Member {
        Member(name: name, shape: shape, requirement: requirement, summary: summary)
    }

    static let shortText = Shape.scalar(.text(maximumLength: 500))
    static let longText = Shape.scalar(.text(maximumLength: 100_000))
    static let flag = Shape.scalar(.boolean)

    /// The members of a child.
    static let child: [Member] = [
        m("name", shortText, .recommended, "Full name"),
        m("aliases", .scalar(.textList), .optional, "Other names, aliases and spelling variants"),
        m("dateOfBirth", .scalar(.date), .recommended, "Date of birth (YYYY-MM-DD)"),
        m(
            "ageEstimate", .scalar(.integer(0...25)), .optional,
            "Estimated age in years when the date of birth is unknown"),
        m("unborn", flag, .optional, "True for an unborn child"),
        m("expectedDate", .scalar(.date), .optional, "Expected date of birth of an unborn child"),
        m("genderIdentity", shortText, .optional, "Gender identity"),
        m("location", shortText, .recommended, "Where the child is now"),
        m("condition", longText, .optional, "Emotional and physical condition"),
        m("ethnicity", shortText, .optional, "Ethnicity"),
        m("firstLanguage", shortText, .optional, "First language"),
        m("religion", shortText, .optional, "Religion"),
        m("communicationNeeds", shortText, .optional, "Interpreter, signer or other communication needs"),
        m("disabilities", longText, .optional, "Special needs or disabilities"),
        m("school", shortText, .optional, "School or early-years setting"),
        m("nhsNumber", .scalar(.nhsNumber), .optional, "NHS number: 10 digits with a valid Modulus 11 check digit"),
        m("upn", .scalar(.upn), .optional, "Unique Pupil Number: 13 characters, check letter first"),
        m("views", longText, .optional, "The child's views and wishes, in the child's own words where given"),
        m("hopesAndFears", longText, .optional, "The child's hopes and fears"),
        m(
            "toldAboutReferral", flag, .optional,
            "Whether the child has been told about the referral"),
        m(
            "ageWhenHarmed", .scalar(.integer(0...25)), .optional,
            "The child's age in years when the harm happened"),
        m(
            "allocatedSocialWorker",
            .object([
                m("name", shortText, .optional, "Name"),
                m("team", shortText, .optional, "Team"),
                m("authority", .scalar(.authority), .optional, "Authority (GSS code)"),
                m("allocatedOn", .scalar(.date), .optional, "Date allocated (for the 12-week routing rule)"),
                m(
                    "closedOn", .scalar(.date), .optional,
                    "Date the allocation ended, when it has; for the 12-week routing rule"),
            ]), .optional, "An allocated social worker, possibly in another authority"),
        m(
            "childProtectionPlan",
            .object([
                m("authority", .scalar(.authority), .optional, "Authority holding the plan"),
                m("leadSocialWorker", shortText, .optional, "The plan's lead social worker"),
            ]), .optional, "A Child Protection Plan, possibly in another authority"),
        m("earlyHelpWorker", shortText, .optional, "Named early help worker, when the child is open to early help"),
    ]

    /// The members of a referral document.
    public static let document: [Member] = [
        m("receivedAt", .scalar(.instant), .required, "When the referral was received (ISO 8601 with offset)"),
        m(
            "receivedBy",
            .object([
                m("name", shortText, .required, "Name of the receiving worker"),
                m("role", shortText, .required, "Role of the receiving worker"),
            ]), .required, "The worker who received the referral"),
        m("hostAuthority", .scalar(.authority), .required, "Authority where the child is (GSS code)"),
        m("homeAuthority", .scalar(.authority), .recommended, "Authority where the child normally lives (GSS code)"),
        m(
            "channel", .scalar(.choice(["phone", "written", "in-person", "police", "other"])), .required,
            "How the referral was received"),
        m("concern", longText, .required, "The cause for concern, in free text"),
        m("verbal", flag, .optional, "A verbal or phone referral (a professional's must be confirmed in writing)"),
        m("immediateProtection", flag, .recommended, "Whether the child needs immediate protection"),
        m("childSafeNow", flag, .recommended, "Whether the child is safe now"),
        m(
            "recordCheck", .scalar(.choice(["checked", "not-checked-offline", "not-checked"])), .recommended,
            "Whether the child's electronic record was checked"),
        m("allegations", longText, .optional, "Details of allegations: what, when, where"),
        m(
            "allegationSource", .scalar(.choice(["direct", "third-party", "both"])), .optional,
            "Whether reported directly or by a third party"),
        m(
            "allegedPerpetrator",
            .object([
                m("name", shortText, .optional, "Name"),
                m("whereabouts", shortText, .optional, "Where they are now"),
                m("relationship", shortText, .optional, "Relationship to the child"),
            ]), .optional, "Identity and whereabouts of the alleged perpetrator"),
        m("significantEvents", longText, .optional, "Significant recent or historical events"),
        m("crimeSuspected", flag, .optional, "A crime may have been committed (police must be consulted)"),
        m("policeConsulted", flag, .optional, "Police were consulted"),
        m(
            "householdFactors",
            .object([
                m("domesticAbuse", flag, .optional, "Domestic abuse"),
                m("mentalIllness", flag, .optional, "Mental illness"),
                m("substanceMisuse", flag, .optional, "Substance misuse"),
                m("learningDifficulties", flag, .optional, "Learning difficulties"),
            ]), .optional, "Factors in the household"),
        m("children", .collection(prefix: "c", item: child), .recommended, "The child or children"),
        m(
            "family",
            .object([
                m("address", shortText, .recommended, "Current address"),
                m("timeAbroad", shortText, .optional, "Time recently spent abroad"),
                m(
                    "recentlyArrived", flag, .optional,
                    "Recently arrived in the area (new to the area; time abroad is timeAbroad)"),
            ]), .recommended, "The family"),
        m(
            "previousAddresses",
            .collection(
                prefix: "a",
                item: [
                    m("address", shortText, .recommended, "Address"),
                    m("until", .scalar(.date), .optional, "Lived there until"),
                ]), .optional, "Previous addresses"),
        m(
            "parentalResponsibility",
            .collection(
                prefix: "p",
                item: [
                    m("name", shortText, .recommended, "Name"),
                    m("relationship", shortText, .optional, "Relationship to the child"),
                    m("address", shortText, .optional, "Address"),
                    m("phone", shortText, .optional, "Phone"),
                    m("ethnicity", shortText, .optional, "Ethnicity"),
                    m("language", shortText, .optional, "Language"),
                    m("religion", shortText, .optional, "Religion"),
                    m(
                        "communicationNeeds", shortText, .optional,
                        "Interpreter, signer or other communication needs"),
                    m("specialNeeds", longText, .optional, "Special needs or disabilities"),
                ]), .recommended, "People with parental responsibility or caring for the child"),
        m(
            "household",
            .collection(
                prefix: "h",
                item: [
                    m("name", shortText, .recommended, "Name"),
                    m("dateOfBirth", .scalar(.date), .optional, "Date of birth"),
                    m("relationship", shortText, .optional, "Relationship to the child"),
                    m(
                        "isChild", flag, .optional,
                        "Another child in the household (who may need a referral of their own)"),
                ]), .optional, "Household members"),
        m(
            "significantOthers",
            .collection(
                prefix: "s",
                item: [
                    m("name", shortText, .recommended, "Name"),
                    m("relationship", shortText, .optional, "Relationship to the child"),
                ]), .optional, "Significant people outside the household"),
        m(
            "referrer",
            .object([
                m("name", shortText, .recommended, "Name"),
                m("role", shortText, .optional, "Role"),
                m("agency", shortText, .optional, "Agency"),
                m("relationship", shortText, .optional, "Relationship to the child"),
                m("knowledge", longText, .optional, "What they know of the child and how"),
                m("phone", shortText, .recommended, "Phone"),
                m("email", shortText, .optional, "Email"),
                m(
                    "professional", flag, .recommended,
                    "True for a professional (whose referral can never be anonymous)"),
                m(
                    "anonymityRequested", flag, .optional,
                    "A member of the public asked for anonymity (recorded; never guaranteed)"),
            ]), .recommended, "Who made the referral"),
        m(
            "consent",
            .object([
                m("parentsInformed", flag, .recommended, "Parents know of the referral"),
                m("parentsAgree", flag, .optional, "Parents agree to it"),
                m("reason", longText, .optional, "Why it proceeds without agreement or without informing them"),
            ]), .recommended, "Consent"),
        m("otherAgencies", .scalar(.textList), .optional, "Other agencies known to be involved"),
    ]
}

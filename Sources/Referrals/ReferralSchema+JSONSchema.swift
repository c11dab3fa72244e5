public import Replication

extension ReferralSchema {
    /// The schema as JSON Schema (draft 2020-12), for users and other systems.
    public static func jsonSchema() -> FieldValue {
        var root = objectSchema(document)
        root["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        root["title"] = .string("EDT referral")
        root["description"] = .string(
            "A referral received by an Emergency Duty Team. Required fields refuse saving when missing; recommended ones are reported as gaps."
        )
        return .object(root)
    }

    private static func objectSchema(_ members: [Member], allowingID: Bool = false) -> [String: FieldValue] {
        var properties: [String: FieldValue] = [:]
        for member in members { properties[member.name] = schema(member) }
        if allowingID {
            properties["id"] = .object([
                "type": .string("string"), "pattern": .string("^[A-Za-z0-9_-]{1,32}$"),
                "description": .string("Stable item id; made when absent"),
            ])
        }
        var result: [String: FieldValue] = [
            "type": .string("object"), "additionalProperties": .bool(false), "properties": .object(properties),
        ]
        let required = members.filter { $0.requirement == .required }.map { FieldValue.string($0.name) }
        if !required.isEmpty { result["required"] = .array(required) }
        let recommended = members.filter { $0.requirement == .recommended }.map { FieldValue.string($0.name) }
        if !recommended.isEmpty { result["x-recommended"] = .array(recommended) }
        return result
    }

    private static func schema(_ member: Member) -> FieldValue {
        var result: [String: FieldValue]
        switch member.shape {
        case .object(let inner):
            result = objectSchema(inner)
        case .collection(_, let item):
            result = ["type": .string("array"), "items": .object(objectSchema(item, allowingID: true))]
        case .scalar(let scalar):
            switch scalar {
            case .text(let maximumLength):
                result = ["type": .string("string"), "maxLength": .integer(Int64(maximumLength))]
            case .instant: result = ["type": .string("string"), "format": .string("date-time")]
            case .date: result = ["type": .string("string"), "format": .string("date")]
            case .boolean: result = ["type": .string("boolean")]
            case .integer(let range):
                result = [
                    "type": .string("integer"), "minimum": .integer(range.lowerBound),
                    "maximum": .integer(range.upperBound),
                ]
            case .choice(let choices): result = ["enum": .array(choices.map(FieldValue.string))]
            case .authority: result = ["type": .string("string"), "pattern": .string("^[EWSN][0-9]{8}$")]
            case .nhsNumber:
                result = [
                    "type": .string("string"), "pattern": .string("^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$"),
                    "x-check": .string("Modulus 11"),
                ]
            case .upn:
                result = [
                    "type": .string("string"), "pattern": .string("^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$"),
                    "x-check": .string("check letter, modulo 23"),
                ]
            case .textList: result = ["type": .string("array"), "items": .object(["type": .string("string")])]
            }
        }
        result["description"] = .string(member.summary)
        return .object(result)
    }
}

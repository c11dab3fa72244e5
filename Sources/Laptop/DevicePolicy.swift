import Referrals

/// What this device may do, from how it was set up: the authorities it serves.
///
/// A referral is recorded on a device that serves its host authority (the authority where the
/// child was found), so that the case reaches a centre that will take it from this device.
public struct DevicePolicy: Sendable, Hashable {
    /// The authorities (GSS codes) this device serves, sorted.
    public let authorities: [String]

    /// Refuses an empty list or a code that is not a GSS code.
    public init(authorities: [String]) throws(LaptopError) {
        guard !authorities.isEmpty else {
            throw .refused("a device must serve at least one authority (--authority CODE)")
        }
        for code in authorities where !Identifiers.isAuthorityCode(code) {
            throw .refused("\"\(code)\" is not a GSS code (e.g. E06000038)")
        }
        self.authorities = Array(Set(authorities)).sorted()
    }

    /// Whether this device serves `code`.
    public func serves(_ code: String) -> Bool { authorities.contains(code) }

    /// Refuses a referral whose host authority this device does not serve.
    func checkHost(_ host: String, place: String) throws(LaptopError) {
        guard !serves(host) else { return }
        throw .refused(
            "\(place)hostAuthority: this device serves \(authorities.joined(separator: ", ")), not \(host); record the referral on a device that serves \(host)"
        )
    }
}

import ArgumentParser
import Foundation
import Laptop
import Referrals
import Replication

/// `edt init`: creates an encrypted replica for a device.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an encrypted replica store for a device.",
        discussion: """
            The passphrase comes from EDT_PASSPHRASE, or is asked for twice on a terminal. The \
            device's Ed25519 signing key is made here and kept only encrypted; its public key is \
            printed for enrolment with the central endpoint.
            """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: ArgumentHelp("This device's identity (A-Z a-z 0-9 . _ -).", valueName: "ID"))
    var device: String

    @Option(
        name: .customLong("authority"),
        help: ArgumentHelp("An authority this device serves (GSS code); repeat for several.", valueName: "CODE"))
    var authorities: [String]

    @Option(
        help: ArgumentHelp(
            "The central endpoint's public key (base64), as `edt central identity` prints it; it can be given later with `edt store centre-key`.",
            valueName: "KEY"))
    var centreKey: String?

    @Flag(help: "Print one JSON object: {\"device\", \"publicKey\"}.")
    var json = false

    func validate() throws {
        guard (try? DeviceID(device)) != nil else {
            throw ValidationError("--device \"\(device)\" is not a device id: use 1 to 128 of A-Z a-z 0-9 . _ -")
        }
        guard !authorities.isEmpty else { throw ValidationError("give at least one --authority CODE") }
        for code in authorities where !Identifiers.isAuthorityCode(code) {
            throw ValidationError("--authority \"\(code)\" is not a GSS code (e.g. E06000038)")
        }
    }

    func run() async throws {
        let deviceID = try DeviceID(device)
        let known = try options.authorities.load()
        // A bad centre key is refused before the store is made: a refused command changes nothing.
        if let centreKey { _ = try laptop { () throws(LaptopError) in try Workspace.centreKey(base64: centreKey) } }
        let passphrase = try Passphrase.obtain(confirming: true)
        let workspace = try laptop { () throws(LaptopError) in
            try Workspace.create(
                at: options.directory, device: deviceID, authorities: authorities, passphrase: passphrase,
                lockWaitSeconds: options.lockWaitSeconds, knownAuthorities: known)
        }
        if let centreKey { try laptop { () throws(LaptopError) in try workspace.setCentreKey(base64: centreKey) } }
        let publicKey = Data(workspace.publicKey).base64EncodedString()
        if json {
            JSONOutput.print(.object(["device": .string(deviceID.rawValue), "publicKey": .string(publicKey)]))
        } else {
            print("Created an encrypted replica for \(deviceID) in \(options.store)")
            print("Authorities: \(workspace.policy.authorities.joined(separator: ", "))")
            print("Public key (for `edt central enroll`): \(publicKey)")
        }
    }
}

import Foundation
import LineProtocol
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The centre serving HTTPS itself (`edt central serve --tls-cert --tls-key`), end to end: a
/// throwaway CA made with openssl issues the centre's certificate for 127.0.0.1 and localhost; a
/// laptop syncs through real libcurl trusting that CA (`--ca-file`), pinning the centre's key
/// (`--pin`), or neither, when it is refused and loses nothing; a centre given unusable files
/// refuses to start; a plain-HTTP client on the TLS port is closed without an answer; the
/// connections' cap and deadlines hold under TLS; a peer centre is forwarded to over https.
@Suite("The centre over TLS, end to end", .serialized)
struct TLSEndToEndTests {
    let e2e = SyncEndToEndTests()
    var edt: EDTProcess { e2e.edt }

    /// The TLS options of a centre serving with `certificates`.
    func tlsOptions(_ certificates: TestCertificates) -> [String] {
        ["--tls-cert", certificates.certificate, "--tls-key", certificates.key]
    }

    /// `GET /health` with the curl command over https, trusting the test CA: the status (0 when
    /// no answer came) and the body.
    func health(_ url: String, _ certificates: TestCertificates) throws -> (status: Int, body: String) {
        let result = try edt.run(
            [
                "-s", "--max-time", "30", "--cacert", certificates.caCertificate, "-w", "\n%{http_code}",
                url + SyncContract.healthPath,
            ],
            executable: URL(fileURLWithPath: "/usr/bin/curl"))
        let output = result.standardOutput
        guard let cut = output.lastIndex(of: "\n") else { return (0, output) }
        return (Int(output[output.index(after: cut)...]) ?? 0, String(output[..<cut]))
    }

    /// The ids of the referrals `laptop` still has to push (`edt referral list --pending`).
    func pending(_ laptop: SyncEndToEndTests.Laptop) throws -> [String] {
        let list = try edt.run(["referral", "list", "--store", laptop.store, "--pending", "--json"])
        #expect(list.status == 0, "\(list.standardError)")
        return (list.json["referrals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    /// `edt central serve` on `world`'s database with `extra`, expected to exit rather than
    /// serve: its status and output (killed, and recorded as an issue, if it still runs after
    /// 30 seconds).
    func serveExpectingExit(_ world: SyncEndToEndTests.World, _ extra: [String]) throws -> EDTProcess.Result {
        let process = Process()
        process.executableURL = EDTProcess.binary
        process.arguments = ["central", "serve", "--db", world.database.path, "--listen", "127.0.0.1:0"] + extra
        let output = world.directory.appendingPathComponent("serve-\(UUID().uuidString).out")
        let errors = world.directory.appendingPathComponent("serve-\(UUID().uuidString).err")
        for file in [output, errors] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("edt central serve \(extra) kept serving")
        }
        process.waitUntilExit()
        return EDTProcess.Result(
            status: process.terminationStatus,
            standardOutput: (try? String(contentsOf: output, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }

    // MARK: - Laptops

    @Test func aLaptopSyncsOverHTTPSWithTheCentresCAAndWithoutItIsRefusedLosingNothing() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        let central = try world.startCentral(extra: tlsOptions(certificates))
        #expect(central.scheme == "https", "the ready line announces https://")
        let a = try e2e.laptop(world, "edt-laptop-a")
        let b = try e2e.laptop(world, "edt-laptop-b")
        let id = try e2e.capture(a)

        // The system's CAs do not know the test CA: refused before anything is sent.
        let untrusted = try e2e.sync(a, central.url)
        #expect(untrusted.status == 1, "\(untrusted.standardError)")
        #expect(untrusted.standardError.hasPrefix("error: "), "\(untrusted.standardError)")
        #expect(untrusted.standardError.contains("TLS"), "\(untrusted.standardError)")
        #expect(untrusted.standardError.contains("certificate"), "\(untrusted.standardError)")
        #expect(try pending(a) == [id], "the referral is still to push")

        let trusted = try e2e.sync(a, central.url, ["--ca-file", certificates.caCertificate])
        #expect(trusted.status == 0, "\(trusted.standardError)")
        #expect(e2e.count(trusted.json, "pushed") == 1, "\(trusted.standardOutput)")
        #expect(try pending(a).isEmpty)
        // Stored at the centre: another laptop pulls it, by the certificate's other name.
        let pulled = try e2e.sync(
            b, "https://localhost:\(central.port)", ["--ca-file", certificates.caCertificate])
        #expect(pulled.status == 0, "\(pulled.standardError)")
        #expect(e2e.count(pulled.json, "pulled") == 1, "\(pulled.standardOutput)")
        #expect(try e2e.ids(b) == [id])
        #expect(try e2e.digest(a) == e2e.digest(b))
    }

    @Test func pinningTheCentresKeyIsHonouredAndAWrongPinIsRefused() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        let central = try world.startCentral(extra: tlsOptions(certificates))
        let a = try e2e.laptop(world, "edt-laptop-a")
        let id = try e2e.capture(a)
        let trust = ["--ca-file", certificates.caCertificate]

        let wrong = try e2e.sync(a, central.url, trust + ["--pin", certificates.otherPin])
        #expect(wrong.status == 1, "\(wrong.standardError)")
        #expect(wrong.standardError.contains("TLS"), "\(wrong.standardError)")
        #expect(wrong.standardError.lowercased().contains("pinned"), "\(wrong.standardError)")
        #expect(try pending(a) == [id], "nothing was sent to a centre whose key is not the pinned one")

        let right = try e2e.sync(a, central.url, trust + ["--pin", certificates.pin])
        #expect(right.status == 0, "\(right.standardError)")
        #expect(e2e.count(right.json, "pushed") == 1, "\(right.standardOutput)")
        #expect(try pending(a).isEmpty)
        // Several pins, one of them the centre's (a key being rolled over): taken.
        let either = try e2e.sync(a, central.url, trust + ["--pin", certificates.otherPin + ";" + certificates.pin])
        #expect(either.status == 0, "\(either.standardError)")
    }

    // MARK: - The centre's own files

    @Test func aCentreGivenOneTLSFileOnlyOrFilesItCannotUseRefusesToStartAndChangesNothing() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        let missing = world.directory.appendingPathComponent("nowhere.key").path
        let text = world.directory.appendingPathComponent("centre.ext").path
        let cases: [(options: [String], status: Int32, says: [String])] = [
            (["--tls-cert", certificates.certificate], 2, ["--tls-cert needs --tls-key"]),
            (["--tls-key", certificates.key], 2, ["--tls-key needs --tls-cert"]),
            (
                ["--tls-cert", certificates.certificate, "--tls-key", missing], 3,
                ["--tls-key", missing, "does not exist"]
            ),
            (["--tls-cert", missing, "--tls-key", certificates.key], 3, ["--tls-cert", missing, "does not exist"]),
            (
                ["--tls-cert", certificates.certificate, "--tls-key", world.directory.path], 3,
                ["--tls-key", "is a directory"]
            ),
            (
                ["--tls-cert", certificates.key, "--tls-key", certificates.certificate], 1,
                ["--tls-cert", certificates.key, "a private key, not a certificate", "swapped"]
            ),
            (["--tls-cert", text, "--tls-key", certificates.key], 1, ["--tls-cert", text, "no PEM certificate"]),
            (
                ["--tls-cert", certificates.certificate, "--tls-key", certificates.encryptedKey], 1,
                ["--tls-key", certificates.encryptedKey, "is encrypted"]
            ),
            (
                ["--tls-cert", certificates.certificate, "--tls-key", certificates.otherKey], 1,
                ["--tls-key", certificates.otherKey, "does not belong to the certificate"]
            ),
            (
                tlsOptions(certificates) + ["--peer-ca-file", missing], 3,
                ["--peer-ca-file", missing]
            ),
            (tlsOptions(certificates) + ["--peer-ca-file", text], 1, ["--peer-ca-file", "no PEM certificate"]),
            (tlsOptions(certificates) + ["--peer-pin", "sha256//short"], 2, ["--peer-pin"]),
        ]
        for (options, status, says) in cases {
            let result = try serveExpectingExit(world, options)
            #expect(result.status == status, "\(options): \(result.standardError)")
            for words in says {
                #expect(result.standardError.contains(words), "\(options): \(result.standardError)")
            }
            #expect(!result.standardOutput.contains("listening"), "\(options): \(result.standardOutput)")
        }
        #expect(!FileManager.default.fileExists(atPath: world.database.path), "no database was made")
    }

    @Test func anExpiredCertificateIsServedWithAWarningAndALaptopRefusesItLosingNothing() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        Thread.sleep(forTimeInterval: 1.1)  // its last valid second is over
        let central = try world.startCentral(
            extra: ["--tls-cert", certificates.expiredCertificate, "--tls-key", certificates.key])
        #expect(central.scheme == "https")
        #expect(central.logText.contains("warning: the certificate"), "\(central.logText)")
        #expect(central.logText.contains("expired"), "\(central.logText)")
        let a = try e2e.laptop(world, "edt-laptop-a")
        let id = try e2e.capture(a)
        let refused = try e2e.sync(a, central.url, ["--ca-file", certificates.caCertificate])
        #expect(refused.status == 1, "\(refused.standardError)")
        #expect(refused.standardError.contains("TLS"), "\(refused.standardError)")
        #expect(refused.standardError.contains("expired"), "\(refused.standardError)")
        #expect(try pending(a) == [id])
    }

    @Test func aPlainHTTPRequestToTheTLSPortIsClosedWithoutAnAnswerAndTheCentreCarriesOn() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        let central = try world.startCentral(extra: tlsOptions(certificates))

        // A plain request, as a client given http:// by mistake sends it: closed, at once
        // (well before the 10 s header deadline), with no HTTP answer.
        let plain = try RawConnection(port: central.port)
        let opened = Date()
        plain.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let answer = plain.readUntilClosed(within: 30)
        #expect(answer.closed, "the connection is closed")
        #expect(Date().timeIntervalSince(opened) < 8, "closed on the TLS error, not at a deadline")
        #expect(!String(decoding: answer.bytes, as: UTF8.self).hasPrefix("HTTP/"), "no HTTP answer")

        // curl with http:// fails at once rather than hanging (28 would be its timeout).
        let mistaken = try edt.run(
            ["-s", "--max-time", "20", "http://127.0.0.1:\(central.port)" + SyncContract.healthPath],
            executable: URL(fileURLWithPath: "/usr/bin/curl"))
        #expect(mistaken.status != 0 && mistaken.status != 28, "curl exit \(mistaken.status)")
        // A laptop given http:// is told it is not a centre it can speak to, and keeps its referral.
        let a = try e2e.laptop(world, "edt-laptop-a")
        let id = try e2e.capture(a)
        let wrongScheme = try e2e.sync(
            a, "http://127.0.0.1:\(central.port)", ["--attempts", "2", "--backoff", "0"])
        #expect(wrongScheme.status != 0, "\(wrongScheme.standardOutput)")
        #expect(try pending(a) == [id])

        #expect(central.process.isRunning, "the centre is still up: \(central.logText)")
        let healthy = try health(central.url, certificates)
        #expect(healthy.status == 200 && healthy.body == "ok\n", "\(healthy)")
        let synced = try e2e.sync(a, central.url, ["--ca-file", certificates.caCertificate])
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(e2e.count(synced.json, "pushed") == 1, "\(synced.standardOutput)")
    }

    @Test func underTLSTheConnectionCapAndTheHeaderDeadlineStillHold() throws {
        let world = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: world.directory)
        let central = try world.startCentral(
            extra: tlsOptions(certificates) + ["--header-timeout", "5", "--max-connections", "2"])
        // Two connections that never start their handshake take the two places...
        let opened = Date()
        let silent = try (0..<2).map { _ in try RawConnection(port: central.port) }
        usleep(300_000)
        // ...so a third is closed at once, before any handshake.
        let beyond = try RawConnection(port: central.port)
        #expect(beyond.closedByPeer(within: 4), "a connection beyond the cap is closed at once")
        #expect(silent.filter(\.isOpen).count == 2, "the two admitted ones are kept until their deadline")
        // The header deadline counts the handshake: a silent connection is closed at it.
        for connection in silent {
            #expect(connection.closedByPeer(within: 60), "closed at the header deadline")
        }
        #expect(Date().timeIntervalSince(opened) >= 4.9, "closed at the deadline, not before")
        // Their places freed, the centre answers over TLS.
        let healthy = try health(central.url, certificates)
        #expect(healthy.status == 200 && healthy.body == "ok\n", "\(healthy)")
    }

    // MARK: - Peer centres

    @Test func aPeerCentreIsForwardedToOverHTTPSWithThePeerCAFileAndPin() throws {
        let sloughWorld = SyncEndToEndTests.World()
        let hampshireWorld = SyncEndToEndTests.World()
        let certificates = try TestCertificates.make(in: hampshireWorld.directory)
        let hampshireCentre = try hampshireWorld.startCentral(
            extra: tlsOptions(certificates) + ["--forward-interval", "3600"])
        var sloughCentre = try sloughWorld.startCentral(extra: ["--forward-interval", "0.2"])
        try e2e.addPeer(sloughWorld, hampshireWorld, url: hampshireCentre.url, authority: SyncEndToEndTests.hampshire)
        try e2e.addPeer(hampshireWorld, sloughWorld, url: sloughCentre.url, authority: SyncEndToEndTests.slough)
        let s = try e2e.laptop(
            sloughWorld, "edt-laptop-s", serves: SyncEndToEndTests.slough, enrolFor: [SyncEndToEndTests.slough])
        let h = try e2e.laptop(
            hampshireWorld, "edt-laptop-h", serves: SyncEndToEndTests.hampshire,
            enrolFor: [SyncEndToEndTests.hampshire])
        let trust = ["--ca-file", certificates.caCertificate]
        let id = try e2e.sloughReferral(s, receivedAt: e2e.hoursAgo(2).text)
        #expect(try e2e.forward(s, id, to: SyncEndToEndTests.hampshire).status == 0)
        #expect(try e2e.sync(s, sloughCentre.url).status == 0)

        // With the system's CAs only, Slough's centre cannot trust Hampshire's: pending, with why.
        let untrusted = try e2e.eventually(30) {
            (try e2e.peerRows(sloughWorld).first?["problem"] as? String)?.contains("TLS") == true
        }
        let shown = try e2e.peerRows(sloughWorld)
        #expect(untrusted, "\(shown)")
        #expect(shown.first?["pending"] as? Int == 1, "\(shown)")
        sloughCentre.terminate()
        // A wrong pin is refused too, the CA notwithstanding.
        let pinned = try edt.run([
            "central", "peer", "sync", "--db", sloughWorld.database.path, "--peer-ca-file",
            certificates.caCertificate, "--peer-pin", certificates.otherPin, "--json",
        ])
        #expect(pinned.status == 3, "\(pinned.standardError)")
        let refused = (pinned.json["peers"] as? [[String: Any]])?.first?["problem"] as? String ?? ""
        #expect(refused.lowercased().contains("pinned"), "\(pinned.standardOutput)")
        #expect(try e2e.sync(h, hampshireCentre.url, trust).status == 0)
        #expect(try e2e.ids(h).isEmpty, "nothing reached Hampshire yet")

        // Trusting Hampshire's CA and pinning its key, Slough's centre forwards the case.
        sloughCentre = try sloughWorld.startCentral(
            extra: [
                "--forward-interval", "0.2", "--peer-ca-file", certificates.caCertificate, "--peer-pin",
                certificates.pin,
            ])
        let forwarded = try e2e.eventually(60) {
            let row = try e2e.peerRows(sloughWorld).first ?? [:]
            return row["pending"] as? Int == 0 && row["problem"] is NSNull
        }
        let rows = try e2e.peerRows(sloughWorld)
        #expect(forwarded, "\(rows)")
        let reached = try e2e.eventually(30) {
            #expect(try e2e.sync(h, hampshireCentre.url, trust).status == 0)
            return try e2e.ids(h) == [id]
        }
        #expect(reached, "Hampshire's laptop got the case from Hampshire's centre, over https")
        #expect(try e2e.crossAuthority(h, id)["state"] as? String == "forwardedToHome")
    }
}

import Foundation
import LineProtocol
import Referrals
import Testing

/// Operating the centre, end to end, with the real `edt` processes and libcurl: `GET /metrics`
/// after real syncs, request ids in answers and in the centre's log, and `edt central devices`.
extension SyncEndToEndTests {
    /// A laptop set up to serve `serves` and enrolled at the centre for `enrolFor` (not enrolled
    /// when nil).
    func laptop(_ world: World, _ device: String, serves: [String], enrolFor: [String]?) throws -> Laptop {
        let store = world.directory.appendingPathComponent(device).path
        let centreKey = try edt.run(["central", "identity", "--db", world.database.path]).standardOutput
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let created = try edt.run(
            ["init", "--store", store, "--device", device, "--centre-key", centreKey, "--json"]
                + serves.flatMap { ["--authority", $0] })
        #expect(created.status == 0, "\(created.standardError)")
        let key = created.json["publicKey"] as? String ?? ""
        if let enrolFor {
            let enrolled = try edt.run(
                ["central", "enroll", "--db", world.database.path, "--device", device, "--public-key", key]
                    + enrolFor.flatMap { ["--authority", $0] })
            #expect(enrolled.status == 0, "\(enrolled.standardError)")
        }
        return Laptop(store: store, device: device, publicKey: key)
    }

    /// Captures a referral hosted by `authority` about a child named `child`; its id.
    func capture(_ laptop: Laptop, authority: String, child: String) throws -> String {
        let document = minimalReferral.replacingOccurrences(of: "E06000038", with: authority)
            .replacingOccurrences(of: "Amy Nowak", with: child)
        let result = try edt.run(["referral", "new", "--store", laptop.store, "--json"], input: document)
        #expect(result.status == 0, "\(result.standardError)")
        return result.json["id"] as? String ?? ""
    }

    /// `GET url` with curl, sending `X-Request-Id: requestID` when given: the status, the
    /// answer's `X-Request-Id` and the body.
    func get(_ url: String, requestID: String? = nil) throws -> (status: Int, requestID: String?, body: String) {
        let headers = directoryForCurl().appendingPathComponent("headers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: headers) }
        let result = try edt.run(
            ["-s", "--max-time", "30", "-D", headers.path, "-w", "\n%{http_code}", url]
                + (requestID.map { ["-H", "\(SyncContract.requestIDHeader): \($0)"] } ?? []),
            executable: URL(fileURLWithPath: "/usr/bin/curl"))
        let output = result.standardOutput
        let cut = output.lastIndex(of: "\n") ?? output.startIndex
        let head = (try? String(contentsOf: headers, encoding: .utf8)) ?? ""
        let echoed = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-request-id:") }
            .map { $0.dropFirst("x-request-id:".count).trimmingCharacters(in: .whitespaces) }
        return (Int(output[output.index(after: cut)...]) ?? 0, echoed, String(output[..<cut]))
    }

    func directoryForCurl() -> URL { FileManager.default.temporaryDirectory }

    /// The value of the series `series` (name and labels as written) in a Prometheus exposition.
    func value(_ series: String, in exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The request id a failed `edt sync` names on stderr (`request id ID;`).
    func requestID(in standardError: String) -> String? {
        guard let range = standardError.range(of: "request id ") else { return nil }
        return String(standardError[range.upperBound...].prefix { $0 != ";" && $0 != ")" && $0 != " " })
    }

    // MARK: - Metrics

    @Test func theMetricsCountARealSyncItsRecordsAndItsRefusalsAndShowNoCaseData() throws {
        let world = World()
        let central = try world.startCentral(metrics: true)
        let metricsURL = "http://127.0.0.1:\(try #require(central.metricsPort))/metrics"
        // edt-laptop-a serves Reading and West Berkshire, but is enrolled for Reading only.
        let a = try laptop(world, "edt-laptop-a", serves: ["E06000038", "E06000037"], enrolFor: ["E06000038"])
        let reading = try capture(a, authority: "E06000038", child: "Amy Nowak")
        let berkshire = try capture(a, authority: "E06000037", child: "Zofia Kowalczyk")
        let pushed = try sync(a, central.url)
        #expect(pushed.status == 0, "\(pushed.standardError)")
        #expect(count(pushed.json, "pushed") == 1 && count(pushed.json, "rejected") == 1, "\(pushed.standardOutput)")
        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 1)
        // A laptop the centre does not know is refused.
        let stranger = try laptop(world, "edt-laptop-c", enrolFor: nil)
        #expect(try sync(stranger, central.url).status == 1)

        let metrics = try get(metricsURL)
        #expect(metrics.status == 200)
        let text = metrics.body
        #expect(value(#"edt_syncs_total{result="ok"}"#, in: text) == 2, "\(text)")
        #expect(value(#"edt_syncs_total{result="refused"}"#, in: text) == 1)
        #expect(value(#"edt_syncs_total{result="failed"}"#, in: text) == 0)
        #expect(value("edt_records_in_total", in: text) == 1, "the Reading case, stored")
        #expect(value("edt_records_out_total", in: text) == 1, "sent to edt-laptop-b")
        #expect(value(#"edt_refusals_total{level="record",reason="forbidden"}"#, in: text) == 1)
        #expect(value(#"edt_refusals_total{level="request",reason="unknown-device"}"#, in: text) == 1)
        #expect(value(#"edt_refusals_total{level="request",reason="replayed-counter"}"#, in: text) == 0)
        #expect(value("edt_sync_duration_seconds_count", in: text) == 3, "each sync request timed")
        #expect(text.contains("# TYPE edt_sync_duration_seconds histogram"))
        #expect(text.contains(#"edt_sync_duration_seconds_bucket{le="+Inf"} 3"#))
        #expect((value(#"edt_storage_duration_seconds_count{operation="store"}"#, in: text) ?? 0) >= 1)
        for secret in [reading, berkshire, "Amy", "Nowak", "Zofia", "edt-laptop", "E06000038", "E06000037"] {
            #expect(!text.contains(secret), "\(secret): /metrics shows no case data, device nor authority")
        }
        // Not on the port laptops reach.
        #expect(try get(central.url + "/metrics").status == 404)

        // Another centre cannot take the same metrics address: it exits 3, having printed nothing
        // a script would take for ready. A malformed address is a usage error.
        let other = world.directory.appendingPathComponent("other.sqlite").path
        let taken = try edt.run(
            [
                "30", EDTProcess.binary.path, "central", "serve", "--db", other, "--listen", "127.0.0.1:0",
                "--metrics-listen", "127.0.0.1:\(try #require(central.metricsPort))",
            ], executable: URL(fileURLWithPath: "/usr/bin/timeout"))
        #expect(taken.status == 3, "\(taken.standardError)")
        #expect(taken.standardOutput.isEmpty && taken.standardError.contains("error:"), "\(taken.standardOutput)")
        let malformed = try edt.run(["central", "serve", "--db", other, "--metrics-listen", "loopback"])
        #expect(malformed.status == 2 && malformed.standardError.contains("--metrics-listen"))
    }

    // MARK: - Request ids

    @Test func eachRequestIsLoggedUnderItsIdAndTheAnswerEchoesIt() throws {
        let world = World()
        let central = try world.startCentral()
        let given = try get(central.url + SyncContract.healthPath, requestID: "ops-check.7")
        #expect(given.status == 200 && given.requestID == "ops-check.7", "echoed as given")
        let malformed = try get(central.url + SyncContract.healthPath, requestID: "not\"an:id")
        #expect(malformed.requestID?.count == 16 && malformed.requestID != "not\"an:id", "made up instead")
        let none = try get(central.url + SyncContract.healthPath)
        #expect(none.requestID?.count == 16)

        // A laptop's sync: the centre logs it under the id the laptop sent, `<16 hex>-1`.
        let a = try laptop(world, "edt-laptop-a")
        _ = try capture(a)
        #expect(try sync(a, central.url).status == 0)
        let logged = central.logText.split(separator: "\n").filter { $0.hasSuffix("[Central] sync") }
        #expect(logged.count == 1, "\(central.logText)")
        let id = try #require(logged.first?.split(separator: " ").first { $0.hasPrefix("request-id=") })
            .dropFirst("request-id=".count)
        #expect(id.count == 18 && id.hasSuffix("-1"), "\(id)")

        // A sync that fails names its request; the centre's log has it under that id.
        let stranger = try laptop(world, "edt-laptop-c", enrolFor: nil)
        let refused = try sync(stranger, central.url)
        #expect(refused.status == 1)
        let named = try #require(requestID(in: refused.standardError), "\(refused.standardError)")
        #expect(named.hasSuffix("-1") && SyncContract.isWellFormedRequestID(named), "\(refused.standardError)")
        let line = try #require(
            central.logText.split(separator: "\n").first { $0.contains("request-id=\(named)") }, "\(central.logText)")
        #expect(line.contains("sync refused") && line.contains("refusal=unknown-device"), "\(line)")
        #expect(
            !refused.standardError.contains("unknown-device"), "the laptop is told only that it is not authenticated")

        // A network that keeps failing: every attempt is a request of its own, the last named.
        central.terminate()
        let unreachable = try sync(a, central.url, ["--attempts", "2"])
        #expect(unreachable.status == 3)
        let last = try #require(requestID(in: unreachable.standardError), "\(unreachable.standardError)")
        #expect(last.hasSuffix("-2") && unreachable.standardError.contains("this sync's requests are"))
    }

    // MARK: - edt central devices

    @Test func centralDevicesShowsEachLaptopsLastSyncWhatItStillHoldsAndWhenItIsStale() throws {
        let world = World()
        let central = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a", serves: ["E06000038", "E06000037"], enrolFor: ["E06000038"])
        let lost = try laptop(world, "edt-laptop-lost")
        #expect(try edt.run(["central", "revoke", "--db", world.database.path, "--device", lost.device]).status == 0)
        let peerKey = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let peer = try edt.run([
            "central", "peer", "add", "--db", world.database.path, "--device", "central.hants1", "--public-key",
            peerKey, "--url", "http://127.0.0.1:9", "--authority", "E10000014",
        ])
        #expect(peer.status == 0, "\(peer.standardError)")
        func devices(_ extra: [String] = []) throws -> (json: [String: Any], byDevice: [String: [String: Any]]) {
            let listed = try edt.run(["central", "devices", "--db", world.database.path, "--json"] + extra)
            #expect(listed.status == 0, "\(listed.standardError)")
            let rows = listed.json["devices"] as? [[String: Any]] ?? []
            return (
                listed.json,
                Dictionary(
                    uniqueKeysWithValues: rows.compactMap { row in (row["device"] as? String).map { ($0, row) } })
            )
        }

        let before = try devices()
        #expect(before.json["staleAfterSeconds"] as? Int == 86_400, "24 hours by default")
        #expect(Instant(iso8601: before.json["asOf"] as? String ?? "") != nil)
        #expect(Array(before.byDevice.keys).sorted() == ["central.hants1", "edt-laptop-a", "edt-laptop-lost"])
        let never = try #require(before.byDevice["edt-laptop-a"])
        #expect(never["lastSync"] is NSNull && never["pending"] is NSNull, "never synced")
        #expect(never["stale"] as? Bool == true, "never synced counts as stale")
        #expect(never["peer"] as? Bool == false && never["revoked"] as? Bool == false)
        #expect(never["authorities"] as? [String] == ["E06000038"])
        #expect(before.byDevice["central.hants1"]?["peer"] as? Bool == true)
        #expect(before.byDevice["edt-laptop-lost"]?["revoked"] as? Bool == true)
        #expect(
            before.byDevice["edt-laptop-lost"]?["stale"] as? Bool == false, "a revoked laptop is not expected to sync")

        // Two referrals: the centre refuses West Berkshire's, which the laptop keeps, pending.
        _ = try capture(a, authority: "E06000038", child: "Amy Nowak")
        _ = try capture(a, authority: "E06000037", child: "Zofia Kowalczyk")
        let synced = try sync(a, central.url)
        #expect(synced.status == 0 && count(synced.json, "rejected") == 1, "\(synced.standardOutput)")
        let held = try edt.run(["referral", "list", "--store", a.store, "--pending", "--json"])
        let heldCount = (held.json["referrals"] as? [Any])?.count
        #expect(heldCount == 1)

        let after = try #require(try devices().byDevice["edt-laptop-a"])
        let lastSync = try #require(Instant(iso8601: after["lastSync"] as? String ?? ""), "\(after)")
        #expect(abs(lastSync.secondsSinceEpoch - Int64(Date().timeIntervalSince1970)) < 60)
        #expect(after["pending"] as? Int == heldCount, "what the laptop still holds, as it reported it")
        #expect(after["stale"] as? Bool == false)

        // A second later, a second is too long.
        Thread.sleep(forTimeInterval: 1.2)
        let strict = try devices(["--stale-after", "1s"])
        #expect(strict.json["staleAfterSeconds"] as? Int == 1)
        #expect(strict.byDevice["edt-laptop-a"]?["stale"] as? Bool == true)
        #expect(strict.byDevice["edt-laptop-a"]?["lastSync"] as? String == after["lastSync"] as? String)

        // For people: a table, and how many are stale.
        let table = try edt.run(["central", "devices", "--db", world.database.path])
        #expect(table.status == 0)
        #expect(table.standardOutput.hasPrefix("DEVICE"))
        for expected in ["edt-laptop-a", "laptop", "peer", "revoked", "E06000038", "1 of 3 device(s) stale"] {
            #expect(table.standardOutput.contains(expected), "\(expected): \(table.standardOutput)")
        }

        // Bad input: a clear usage error, exit 2.
        for bad in ["5x", "24", "0s", "-1h", "h", "3651d"] {
            let refused = try edt.run(["central", "devices", "--db", world.database.path, "--stale-after", bad])
            #expect(refused.status == 2, "\(bad): \(refused.standardError)")
            #expect(refused.standardError.contains("--stale-after"), "\(bad): \(refused.standardError)")
            #expect(refused.standardOutput.isEmpty)
        }
        let unit = try edt.run(["central", "devices", "--db", world.database.path, "--stale-after", "5x"])
        #expect(unit.standardError.contains("s, m, h or d"), "\(unit.standardError)")
        // A database that cannot be opened: exit 3.
        let missing = try edt.run(["central", "devices", "--db", "/nonexistent/edt/central.sqlite"])
        #expect(missing.status == 3, "\(missing.standardError)")
    }
}

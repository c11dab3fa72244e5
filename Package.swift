// swift-tools-version: 6.1
// The edt package: an offline-first sync core for out-of-hours children's social care.
// Layout and dependency rules: README.md, section "Architecture".
import PackageDescription

/// Settings applied to every target of ours, so the whole tree builds under the same rules.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "edt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edt", targets: ["edt"]),
        .executable(name: "edt-bench", targets: ["edt-bench"]),
        .library(name: "Replication", targets: ["Replication"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        // TLS for `edt central serve --tls-cert/--tls-key` (what HummingbirdTLS is built on).
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // MARK: - Core (pure Swift, no I/O)

        /// Version vectors, multi-value registers, entries, records, replicas and deltas.
        .target(
            name: "Replication",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        /// The EDT line protocol: streaming frame decoder, messages, encoder.
        .target(
            name: "LineProtocol",
            dependencies: ["Replication", "CXXHash", .product(name: "Crypto", package: "swift-crypto")]
        ),
        /// The referral record: schema, validation, document view, entries and their signatures.
        .target(
            name: "Referrals",
            dependencies: ["Replication", "LineProtocol", .product(name: "Crypto", package: "swift-crypto")]
        ),

        /// Calendars, bank holidays and (to come) deadlines, handover and the host/home state
        /// machine: pure logic, time passed in.
        .target(
            name: "Handover", dependencies: ["Referrals", "Replication", "LineProtocol"], exclude: ["Data/README.md"],
            resources: [
                .embedInCode("Data/authorities.csv"), .embedInCode("Data/bank-holidays.csv"),
                .embedInCode("Data/routing-rules.json"),
            ]
        ),

        // MARK: - I/O: storage and network

        /// The laptop's durable, encrypted replica store (SQLite through GRDB).
        .target(
            name: "ReplicaStore",
            dependencies: [
                "Replication", "LineProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),

        /// The libcurl transport and the client side of a sync session (on any ``SyncStore``).
        .target(name: "Uploader", dependencies: ["CCurl", "Replication", "LineProtocol"]),

        // MARK: - Application

        /// The laptop's application layer: capture, change, read, bundles and sync on the store,
        /// with the device's policies, an injected clock and signed entries.
        .target(
            name: "Laptop",
            dependencies: [
                "Replication", "LineProtocol", "Referrals", "Handover", "ReplicaStore", "Uploader",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        /// Forwarding between centrals: a peer centre synced through the uploader, on the
        /// centre's storage interface (`Central` never imports `Uploader`).
        .target(
            name: "PeerForwarding",
            dependencies: [
                "Central", "Uploader", "Replication", "LineProtocol", "Referrals",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        /// The central endpoint: the sync service, its storage, device enrolment, the HTTP server.
        .target(
            name: "Central",
            dependencies: [
                "Replication", "LineProtocol", "Referrals", "Handover",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                // The `X-Request-Id` header's name (RequestIDMiddleware).
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // Operations: counters and timers recorded through swift-metrics, exported by
                // `GET /metrics` from a Prometheus registry the server owns.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        /// The centre's storage on PostgreSQL (PostgresNIO), for several servers sharing one
        /// database: the same ``CentralStorage`` as the embedded SQLite backend.
        .target(
            name: "CentralPostgres",
            dependencies: [
                "Central", "Replication", "LineProtocol", "Referrals",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - System libraries

        /// libcurl (libcurl4-openssl-dev), with a shim for its variadic setopt/getinfo.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        /// xxHash (libxxhash-dev), for the line protocol's stream checksum.
        .systemLibrary(name: "CXXHash", providers: [.apt(["libxxhash-dev"])]),

        // MARK: - Programs

        /// The one command-line program that wires everything together.
        .executableTarget(
            name: "edt",
            dependencies: [
                "Replication", "LineProtocol", "Referrals", "Handover", "Laptop", "Uploader", "Central",
                "CentralPostgres", "PeerForwarding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - Tools

        /// Benchmarks: ratios against baselines measured in the same run. Not tests.
        .executableTarget(
            name: "edt-bench",
            dependencies: [
                "Replication", "LineProtocol", "Referrals", "Handover", "ReplicaStore", "Uploader", "Central", "Laptop",
                "CentralPostgres", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tools/edt-bench"
        ),

        /// Test helper: captures referrals in a loop, printing each id once durable.
        .executableTarget(
            name: "edt-capture-loop",
            dependencies: ["ReplicaStore", "Referrals", "Replication"],
            path: "Tools/edt-capture-loop"
        ),
        /// A loopback TCP proxy that injects network faults on a seeded schedule (tests, diagnosis).
        .executableTarget(
            name: "edt-faultproxy",
            dependencies: ["CXXHash", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/faultproxy"
        ),
        /// The libFuzzer target for the EDTLP decoder (Tools/fuzz builds it with the sanitizers).
        .executableTarget(
            name: "edt-fuzz-decoder",
            dependencies: [
                "LineProtocol", "Replication", "CFuzzerDriver", .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tools/fuzz-decoder"
        ),
        /// Declares libFuzzer's driver entry point for edt-fuzz-decoder.
        .target(name: "CFuzzerDriver", path: "Tools/fuzz-driver"),

        // MARK: - Tests

        /// Helpers shared by the test targets (seeded randomness, temporary directories).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "TestSupport"]),
        .testTarget(name: "ReferralsTests", dependencies: ["Referrals", "Replication", "LineProtocol"]),
        .testTarget(
            name: "ReplicaStoreTests",
            dependencies: [
                "ReplicaStore", "Replication", "Referrals", "LineProtocol", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                // To sign a centre's acceptances in purge tests.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "HandoverTests",
            dependencies: [
                "Handover", "Referrals", "Replication", "LineProtocol", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "LaptopTests",
            dependencies: [
                "Laptop", "Handover", "Referrals", "Replication", "LineProtocol", "Uploader", "Central", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                // A stand-in centre whose replies vouch for peer centres (FakeCentre.swift).
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "UploaderTests",
            dependencies: [
                "Uploader", "Replication", "LineProtocol", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "CentralTests",
            dependencies: [
                "Central", "CentralPostgres", "Replication", "LineProtocol", "Referrals", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                // To alter the audit log behind the centre's back, as an intruder would; the
                // X-Request-Id header's name, and a database of an earlier version made by hand.
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Replication", "LineProtocol", "TestSupport", "CXXHash",
                // To keep a handover package at the centre as the desk does, and to find the
                // last opening of an authority's office hours (handover tests run on today's clock).
                "Central", "Referrals", "Handover",
                .product(name: "Crypto", package: "swift-crypto"),
                // To alter a laptop store's file as a lost laptop's finder would.
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "LineProtocolTests",
            dependencies: [
                "LineProtocol", "Replication", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

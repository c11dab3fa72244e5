import CentralPostgres
import Testing

/// The PostgreSQL URL `--db` takes: what it names, what it refuses and says, and that a password
/// never shows.
@Suite("PostgreSQL addresses")
struct PostgresAddressTests {
    @Test func aFullURLNamesEachPartAndPrintsWithoutItsPassword() throws {
        let address = try PostgresAddress("postgres://edt:s%40cret@db.example:6543/central?sslmode=require")
        #expect(address.host == "db.example" && address.port == 6543)
        #expect(address.user == "edt" && address.password == "s@cret" && address.database == "central")
        #expect(address.requiresTLS)
        #expect(address.description == "postgres://edt@db.example:6543/central?sslmode=require")
        #expect(!address.description.contains("cret"))
    }

    @Test func thePortDefaultsAndThePasswordMayComeFromTheEnvironment() throws {
        let address = try PostgresAddress("postgresql://edt@127.0.0.1/edt", environment: ["PGPASSWORD": "from-env"])
        #expect(address.port == 5432 && address.password == "from-env" && !address.requiresTLS)
        #expect(try PostgresAddress("postgres://edt@127.0.0.1/edt", environment: [:]).password == nil)
    }

    @Test(arguments: [
        ("file.sqlite", "is not a postgres:// URL"),
        ("postgres:///edt", "names no host"),
        ("postgres://edt@127.0.0.1:5432", "names no database"),
        ("postgres://edt@127.0.0.1:5432/a/b", "names no database"),
        ("postgres://127.0.0.1:5432/edt", "names no user"),
        ("postgres://edt@127.0.0.1/edt?sslmode=prefer", "only sslmode=disable or sslmode=require"),
        ("postgres://edt@127.0.0.1/edt?timeout=3", "is not understood"),
    ])
    func aMalformedURLIsRefusedSayingWhy(_ text: String, _ reason: String) {
        #expect {
            try PostgresAddress(text, environment: [:])
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func aRefusedURLNeverShowsItsPassword() {
        #expect {
            try PostgresAddress("postgres://edt:hunter2@127.0.0.1:5432", environment: [:])
        } throws: { error in
            !"\(error)".contains("hunter2") && "\(error)".contains("edt:***@")
        }
    }
}

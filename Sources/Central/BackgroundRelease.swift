import Dispatch

/// Lets go of a large value on a background thread. Freeing the tens of thousands of small
/// objects behind an authority's package (its cases, the records they were read from) takes
/// tens of milliseconds on one core, which whoever waits for the package need not wait for: the
/// last reference is given up on another thread (and a command that exits first never pays it).
enum BackgroundRelease {
    /// Gives up `value` on a background thread. The caller passes its last reference
    /// (`BackgroundRelease.drop(consume records)`), so the memory is freed there.
    static func drop<Value: Sendable>(_ value: consuming Value) {
        let held = value
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(held) {} }
    }
}

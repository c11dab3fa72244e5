import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one whole child process cost, from `posix_spawn` to `wait4`: its wall time, its peak
/// resident memory and CPU (the child's own rusage), and where its stdout is.
struct ProcessRun {
    let seconds: Double
    /// The child's `ru_maxrss`: KiB on Linux.
    let peakKiB: Int
    /// User + system CPU seconds of the child.
    let cpuSeconds: Double
    /// What edt-bench held resident when it spawned the child. `posix_spawn` starts the child in
    /// edt-bench's memory (vfork), and Linux counts that memory's resident size at `exec` into
    /// the child's `ru_maxrss`: a floor under the peak, which is the child's own only above it.
    let inheritedKiB: Int
    /// The child's stdout, kept until the runner's next run.
    let outputFile: URL

    var peakMiB: Double { Double(peakKiB) / 1_024 }

    /// Whether ``peakKiB`` is the child's own: more than 1 MiB above what it inherited.
    var peakIsOwn: Bool { peakKiB > inheritedKiB + 1_024 }

    /// What the child printed on stdout (read now: the runner's next run overwrites it).
    func output() throws -> Data { try Data(contentsOf: outputFile) }
}

/// Spawns one executable (`edt`) with a fixed environment, its stdout and stderr sent to files in
/// a scratch folder, so that no pipe or reading thread of ours stands between the child and
/// its exit.
struct ProcessRunner {
    let executable: URL
    let environment: [String: String]
    /// Where each child's stdout and stderr are written (overwritten by the next run).
    let scratch: URL

    /// Runs `arguments` to the end and times it. Throws, with the command and its stderr,
    /// unless it exits 0.
    func run(_ arguments: [String]) throws -> ProcessRun {
        let output = scratch.appendingPathComponent("stdout")
        let errors = scratch.appendingPathComponent("stderr")
        let inherited = OwnMemory.resetPeak()
        let clock = ContinuousClock()
        let start = clock.now
        let child = try ChildProcess(
            executable: executable, arguments: arguments, environment: environment, output: output, errors: errors)
        let (exit, usage) = try child.wait()
        let elapsed = clock.now - start
        guard exit == .exited(0) else { throw failure(arguments, exit, errors: errors) }
        return ProcessRun(
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            peakKiB: Int(usage.ru_maxrss),
            cpuSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            inheritedKiB: inherited, outputFile: output)
    }

    /// Starts `arguments` in the background, its stdout and stderr both written to `log`.
    func start(_ arguments: [String], log: URL) throws -> ChildProcess {
        try ChildProcess(
            executable: executable, arguments: arguments, environment: environment, output: log, errors: log)
    }

    /// The failure of `arguments`, quoting its stderr.
    private func failure(_ arguments: [String], _ exit: ChildProcess.Exit, errors: URL) -> BenchFailure {
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return BenchFailure(
            "\(([executable.path] + arguments).joined(separator: " ")) failed (\(exit)); its stderr:\n\(text.suffix(4_000))"
        )
    }
}

/// A child process started with `posix_spawn` and reaped with `wait4` (so its own rusage is
/// read). Its stdin is /dev/null; its stdout and stderr are files.
final class ChildProcess {
    /// How a child ended.
    enum Exit: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    let pid: pid_t
    private var reaped = false

    init(
        executable: URL, arguments: [String], environment: [String: String], output: URL, errors: URL
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if errors == output {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, errors.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        // As a shell would start it: no signal blocked, SIGPIPE at its default.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable.path, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw BenchFailure("cannot start \(executable.path): \(String(cString: strerror(status)))")
        }
        self.pid = pid
    }

    deinit { terminate() }

    /// Waits for the child to exit; returns how it ended and its resource usage.
    func wait() throws -> (Exit, rusage) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else {
                throw BenchFailure("wait4(\(pid)) failed: \(String(cString: strerror(errno)))")
            }
        }
        reaped = true
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let exit: Exit = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
        return (exit, usage)
    }

    /// Whether the child is still running (reaping it if it has exited).
    var isRunning: Bool {
        guard !reaped else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
        return !reaped
    }

    /// Sends SIGTERM (if still running) and waits for the child to exit.
    func terminate() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        _ = try? wait()
    }
}

/// edt-bench's own resident memory, as it weighs on the peaks of the children it spawns.
enum OwnMemory {
    /// Resets this process's peak resident size to its current size (Linux's
    /// `/proc/self/clear_refs`, "5"), so that a child spawned next inherits only the current
    /// size, not an old peak; returns the current size in KiB (0 where it cannot be read).
    static func resetPeak() -> Int {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        if descriptor >= 0 {
            _ = write(descriptor, "5", 1)
            close(descriptor)
        }
        // statm: size, resident, ... in pages.
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let resident = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_024
    }

    /// Gives the heap's free memory back to the system (glibc's `malloc_trim`), after a large
    /// parse, so that edt-bench's resident size stays small.
    static func trim() {
        // Looked up, as the Glibc module does not import malloc.h.
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)(0)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The value of environment variable `name`, if set.
func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// `mkdir -p`, ignoring failures (the caller's next open reports them).
func makeDirectories(_ path: String) {
    var current = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        if !current.isEmpty && !current.hasSuffix("/") { current += "/" }
        current += component
        mkdir(current, 0o755)
    }
}

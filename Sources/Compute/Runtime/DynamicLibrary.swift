#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened with `dlopen`, for the optional libraries the package never links
/// against (CUDA's driver, NVRTC, CLBlast): a missing library is an ordinary "not here".
struct DynamicLibrary: @unchecked Sendable {
    /// The name or path that was opened.
    let path: String
    private let handle: UnsafeMutableRawPointer

    /// The first of `candidates` (names searched by the dynamic loader, or paths) that opens.
    init?(firstOf candidates: [String]) {
        for candidate in candidates {
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_LOCAL) {
                self.handle = handle
                path = candidate
                return
            }
        }
        return nil
    }

    /// The symbol `name` as the C function type `T`, or nil when the library lacks it.
    func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }
}

/// Paths matching the shell `pattern` (`*` and `?`), sorted; none when nothing matches.
func globPaths(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}

import KernelSources

/// The text a runtime compiles for one build of a kernel family: the runtime's own preludes, the
/// family's preludes, then the family, each piece behind a `#line 1 "Kernels/<file>.cl"` so that
/// compiler messages name the file and line the code was written in; and the defines, passed as
/// compiler options.
public struct ProgramText: Sendable, Hashable {
    /// One source file: its name (`Kernels/<name>.cl`) and its text.
    public struct Piece: Sendable, Hashable {
        public var name: String
        public var text: String

        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    /// The build's name, e.g. "matmul-narrow": names the program in caches and errors.
    public var buildName: String
    /// The sources in order.
    public var pieces: [Piece]
    /// `NAME → value`, every tuning knob of the build.
    public var defines: [String: String]
    /// Whether the float operations must round individually (no contraction, correctly rounded
    /// division and square root), as the Philox prelude's float maps need.
    public var exactFloatMath: Bool

    public init(buildName: String, pieces: [Piece], defines: [String: String], exactFloatMath: Bool) {
        self.buildName = buildName
        self.pieces = pieces
        self.defines = defines
        self.exactFloatMath = exactFloatMath
    }

    /// The pieces joined, with a `#line` before each, after `runtimePreludes` (embedded files).
    public func source(runtimePreludes: [String]) -> String {
        let preludes = runtimePreludes.map { Piece(name: $0, text: embeddedKernelFile($0)) }
        return (preludes + pieces).map { "#line 1 \"Kernels/\($0.name).cl\"\n\($0.text)\n" }.joined()
    }

    /// The defines as `-D NAME=VALUE` options, sorted so that equal builds compare equal.
    public var defineOptions: [String] {
        defines.sorted { $0.key < $1.key }.map { "-D \($0.key)=\($0.value)" }
    }
}

/// The text of embedded `Kernels/<name>.cl`.
func embeddedKernelFile(_ name: String) -> String {
    guard let text = fathom_kernel_source(name) else {
        preconditionFailure("no embedded kernel file Kernels/\(name).cl")
    }
    return String(cString: text)
}

/// Names of every embedded `Kernels/*.cl` file (families and preludes).
public func embeddedKernelFileNames() -> [String] {
    (0..<fathom_kernel_file_count()).compactMap { fathom_kernel_file_name($0).map { String(cString: $0) } }
}

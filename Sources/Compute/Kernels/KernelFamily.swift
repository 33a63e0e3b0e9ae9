/// A tuning knob of a kernel family: a macro the family's `.cl` file reads, always passed to the
/// compiler as `-D NAME=VALUE` with this default unless a tuning table or `--kernel-define`
/// overrides it. The `.cl` file's `#ifndef` guard only lets the file compile alone.
public struct TuningKnob: Sendable, Hashable {
    /// What a value must satisfy on its own.
    public enum Constraint: Sendable, Hashable {
        /// At least 1.
        case positive
        /// A power of two (tree reductions halve the group).
        case powerOfTwo
        /// 0 or more (0 usually means "chosen by the host").
        case nonNegative
    }

    /// The macro name, e.g. "TILE_M".
    public let name: String
    /// The value every build gets unless overridden.
    public let defaultValue: Int
    public let constraint: Constraint
    /// One line for `--help`-style listings.
    public let summary: String

    public init(_ name: String, _ defaultValue: Int, _ constraint: Constraint = .positive, _ summary: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.constraint = constraint
        self.summary = summary
    }

    /// Nil when `value` fits, else why not.
    func problem(with value: Int) -> String? {
        switch constraint {
        case .positive: return value >= 1 ? nil : "must be a positive integer"
        case .powerOfTwo: return value >= 1 && value & (value - 1) == 0 ? nil : "must be a power of two"
        case .nonNegative: return value >= 0 ? nil : "must be 0 or more"
        }
    }
}

/// One kernel family as the registry declares it: its source `Kernels/<name>.cl`, the preludes
/// placed before it, its entry points and its tuning knobs with their constraints.
///
/// Adding a family means: its `.cl` file, its CPU implementation (`CPUDevice+<Family>.swift`),
/// its declaration and launches (`Sources/Compute/Kernels/<Family>.swift`), a line in
/// `KernelRegistry.families`, a test and a `bench kernels` case.
public struct KernelFamily: Sendable {
    /// The family, and the name of its `.cl` file.
    public let name: String
    /// Shared sources placed before the family, in order (e.g. `philox`).
    public let preludes: [String]
    /// The `__kernel` functions of the file.
    public let functions: [String]
    /// Every macro the host may set.
    public let knobs: [TuningKnob]
    /// Differently tuned builds of the same source besides the one named like the family
    /// (e.g. `matmul-narrow`).
    public let extraBuilds: [String]
    /// Constraints between knobs (divisibility, local memory): nil when the values fit.
    let check: @Sendable ([String: Int]) -> String?

    init(name: String, preludes: [String] = [], functions: [String], knobs: [TuningKnob] = [],
         extraBuilds: [String] = [], check: @escaping @Sendable ([String: Int]) -> String? = { _ in nil }) {
        self.name = name
        self.preludes = preludes
        self.functions = functions
        self.knobs = knobs
        self.extraBuilds = extraBuilds
        self.check = check
    }

    /// Whether the family's float operations must round one by one: the Philox prelude's maps
    /// to uniforms and normals are bit-identical across devices only then.
    public var exactFloatMath: Bool { preludes.contains("philox") }

    /// The knob defaults.
    public var defaults: [String: Int] {
        Dictionary(uniqueKeysWithValues: knobs.map { ($0.name, $0.defaultValue) })
    }

    /// The program text of one build with `values` for the knobs.
    func program(build: String, values: [String: Int]) -> ProgramText {
        let pieces = (preludes + [name]).map { ProgramText.Piece(name: $0, text: embeddedKernelFile($0)) }
        return ProgramText(buildName: build, pieces: pieces, defines: values.mapValues(String.init),
                           exactFloatMath: exactFloatMath)
    }
}

/// A build: a family compiled with one set of knob values, addressed by name.
public struct KernelBuild: Sendable {
    /// "matmul", "matmul-narrow", …
    public let name: String
    public let family: KernelFamily
}

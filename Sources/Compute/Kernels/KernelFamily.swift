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

/// A compile-time code path of a kernel family that the launch chooses, not tuning: every build
/// is compiled once per specialisation of its family, with the specialisation's defines beside
/// its knobs (matmul's four transpose layouts, so that its load loops carry no layout branches).
public struct KernelSpecialization: Sendable, Hashable {
    /// A short name, e.g. "tn"; empty for a family without specialisations.
    public let name: String
    /// `NAME → value` passed to the compiler with the knobs.
    public let defines: [String: Int]

    public init(name: String, defines: [String: Int]) {
        self.name = name
        self.defines = defines
    }

    /// The one specialisation of a family that has none.
    public static let none = KernelSpecialization(name: "", defines: [:])
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
    /// The code paths each build is compiled for (`[.none]` for most families).
    public let specializations: [KernelSpecialization]
    /// Constraints between knobs (divisibility, local memory): nil when the values fit.
    let check: @Sendable ([String: Int]) -> String?

    init(name: String, preludes: [String] = [], functions: [String], knobs: [TuningKnob] = [],
         extraBuilds: [String] = [], specializations: [KernelSpecialization] = [.none],
         check: @escaping @Sendable ([String: Int]) -> String? = { _ in nil }) {
        precondition(!specializations.isEmpty, "a family needs at least one specialisation")
        self.name = name
        self.preludes = preludes
        self.functions = functions
        self.knobs = knobs
        self.extraBuilds = extraBuilds
        self.specializations = specializations
        self.check = check
    }

    /// Whether the family's float operations must round one by one: the Philox prelude's maps
    /// to uniforms and normals are bit-identical across devices only then.
    public var exactFloatMath: Bool { preludes.contains("philox") }

    /// The knob defaults.
    public var defaults: [String: Int] {
        Dictionary(uniqueKeysWithValues: knobs.map { ($0.name, $0.defaultValue) })
    }

    /// The program text of one build with `values` for the knobs, compiled for `specialization`
    /// (nil: the family's first; named `build/specialization` in caches and errors).
    func program(build: String, values: [String: Int], specialization: KernelSpecialization? = nil) -> ProgramText {
        let specialization = specialization ?? specializations[0]
        precondition(specializations.contains(specialization), "\(name) has no specialisation '\(specialization.name)'")
        let pieces = (preludes + [name]).map { ProgramText.Piece(name: $0, text: embeddedKernelFile($0)) }
        let defines = values.merging(specialization.defines) { _, fixed in fixed }
        return ProgramText(buildName: specialization.name.isEmpty ? build : build + "/" + specialization.name,
                           pieces: pieces, defines: defines.mapValues(String.init), exactFloatMath: exactFloatMath)
    }
}

/// A build: a family compiled with one set of knob values, addressed by name.
public struct KernelBuild: Sendable {
    /// "matmul", "matmul-narrow", …
    public let name: String
    public let family: KernelFamily
}

/// A build compiled for one specialisation of its family: one program on the device.
public struct KernelProgram: Sendable {
    public let build: KernelBuild
    public let specialization: KernelSpecialization

    /// "matmul/tn", or the build's name for a family without specialisations.
    public var name: String {
        specialization.name.isEmpty ? build.name : build.name + "/" + specialization.name
    }
}

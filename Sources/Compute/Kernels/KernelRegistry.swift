/// Every kernel family, prelude and build: the one place that says what exists. Tests, `bench
/// kernels` and `bench compile` enumerate it; tuning overrides are validated against it.
public enum KernelRegistry {
    /// The families, each with its own `Kernels/<name>.cl`.
    public static let families: [KernelFamily] = [
        .matmul, .elementwise, .reduce, .loss, .conv, .pool, .optim, .random, .clip, .sign, .zo,
    ]

    /// Shared sources that families include (`KernelFamily.preludes`) or that a runtime prepends
    /// (`cuda_compat` on CUDA).
    public static let preludes = ["philox", "cuda_compat"]

    /// Every build: one per family, named like it, plus each family's extra builds.
    public static let builds: [KernelBuild] = families.flatMap { family in
        ([family.name] + family.extraBuilds).map { KernelBuild(name: $0, family: family) }
    }

    /// Every program a device compiles: each build once per specialisation of its family.
    public static let programs: [KernelProgram] = builds.flatMap { build in
        build.family.specializations.map { KernelProgram(build: build, specialization: $0) }
    }

    /// The build called `name`, if any.
    public static func build(named name: String) -> KernelBuild? {
        builds.first { $0.name == name }
    }

    /// The knob values of every build: the declared defaults with `tuning` (build → knob →
    /// value) over them.
    /// - Throws: `ComputeError.invalidTuning` for an unknown build or knob, a value that is not an
    ///   integer, or values that break a declared constraint.
    public static func resolve(_ tuning: KernelDefines) throws(ComputeError) -> [String: [String: Int]] {
        for name in tuning.keys where build(named: name) == nil {
            throw ComputeError.invalidTuning(
                "no kernel build '\(name)' (builds: \(builds.map(\.name).joined(separator: ", ")))")
        }
        var resolved: [String: [String: Int]] = [:]
        for build in builds {
            var values = build.family.defaults
            for (knob, text) in tuning[build.name] ?? [:] {
                guard let declared = build.family.knobs.first(where: { $0.name == knob }) else {
                    let known = build.family.knobs.map(\.name)
                    throw ComputeError.invalidTuning("\(build.name) has no knob \(knob) ("
                        + (known.isEmpty ? "it has none" : "knobs: " + known.joined(separator: ", ")) + ")")
                }
                guard let value = Int(text) else {
                    throw ComputeError.invalidTuning("\(build.name) \(knob)=\(text) must be an integer")
                }
                if let problem = declared.problem(with: value) {
                    throw ComputeError.invalidTuning("\(build.name) \(knob)=\(value) \(problem)")
                }
                values[knob] = value
            }
            if let problem = build.family.check(values) {
                throw ComputeError.invalidTuning("\(build.name): \(problem)")
            }
            resolved[build.name] = values
        }
        return resolved
    }
}

import Philox

extension KernelFamily {
    /// `Kernels/zo.cl`: zeroth-order directions regenerated from Philox (Gaussian, sphere,
    /// Rademacher, coordinate), perturbations, the fused restore-and-update, projected derivatives
    /// from function values, the projected ZO-SGD / ZO-signSGD / ZO-AdaMM steps, and the
    /// black-box attack objective.
    public static let zo = KernelFamily(
        name: "zo", preludes: ["philox"],
        functions: ["zo_inverse_norms", "zo_perturb", "zo_combine", "zo_coefficients", "zo_projected_step",
                    "attack_objective", "attack_track", "attack_broadcast"],
        knobs: [TuningKnob("ZO_GROUP", 256, .powerOfTwo,
                           "work-items of a direction-norm reduction (the CPU reference reduces as 256 do: other values change the last bits of sphere norms)")])
}

extension KernelDevice {
    private func directionArguments(_ set: DirectionSet) -> [KernelArgument] {
        let seed = PhiloxKey(seed: set.stepSeed).seedWords
        return [.int(Int(set.distribution.rawValue)), .uint(seed.low), .uint(seed.high), .uint(set.tensorBase),
                .uint(set.firstDirection)]
    }

    /// Groups over a direction's quads of four elements.
    private func quadGroups(_ set: DirectionSet) -> Int {
        ((set.dimension + 3) / 4 + elementwiseGroup - 1) / elementwiseGroup
    }

    public func zoInverseNorms(_ set: DirectionSet, into out: BufferSlice) throws {
        set.checkScalars(out, "inverse norms")
        let seed = PhiloxKey(seed: set.stepSeed).seedWords
        try launch("zo", "zo_inverse_norms", groups: [set.problems * set.directions], groupSize: [knob("zo", "ZO_GROUP")],
                   [.int(set.dimension), .int(set.directions), .uint(seed.low), .uint(seed.high), .uint(set.tensorBase),
                    .uint(set.firstDirection), .slice(out)])
    }

    public func zoPerturb(_ set: DirectionSet, source: BufferSlice, sourceProblemStride: Int, destination: BufferSlice,
                          destinationProblemStride: Int, destinationDirectionStride: Int, inverseNorms: BufferSlice?,
                          scale: Float) throws {
        set.checkPerturb(source: source, sourceProblemStride: sourceProblemStride, destination: destination,
                         destinationProblemStride: destinationProblemStride,
                         destinationDirectionStride: destinationDirectionStride, inverseNorms: inverseNorms)
        try launch("zo", "zo_perturb", groups: [quadGroups(set), set.directions, set.problems],
                   groupSize: [elementwiseGroup, 1, 1],
                   [.int(set.dimension), .int(set.directions), .int(set.problems), .slice(destination),
                    .int(destinationProblemStride), .int(destinationDirectionStride), .slice(source),
                    .int(sourceProblemStride)] + directionArguments(set)
                    + [.slice(inverseNorms ?? destination), .flag(set.distribution.isNormalised), .float(scale)])
    }

    public func zoCombine(_ set: DirectionSet, coefficients: BufferSlice, inverseNorms: BufferSlice?, decay: Float,
                          accumulate: Bool, into out: BufferSlice) throws {
        set.checkCombine(coefficients: coefficients, inverseNorms: inverseNorms, out: out)
        try launch("zo", "zo_combine", groups: [quadGroups(set), set.problems], groupSize: [elementwiseGroup, 1],
                   [.int(set.dimension), .int(set.directions), .int(set.problems), .slice(out)] + directionArguments(set)
                    + [.slice(inverseNorms ?? coefficients), .flag(set.distribution.isNormalised), .slice(coefficients),
                       .float(decay), .flag(accumulate)])
    }

    public func zoCoefficients(_ values: BufferSlice, layout: DifferenceLayout, factor: Float, restore: Float,
                               weight: Float, sign: Bool, gradients: BufferSlice, coefficients: BufferSlice) throws {
        layout.checkOperands(values: values, gradients: gradients, coefficients: coefficients)
        try launch("zo", "zo_coefficients", groups: [(layout.directions + 63) / 64, layout.problems], groupSize: [64, 1],
                   [.int(layout.directions), .int(layout.problems), .slice(values), .int(layout.stride),
                    .flag(layout.central), .float(factor), .float(restore), .float(weight), .flag(sign),
                    .slice(gradients), .slice(coefficients)])
    }

    public func zoProjectedStep(_ step: ZOProjectedStep, x: BufferSlice, g: BufferSlice, m: BufferSlice, v: BufferSlice,
                                vhat: BufferSlice, bounds: (lower: BufferSlice, upper: BufferSlice)?) throws {
        checkProjectedStep(step, x: x, g: g, m: m, v: v, vhat: vhat, bounds: bounds)
        try launchLinear("zo", "zo_projected_step", count: x.count,
                         [.int(x.count), .int(Int(step.method.rawValue)), .float(step.rate), .float(step.beta1),
                          .float(step.beta2), .slice(x), .slice(g), .slice(m), .slice(v), .slice(vhat),
                          .flag(bounds != nil), .slice(bounds?.lower ?? x), .slice(bounds?.upper ?? x)])
    }

    public func attackObjective(logits: BufferSlice, labels: BufferSlice, points: BufferSlice, originals: BufferSlice,
                                rows: Int, dimension: Int, classes: Int, rowsPerProblem: Int, weight: Float,
                                kappa: Float, values: BufferSlice, margins: BufferSlice,
                                distortions: BufferSlice) throws {
        checkAttackObjective(logits: logits, labels: labels, points: points, originals: originals, rows: rows,
                             dimension: dimension, classes: classes, rowsPerProblem: rowsPerProblem, values: values,
                             margins: margins, distortions: distortions)
        try launchLinear("zo", "attack_objective", count: rows,
                         [.int(rows), .int(dimension), .int(classes), .int(rowsPerProblem), .slice(logits),
                          .int32s(labels), .slice(points), .slice(originals), .float(weight), .float(kappa),
                          .slice(values), .slice(margins), .slice(distortions)])
    }

    public func attackTrack(problems: Int, rowsPerProblem: Int, iteration: Int, margins: BufferSlice,
                            distortions: BufferSlice, firstIteration: BufferSlice, firstDistortion: BufferSlice) throws {
        checkAttackTrack(problems: problems, rowsPerProblem: rowsPerProblem, margins: margins, distortions: distortions,
                         firstIteration: firstIteration, firstDistortion: firstDistortion)
        try launchLinear("zo", "attack_track", count: problems,
                         [.int(problems), .int(rowsPerProblem), .int(iteration), .slice(margins), .slice(distortions),
                          .slice(firstIteration), .slice(firstDistortion)])
    }

    public func attackBroadcast(images: BufferSlice, count: Int, deltas: BufferSlice, candidates: Int, dimension: Int,
                                lower: BufferSlice, upper: BufferSlice, into out: BufferSlice) throws {
        checkBroadcast(images: images, count: count, deltas: deltas, candidates: candidates, dimension: dimension,
                       lower: lower, upper: upper, out: out)
        try launch("zo", "attack_broadcast", groups: [(dimension + 63) / 64, candidates, count],
                   groupSize: [64, 1, 1],
                   [.int(dimension), .int(candidates), .int(count), .slice(images), .slice(deltas), .slice(lower),
                    .slice(upper), .slice(out)])
    }
}

import Compute
import Philox
import Testing

/// The zeroth-order kernels (`Kernels/zo.cl`) on every device against the host reference
/// (`DirectionSet.value`) and by hand.
@Suite("zo: directions, perturbations, combinations, projected steps, attack objective")
struct ZOTests {
    static let lengths = [0, 1, 3, 4, 5, 127, 128, 129, 1021]

    @Test("known answers: direction 0 of tensor 0 is Philox4x32-10 of counter 0 under Box–Muller (zo.md §11, §12)")
    func knownAnswers() throws {
        let zero = DirectionSet(.gaussian, stepSeed: 0, dimension: 4)
        let words = zero.key(problem: 0, direction: 0).block(0)
        #expect(words == (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        let expected: [(UInt64, [Float])] = [(0, [-0.924662, 0.991138, -0.482069, -0.617609]),
                                             (42, [0.194019, -0.970190, 1.923927, -1.235621])]
        for (seed, values) in expected {
            let set = DirectionSet(.gaussian, stepSeed: seed, dimension: 4)
            let host = (0..<4).map { set.value(problem: 0, direction: 0, index: $0) }
            expectClose(host, values, atol: 1e-5, "host step seed \(seed)")
            for device in Devices.all {
                let zeros = try device.upload([Float](repeating: 0, count: 4))
                try device.zoPerturb(set, source: zeros.whole, sourceProblemStride: 0, destination: zeros.whole,
                                     destinationProblemStride: 0, destinationDirectionStride: 0, inverseNorms: nil,
                                     scale: 1)
                #expect(try device.download(zeros.whole) == host, "\(device.kind) step seed \(seed)")
            }
        }
    }

    @Test("Rademacher directions are ±1 from 32 bits a word; coordinate directions are unit vectors")
    func discreteDirections() {
        let set = DirectionSet(.rademacher, stepSeed: 5, dimension: 4096)
        let values = (0..<4096).map { set.value(problem: 0, direction: 0, index: $0) }
        #expect(values.allSatisfy { $0 == 1 || $0 == -1 })
        let word = set.key(problem: 0, direction: 0).block(0).1
        for bit in 0..<32 { #expect(values[32 + bit] == ((word >> UInt32(bit)) & 1 == 1 ? -1 : 1)) }
        // 4096 fair signs: the sum's standard deviation is 64.
        #expect(abs(values.reduce(0, +)) < 4 * 64)
        for distribution in [DirectionDistribution.randomCoordinate, .cyclicCoordinate] {
            let coordinate = DirectionSet(distribution, stepSeed: 5, dimension: 37, directions: 40)
            for j in 0..<40 {
                let e = (0..<37).map { coordinate.value(problem: 0, direction: j, index: $0) }
                #expect(e.reduce(0, +) == 1 && e.allSatisfy { $0 == 0 || $0 == 1 })
                if distribution == .cyclicCoordinate { #expect(e[j % 37] == 1) }
            }
        }
    }

    @Test("points around several centres equal the host reference, bit for bit on every device", arguments: lengths)
    func perturbPoints(_ n: Int) throws {
        let problems = 2, q = 3
        let centres = randomValues(problems * n, seed: 71)
        for distribution in DirectionDistribution.allCases {
            let set = DirectionSet(distribution, stepSeed: 99, dimension: n, problems: problems, directions: q,
                                   tensorBase: 4, firstDirection: 7)
            var reference: [Float]?
            for device in Devices.all {
                let source = try device.upload(centres)
                let points = try device.makeBuffer(count: max(problems * (q + 1) * n, 1))
                try device.fill(points.whole, with: -7)
                let norms = try device.makeBuffer(count: problems * q)
                if distribution.isNormalised { try device.zoInverseNorms(set, into: norms.whole) }
                // Row 0 of each problem is its centre (scale 0 copies), rows 1…q the points.
                try device.zoPerturb(DirectionSet(distribution, stepSeed: 99, dimension: n, problems: problems),
                                     source: source.whole, sourceProblemStride: n, destination: points.whole,
                                     destinationProblemStride: (q + 1) * n, destinationDirectionStride: 0,
                                     inverseNorms: norms.whole, scale: 0)
                try device.zoPerturb(set, source: source.whole, sourceProblemStride: n,
                                     destination: points.slice(n, max(problems * (q + 1) * n - n, 0)),
                                     destinationProblemStride: (q + 1) * n, destinationDirectionStride: n,
                                     inverseNorms: distribution.isNormalised ? norms.whole : nil, scale: 0.5)
                let got = try device.download(points.whole)
                if let reference {
                    #expect(got == reference, "\(distribution) n=\(n) on \(device.kind)")
                    continue
                }
                reference = got
                var expected = [Float](repeating: -7, count: max(problems * (q + 1) * n, 1))
                for b in 0..<problems {
                    let hostNorm: (Int) -> Double = { j in
                        (0..<n).reduce(0.0) { $0 + square(set.value(problem: b, direction: j, index: $1)) }
                            .squareRoot()
                    }
                    for i in 0..<n { expected[b * (q + 1) * n + i] = centres[b * n + i] }
                    for j in 0..<q {
                        let c = distribution.isNormalised ? 1 / hostNorm(j) : 1
                        for i in 0..<n {
                            expected[(b * (q + 1) + 1 + j) * n + i] = Float(
                                Double(centres[b * n + i])
                                    + 0.5 * c * Double(set.value(problem: b, direction: j, index: i)))
                        }
                    }
                }
                expectClose(got, expected, atol: 1e-6, rtol: 1e-5, "\(distribution) n=\(n) host reference")
            }
        }
    }

    @Test("inverse norms: a fixed-order reduction, the same floats on every device, 1/‖z‖ to float precision")
    func inverseNorms() throws {
        for n in [1, 5, 1021, 70_001] {
            let set = DirectionSet(.sphere, stepSeed: 3, dimension: n, problems: 2, directions: 3)
            var reference: [Float]?
            for device in Devices.all {
                let out = try device.makeBuffer(count: 6)
                try device.zoInverseNorms(set, into: out.whole)
                let got = try device.download(out.whole)
                if let reference { #expect(got == reference, "n=\(n) on \(device.kind)") } else { reference = got }
            }
            let expected = (0..<6).map { g -> Float in
                let sum = (0..<n).reduce(0.0) { $0 + square(set.value(problem: g / 3, direction: g % 3, index: $1)) }
                return Float(1 / sum.squareRoot())
            }
            expectClose(reference ?? [], expected, atol: 0, rtol: 2e-6, "n=\(n)")
        }
    }

    @Test("combinations regenerate each direction: Σ_j coef_j·z_j, decayed accumulation, identical on every device",
          arguments: lengths)
    func combine(_ n: Int) throws {
        let problems = 2, q = 4
        let coefficients: [Float] = [0.5, -1, 0.25, 2, -0.75, 1.5, 0.125, -2]
        let start = randomValues(problems * n, seed: 72)
        for distribution in [DirectionDistribution.gaussian, .sphere, .rademacher, .randomCoordinate] {
            let set = DirectionSet(distribution, stepSeed: 11, dimension: n, problems: problems, directions: q)
            var reference: [Float]?
            for device in Devices.all {
                let out = try device.upload(start)
                let norms = try device.makeBuffer(count: problems * q)
                if distribution.isNormalised { try device.zoInverseNorms(set, into: norms.whole) }
                try device.zoCombine(set, coefficients: try device.upload(coefficients).whole,
                                     inverseNorms: distribution.isNormalised ? norms.whole : nil, decay: 0.9,
                                     accumulate: true, into: out.whole)
                let got = try device.download(out.whole)
                if let reference {
                    #expect(got == reference, "\(distribution) n=\(n) on \(device.kind)")
                    continue
                }
                reference = got
                let inverse = try device.download(norms.whole)
                var expected = start.map { 0.9 * $0 }
                for b in 0..<problems {
                    for j in 0..<q {
                        let c = coefficients[b * q + j] * (distribution.isNormalised ? inverse[b * q + j] : 1)
                        for i in 0..<n { expected[b * n + i] += c * set.value(problem: b, direction: j, index: i) }
                    }
                }
                expectClose(got, expected, atol: 1e-5, rtol: 1e-5, "\(distribution) n=\(n) host reference")
            }
        }
    }

    @Test("perturb +μ, −2μ, +μ restores θ to within rounding: |Δθ| ≤ 2 ulp(|θ| + 2μ|z|)")
    func roundTrip() throws {
        let n = 4099, mu: Float = 1e-3
        let theta = randomValues(n, seed: 73)
        let set = DirectionSet(.gaussian, stepSeed: 12, dimension: n)
        for device in Devices.all {
            let x = try device.upload(theta)
            for scale in [mu, -2 * mu, mu] {
                try device.zoPerturb(set, source: x.whole, sourceProblemStride: 0, destination: x.whole,
                                     destinationProblemStride: 0, destinationDirectionStride: 0, inverseNorms: nil,
                                     scale: scale)
            }
            let back = try device.download(x.whole)
            var worst: Float = 0
            for i in 0..<n {
                let bound = 2 * (abs(theta[i]) + 2 * mu * abs(set.value(problem: 0, direction: 0, index: i))).ulp
                worst = max(worst, abs(back[i] - theta[i]) / bound)
            }
            #expect(worst <= 1, "\(device.kind): drift \(worst) of the bound")
        }
    }

    @Test("directional derivatives from forward and central differences, with the fused restore coefficient")
    func coefficients() throws {
        for device in Devices.all {
            // Forward: two problems, q = 2, values [f0, f1, f2] three apart.
            let forward = try device.upload([1, 3, 0, 10, 9, 14] as [Float])
            let g = try device.makeBuffer(count: 4), c = try device.makeBuffer(count: 4)
            try device.zoCoefficients(forward.whole, layout: DifferenceLayout(directions: 2, problems: 2, central: false),
                                      factor: 0.5, restore: -0.1, weight: -2, sign: false,
                                      gradients: g.whole, coefficients: c.whole)
            #expect(try device.download(g.whole) == [1, -0.5, -0.5, 2])
            #expect(try device.download(c.whole) == [-2, 1 - 0.1, 1, -4 - 0.1])
            // Central, one problem, q = 2: [f+1, f−1, f+2, f−2], signs.
            let central = try device.upload([2, 1, 1, 3] as [Float])
            try device.zoCoefficients(central.whole, layout: DifferenceLayout(directions: 2, central: true),
                                      factor: 1, restore: 0.5, weight: -1, sign: true,
                                      gradients: g.slice(0, 2), coefficients: c.slice(0, 2))
            #expect(try device.download(g.slice(0, 2)) == [1, -2])
            #expect(try device.download(c.slice(0, 2)) == [-1, 1.5])
        }
    }

    @Test("projected steps: ZO-SGD, ZO-signSGD and ZO-AdaMM (v̂ from 1e-7, no ε) against a host reference, clipped to the box",
          arguments: [ZOProjectedStep.Method.sgd, .sign, .adamm])
    func projectedStep(_ method: ZOProjectedStep.Method) throws {
        let n = 257
        let x0 = randomValues(n, seed: 74), grads = (0..<3).map { randomValues(n, seed: 75 + UInt64($0)) }
        let lower = [Float](repeating: -0.5, count: n), upper = [Float](repeating: 0.6, count: n)
        let step = ZOProjectedStep(method, rate: 0.05, beta1: 0.9, beta2: 0.3)
        var x = x0.map(Double.init), m = [Double](repeating: 0, count: n)
        var v = [Double](repeating: 1e-7, count: n), vhat = v
        for g in grads {
            for i in 0..<n {
                let gi = Double(g[i])
                var delta = gi
                if method == .sign { delta = gi > 0 ? 1 : (gi < 0 ? -1 : 0) }
                if method == .adamm {
                    m[i] = 0.9 * m[i] + 0.1 * gi
                    v[i] = 0.3 * v[i] + 0.7 * gi * gi
                    vhat[i] = max(vhat[i], v[i])
                    delta = m[i] / vhat[i].squareRoot()
                }
                x[i] = min(max(x[i] - 0.05 * delta, -0.5), 0.6)
            }
        }
        var reference: [Float]?
        for device in Devices.all {
            let xs = try device.upload(x0), state = try device.upload([Float](repeating: 0, count: n)),
                second = try device.upload([Float](repeating: 1e-7, count: n)),
                maxSecond = try device.upload([Float](repeating: 1e-7, count: n))
            let bounds = (try device.upload(lower).whole, try device.upload(upper).whole)
            for g in grads {
                try device.zoProjectedStep(step, x: xs.whole, g: try device.upload(g).whole, m: state.whole,
                                           v: second.whole, vhat: maxSecond.whole, bounds: bounds)
            }
            let got = try device.download(xs.whole)
            if let reference { #expect(got == reference, "\(method) on \(device.kind)") } else { reference = got }
            #expect(got.allSatisfy { $0 >= -0.5 && $0 <= 0.6 })
            expectClose(got, x.map { Float($0) }, atol: 2e-5, rtol: 1e-4, "\(method) on \(device.kind)")
        }
    }

    @Test("attack objective: margin z_t − max_{j≠t} z_j, distortion, hinge at −κ; first successes are tracked")
    func attackObjective() throws {
        // Two problems of d = 2 with two rows each, three classes.
        let logits: [Float] = [3, 1, 2, /**/ 1, 4, 0, /**/ 0, 0, 5, /**/ 2, 1, 7]
        let points: [Float] = [0, 0, 1, 1, 2, 2, 3, 5]
        let originals: [Float] = [0, 1, 2, 3]
        for device in Devices.all {
            let labels = try device.uploadIndices([0, 2], below: 3)
            let values = try device.makeBuffer(count: 4), margins = try device.makeBuffer(count: 4),
                distortions = try device.makeBuffer(count: 4)
            try device.attackObjective(logits: try device.upload(logits).whole, labels: labels.whole,
                                       points: try device.upload(points).whole,
                                       originals: try device.upload(originals).whole, rows: 4, dimension: 2,
                                       classes: 3, rowsPerProblem: 2, weight: 10, kappa: 0.5, values: values.whole,
                                       margins: margins.whole, distortions: distortions.whole)
            #expect(try device.download(margins.whole) == [1, -3, 5, 5])
            #expect(try device.download(distortions.whole) == [1, 1, 1, 5])
            #expect(try device.download(values.whole) == [11, -4, 51, 55])
            let first = try device.upload([-1, -1] as [Float]), l2 = try device.upload([0, 0] as [Float])
            // Problem 0's row 0 has margin 1 (not yet fooled): nothing recorded.
            try device.attackTrack(problems: 2, rowsPerProblem: 2, iteration: 3, margins: margins.whole,
                                   distortions: distortions.whole, firstIteration: first.whole, firstDistortion: l2.whole)
            #expect(try device.download(first.whole) == [-1, -1])
            // Row 1 as the current point (rowsPerProblem 1 over the second rows): problem 0 fooled.
            try device.attackTrack(problems: 1, rowsPerProblem: 1, iteration: 4, margins: margins.slice(1, 1),
                                   distortions: distortions.slice(1, 1), firstIteration: first.slice(0, 1),
                                   firstDistortion: l2.slice(0, 1))
            #expect(try device.download(first.whole) == [4, -1])
        }
    }

    @Test("universal candidates: every image plus every perturbation, clipped to the box")
    func broadcast() throws {
        let images: [Float] = [0.1, 0.9, 0.5, 0.5, 0, 1]
        let deltas: [Float] = [0.2, 0.2, -0.6, 0]
        for device in Devices.all {
            let out = try device.makeBuffer(count: 12)
            try device.attackBroadcast(images: try device.upload(images).whole, count: 3,
                                       deltas: try device.upload(deltas).whole, candidates: 2, dimension: 2,
                                       lower: try device.upload([0, 0] as [Float]).whole,
                                       upper: try device.upload([1, 1] as [Float]).whole, into: out.whole)
            expectClose(try device.download(out.whole),
                        [0.3, 1, 0, 0.9, 0.7, 0.7, 0, 0.5, 0.2, 1, 0, 1], atol: 1e-6, "\(device.kind)")
        }
    }
}

private func square(_ x: Float) -> Double { Double(x) * Double(x) }

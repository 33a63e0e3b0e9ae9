import Compute
import Philox
import Testing
import ZerothOrder

/// The estimators' statistics on a quadratic, ZO-AdaMM on a constrained problem, the simplex
/// projection, on the CPU and on PoCL.
@Suite("zeroth-order estimators and minimisation")
struct EstimatorTests {
    /// f(x) = ½·Σ a_i x_i² + Σ b_i x_i + ½·x_0·x_1 (a non-diagonal Hessian), ∇f by hand.
    static let a: [Float] = (0..<10).map { 0.5 + Float($0) * 0.3 }
    static let b: [Float] = (0..<10).map { Float($0 % 3) - 1 }
    static func f(_ x: [Float]) -> Float {
        var sum = 0.5 * x[0] * x[1]
        for i in 0..<x.count { sum += 0.5 * a[i] * x[i] * x[i] + b[i] * x[i] }
        return sum
    }
    static func gradient(_ x: [Float]) -> [Float] {
        var g = (0..<x.count).map { a[$0] * x[$0] + b[$0] }
        g[0] += 0.5 * x[1]
        g[1] += 0.5 * x[0]
        return g
    }

    @Test("the mean of 5,000 directional estimates is the quadratic's gradient within 4 standard errors",
          arguments: [(DirectionDistribution.gaussian, false), (.gaussian, true), (.sphere, false), (.sphere, true),
                      (.rademacher, true), (.randomCoordinate, true)])
    func unbiased(_ distribution: DirectionDistribution, _ central: Bool) throws {
        let d = 10, q = 5000
        let x0: [Float] = (0..<d).map { Float($0) * 0.1 - 0.4 }
        let truth = Self.gradient(x0)
        let estimator = ZOEstimator(distribution, directions: q, smoothing: 1e-2, central: central)
        for device in [Devices.cpu, Devices.openCL] {
            let minimizer = try ZOMinimizer(device: device, start: x0, problems: 1, dimension: d, estimator: estimator,
                                            optimizer: ZOOptimizer(.sgd), seed: 5)
            try minimizer.preparePoints()
            try HostFunctionObjective(device: device, dimension: d, function: Self.f)
                .evaluate(points: minimizer.points.whole, rows: minimizer.rows, into: minimizer.values.whole)
            // One ZO-SGD step at rate 1 from x0 leaves x0 − ĝ: the estimate.
            try minimizer.step(rate: 1)
            let estimate = zip(x0, try device.download(minimizer.x.whole)).map { Double($0 - $1) }
            // The standard error from the per-direction estimates themselves.
            let values = try device.download(minimizer.values.whole), points = try device.download(minimizer.points.whole)
            let scale = Double(estimator.scaling(dimension: d)), mu = Double(estimator.smoothing)
            var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
            for j in 0..<q {
                let plusRow = central ? 1 + 2 * j : 1 + j
                let difference = central ? Double(values[plusRow] - values[plusRow + 1]) / (2 * mu)
                    : Double(values[plusRow] - values[0]) / mu
                for i in 0..<d {
                    let u = Double(points[plusRow * d + i] - x0[i]) / mu
                    let sample = scale * difference * u
                    sum[i] += sample
                    squares[i] += sample * sample
                }
            }
            for i in 0..<d {
                let mean = sum[i] / Double(q)
                let standardError = ((squares[i] / Double(q) - mean * mean) / Double(q)).squareRoot()
                #expect(abs(mean - estimate[i]) < 1e-3 * max(1, abs(mean)), "\(distribution) [\(i)]: device vs host")
                #expect(abs(estimate[i] - Double(truth[i])) < 4 * standardError + 1e-3,
                        "\(distribution) central \(central) on \(device.kind) [\(i)]: \(estimate[i]) vs \(truth[i]) ± \(standardError)")
            }
        }
    }

    @Test("cyclic coordinates with q = d and central differences give the gradient itself")
    func coordinateWise() throws {
        let d = 10
        let x0: [Float] = (0..<d).map { Float($0) * -0.2 + 0.7 }
        let minimizer = try ZOMinimizer(device: Devices.cpu, start: x0, problems: 1, dimension: d,
                                        estimator: ZOEstimator(.cyclicCoordinate, directions: d, smoothing: 1e-2, central: true),
                                        optimizer: ZOOptimizer(.sgd), seed: 1)
        try minimizer.iterate(HostFunctionObjective(device: Devices.cpu, dimension: d, function: Self.f), rate: 1)
        let estimate = zip(x0, try Devices.cpu.download(minimizer.x.whole)).map { $0 - $1 }
        expectClose(estimate, Self.gradient(x0), atol: 2e-3, "coordinate-wise central differences")
    }

    @Test("ZO-AdaMM converges on a box-constrained convex quadratic to the clipped optimum; ZO-SGD and ZO-signSGD too",
          arguments: [ZOOptimizerKind.adamm, .sgd, .sign])
    func constrained(_ kind: ZOOptimizerKind) throws {
        // min ½‖x − c‖² over [−1, 1]^20 with c partly outside: the solution is clip(c).
        let d = 20
        let c: [Float] = (0..<d).map { Float($0 % 5) - 2 + 0.25 }
        let solution = c.map { min(max($0, -1), 1) }
        let objective: ([Float]) -> Float = { x in zip(x, c).reduce(0) { $0 + 0.5 * ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let minimizer = try ZOMinimizer(
            device: Devices.cpu, start: [Float](repeating: 0, count: d), problems: 1, dimension: d,
            estimator: ZOEstimator(.sphere, directions: 20, smoothing: 1e-3),
            optimizer: ZOOptimizer(kind, beta1: 0.9, beta2: 0.5),
            bounds: ([Float](repeating: -1, count: d), [Float](repeating: 1, count: d)), seed: 3)
        let host = HostFunctionObjective(device: Devices.cpu, dimension: d, function: objective)
        // α/√(t + 1), the reference code's decay.
        // (Debug builds run the vector Philox slowly: 600 iterations keep the test short.)
        let base: Float = kind == .sgd ? 0.3 : (kind == .sign ? 0.15 : 0.6)
        var x = [Float](repeating: 0, count: d)
        for t in 0..<600 {
            try minimizer.iterate(host, rate: base / Float(t + 1).squareRoot())
            let iterate = try Devices.cpu.download(minimizer.x.whole)
            #expect(iterate.allSatisfy { $0 >= -1 && $0 <= 1 }, "\(kind) left the box")
            if t >= 500 { for i in 0..<d { x[i] += iterate[i] / 100 } }
        }
        // The mean of the last 100 iterates (a stochastic method's last iterate is noisy): within
        // 0.1 of the solution everywhere (the start is up to 1 away, and the three rules share
        // their directions, hence their noise), and 99% of the initial excess objective gone.
        expectClose(x, solution, atol: 0.1, "\(kind)")
        let gap = objective(x) - objective(solution), initial = objective([Float](repeating: 0, count: d)) - objective(solution)
        #expect(gap < 0.01 * initial, "\(kind): excess \(gap) of \(initial)")
    }

    @Test("a minimisation runs bit for bit the same on PoCL as on the CPU", arguments: [false, true])
    func sameOnEveryDevice(_ central: Bool) throws {
        let d = 17
        let objective: ([Float]) -> Float = { x in x.enumerated().reduce(0) { $0 + Float($1.offset % 4 + 1) * $1.element * $1.element } }
        var trajectories: [[Float]] = []
        for device in [Devices.cpu, Devices.openCL] {
            let minimizer = try ZOMinimizer(
                device: device, start: (0..<2 * d).map { Float($0) / 40 }, problems: 2, dimension: d,
                estimator: ZOEstimator(.sphere, directions: 3, smoothing: 1e-2, central: central),
                optimizer: ZOOptimizer(.adamm), seed: 4)
            let host = HostFunctionObjective(device: device, dimension: d, function: objective)
            for t in 0..<25 { try minimizer.iterate(host, rate: 0.1 / Float(t + 1).squareRoot()) }
            trajectories.append(try device.download(minimizer.x.whole))
        }
        #expect(trajectories[0] == trajectories[1])
        #expect(trajectories[0] != (0..<2 * d).map { Float($0) / 40 })
    }

    @Test("simplex projection by bisection equals the sort-based projection")
    func simplex() {
        var rng = PhiloxStream(seed: 8, stream: 1)
        for trial in 0..<200 {
            let n = 1 + trial % 7
            let a = (0..<n).map { _ in Double(rng.nextUniform() * 4 - 2) }
            // Sort-based (Held et al.; Duchi et al. 2008): τ = (Σ_{i≤ρ} s_i − 1)/ρ over the sorted s.
            let s = a.sorted(by: >)
            var prefix = 0.0, tau = 0.0
            for (i, v) in s.enumerated() {
                prefix += v
                let candidate = (prefix - 1) / Double(i + 1)
                if v - candidate > 0 { tau = candidate }
            }
            let expected = a.map { max($0 - tau, 0) }
            let got = SimplexProjection.project(a)
            for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-9, "trial \(trial): \(got) vs \(expected)") }
            #expect(abs(got.reduce(0, +) - 1) < 1e-9)
        }
        // With an upper bound below 1 some coordinates saturate at it.
        let capped = SimplexProjection.project([3, 0, 0], upper: 0.5)
        #expect(abs(capped[0] - 0.5) < 1e-9 && abs(capped[1] - 0.25) < 1e-9 && abs(capped[2] - 0.25) < 1e-9)
    }
}

@Suite("projections onto an ℓ2 ball")
struct BallProjectionTests {
    @Test("Euclidean: the scaled point; ZO-AdaMM's metric: on the sphere, with the KKT condition w_i(a_i − x_i) = λ(x_i − c_i)")
    func kkt() {
        let a: [Float] = [3, -1, 2, 0.5, -2], c: [Float] = [0.5, 0, 0, 0, 1], w: [Float] = [0.1, 2, 0.5, 1, 4]
        let euclidean = BallProjection.project(a, centre: c, radius: 1)
        let offset = zip(a, c).map { $0 - $1 }, norm = offset.reduce(0) { $0 + $1 * $1 }.squareRoot()
        expectClose(euclidean, zip(c, offset).map { $0 + $1 / norm }, atol: 1e-6, "Euclidean")
        let weighted = BallProjection.project(a, centre: c, radius: 1, weights: w)
        let radius = zip(weighted, c).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        #expect(abs(radius - 1) < 1e-5, "on the sphere: \(radius)")
        let lambdas = (0..<5).map { i -> Double in
            let pull = Double(w[i]) * Double(a[i] - weighted[i])
            return pull / Double(weighted[i] - c[i])
        }
        for l in lambdas { #expect(abs(l - lambdas[0]) < 1e-3 * abs(lambdas[0]), "one multiplier: \(lambdas)") }
        // Inside the ball nothing moves.
        #expect(BallProjection.project([0.6, 0.1, 0, 0, 1], centre: c, radius: 1, weights: w) == [0.6, 0.1, 0, 0, 1])
    }

    @Test("ZO-AdaMM (√v̂ metric) and ZO-SGD (Euclidean) converge to the ball-constrained optimum c·r/‖c‖",
          arguments: [ZOOptimizerKind.adamm, .sgd])
    func constrained(_ kind: ZOOptimizerKind) throws {
        let d = 10
        let target: [Float] = (0..<d).map { Float($0 % 4) - 1.2 }
        let norm = target.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let solution = target.map { $0 / norm }
        let minimizer = try ZOMinimizer(
            device: Devices.cpu, start: [Float](repeating: 0, count: d), problems: 1, dimension: d,
            estimator: ZOEstimator(.sphere, directions: 10, smoothing: 1e-3), optimizer: ZOOptimizer(kind, beta2: 0.5),
            ball: ([Float](repeating: 0, count: d), 1), seed: 6)
        let host = HostFunctionObjective(device: Devices.cpu, dimension: d) { x in
            zip(x, target).reduce(0) { $0 + 0.5 * ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        var mean = [Float](repeating: 0, count: d)
        for t in 0..<500 {
            try minimizer.iterate(host, rate: 0.3 / Float(t + 1).squareRoot())
            let x = try Devices.cpu.download(minimizer.x.whole)
            #expect(x.reduce(0) { $0 + $1 * $1 }.squareRoot() <= 1 + 1e-5, "left the ball")
            if t >= 400 { for i in 0..<d { mean[i] += x[i] / 100 } }
        }
        expectClose(mean, solution, atol: 0.08, "\(kind)")
    }
}

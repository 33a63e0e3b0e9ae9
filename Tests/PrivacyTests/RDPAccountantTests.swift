import Privacy
import Testing

/// The accountant against the reference vectors of ../shared/reference/dp.md §3 (Opacus's
/// accountant tests and doctests, TF Privacy's compute_dp_sgd_privacy tests, dp_accounting's
/// tests), all Poisson-subsampled Gaussian under add/remove-one.
@Suite("privacy: RDP accountant")
struct RDPAccountantTests {
    func epsilon(_ sigma: Double, _ q: Double, _ steps: Int, _ delta: Double,
                 orders: [Double] = RDPAccountant.defaultOrders) -> (Double, Double?) {
        var accountant = RDPAccountant(orders: orders)
        accountant.step(noiseMultiplier: sigma, sampleRate: q, steps: steps)
        return accountant.epsilon(delta: delta)
    }

    @Test("TV1: Opacus's parity check, σ = 1.5, q = 0.04, 90 epochs, δ = 1e-5 (fractional best order)")
    func opacusParity() {
        let (e, order) = epsilon(1.5, 0.04, Int(90 / 0.04), 1e-5)
        #expect(abs(e - 7.32911117143) < 1e-8, "ε = \(e)")
        #expect(order == 3.9)
    }

    @Test("TV2: a two-stretch history over orders 2…32 gives 0.336 at α = 23")
    func history() {
        var accountant = RDPAccountant(orders: (2...32).map(Double.init))
        accountant.step(noiseMultiplier: 1, sampleRate: 1e-5, steps: 10)
        accountant.step(noiseMultiplier: 3, sampleRate: 1e-4, steps: 4)
        let (e, order) = accountant.epsilon(delta: 1e-5)
        #expect(abs(e - 0.3363441) < 1e-6, "ε = \(e)")
        #expect(order == 23)
        // Equal consecutive steps merge.
        accountant.step(noiseMultiplier: 3, sampleRate: 1e-4, steps: 2)
        #expect(accountant.history.count == 2 && accountant.steps == 16)
    }

    @Test("TV3 and TV4: TF Privacy's compute_dp_sgd_privacy tests")
    func tfPrivacy() {
        let (e3, o3) = epsilon(1.3, 150.0 / 60000, 6000, 1e-5)
        #expect(abs(e3 - 0.7242234026109595) < 1e-9, "ε = \(e3)")
        #expect(o3 == 19)
        let (e4, o4) = epsilon(1.0, 100.0 / 100_000, 30000, 1e-7)
        #expect(abs(e4 - 1.4154988495444842) < 1e-9, "ε = \(e4)")
        #expect(o4 == 13)
    }

    @Test("TV5: the conversion of a flat RDP curve (pure DP 1.1) over orders 2…32")
    func conversion() {
        let orders = (2...32).map(Double.init)
        let (e, order) = RDPAccountant.epsilon(rdp: orders.map { _ in 1.1 }, orders: orders, delta: 1e-5)
        #expect(abs(e - 1.32783806176) < 1e-9, "ε = \(e)")
        #expect(order == 32)
    }

    @Test("TV6: no subsampling (q = 1), one step, σ = 4.530877117 gives ε = 1 at δ = 1e-6 on a fine grid")
    func fullBatch() {
        let grid = (1...98_999).map { 1 + Double($0) / 1000 }
        let (e, _) = epsilon(4.530877117, 1, 1, 1e-6, orders: grid)
        #expect(abs(e - 1.0) < 1e-7, "ε = \(e)")
        let (opacus, order) = epsilon(4.530877117, 1, 1, 1e-6)
        #expect(abs(opacus - 1.00000029) < 1e-7 && order == 22, "ε = \(opacus) at \(String(describing: order))")
    }

    @Test("TV7: RDP values at fractional, integer and infinite orders match the exact series")
    func rdpValues() {
        let expected: [(Double, Double)] = [(1.5, 6.5007090e-4), (2.5, 1.0854181e-3), (5, 2.1807566e-3),
                                             (50, 2.3846038e-2), (100, 1.6741631e2)]
        for (alpha, value) in expected {
            let r = SubsampledGaussian.rdp(sampleRate: 0.01, noiseMultiplier: 2.5, steps: 50, order: alpha)
            #expect(abs(r - value) <= 1e-6 * value, "α = \(alpha): \(r) vs \(value)")
        }
        #expect(SubsampledGaussian.rdp(sampleRate: 0.01, noiseMultiplier: 2.5, steps: 50, order: .infinity) == .infinity)
        #expect(SubsampledGaussian.rdp(sampleRate: 0, noiseMultiplier: 1, steps: 5, order: 2) == 0)
        #expect(SubsampledGaussian.rdp(sampleRate: 0.1, noiseMultiplier: 0, steps: 5, order: 2) == .infinity)
    }

    @Test("calibration returns the conservative σ within tolerance of the target, as get_noise_multiplier does")
    func calibration() throws {
        let q = 150.0 / 60000, steps = 6000
        let sigma = try RDPAccountant.noiseMultiplier(targetEpsilon: 0.7242234026109595, delta: 1e-5,
                                                      sampleRate: q, steps: steps)
        let (e, _) = epsilon(sigma, q, steps, 1e-5)
        #expect(e <= 0.7242234026109595 && e > 0.7242234026109595 - 0.01, "σ = \(sigma), ε = \(e)")
        #expect(abs(sigma - 1.3) < 0.02)
        #expect(throws: PrivacyError.budgetTooSmall(targetEpsilon: 1e-9, delta: 1e-5)) {
            try RDPAccountant.noiseMultiplier(targetEpsilon: 1e-9, delta: 1e-5, sampleRate: 1, steps: 100_000)
        }
    }

    @Test("the history round-trips through its checkpoint text, bit for bit, and bad text is refused")
    func historyText() throws {
        var accountant = RDPAccountant()
        accountant.step(noiseMultiplier: 1.1, sampleRate: 256.0 / 60_000, steps: 700)
        accountant.step(noiseMultiplier: 0.7 + 1e-12, sampleRate: 0.1, steps: 3)
        let copy = try RDPAccountant(historyText: accountant.historyText)
        #expect(copy == accountant && copy.epsilon(delta: 1e-5) == accountant.epsilon(delta: 1e-5))
        #expect(try RDPAccountant(historyText: "").steps == 0)
        for bad in ["1:0.1", "1:2:3", "-1:0.1:3", "x:0.1:3", "1:0.1:3.5"] {
            #expect(throws: PrivacyError.badHistory(bad)) { try RDPAccountant(historyText: bad) }
        }
    }

    @Test("no step spends nothing; the steps a budget allows are the last whose ε stays within it")
    func stepsAllowed() {
        #expect(RDPAccountant().epsilon(delta: 1e-5).epsilon == 0)
        var spent = RDPAccountant()
        spent.step(noiseMultiplier: 1.3, sampleRate: 0.0025, steps: 2000)
        func epsilon(_ more: Int) -> Double {
            var accountant = spent
            accountant.step(noiseMultiplier: 1.3, sampleRate: 0.0025, steps: more)
            return accountant.epsilon(delta: 1e-5).epsilon
        }
        let budget = 0.7242234026109595   // TV3: 6000 steps in all
        let allowed = spent.stepsAllowed(maxEpsilon: budget, delta: 1e-5, noiseMultiplier: 1.3, sampleRate: 0.0025,
                                         limit: 10_000)
        #expect(allowed == 4000 && epsilon(allowed) <= budget && epsilon(allowed + 1) > budget)
        #expect(spent.stepsAllowed(maxEpsilon: budget, delta: 1e-5, noiseMultiplier: 1.3, sampleRate: 0.0025,
                                   limit: 100) == 100)
        #expect(spent.stepsAllowed(maxEpsilon: 0.1, delta: 1e-5, noiseMultiplier: 1.3, sampleRate: 0.0025,
                                   limit: 100) == 0)
    }
}

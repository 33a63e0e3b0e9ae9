import Privacy
import Testing

/// The PRV accountant against dp_accounting's PLD accountant (dp.md §3: discretisation 1e-4,
/// pessimistic, so an upper bound a little above the true ε) and against RDP.
@Suite("privacy: PRV accountant")
struct PRVAccountantTests {
    func history(_ sigma: Double, _ q: Double, _ steps: Int) -> [RDPAccountant.Entry] {
        var accountant = RDPAccountant()
        accountant.step(noiseMultiplier: sigma, sampleRate: q, steps: steps)
        return accountant.history
    }

    @Test("TV1, TV3 and TV4: the estimate is within its stated error of PLD, the upper bound above it and below RDP",
          arguments: [(1.5, 0.04, 2250, 1e-5, 6.7688, 7.3291111714), (1.3, 0.0025, 6000, 1e-5, 0.6401, 0.7242234026),
                      (1.0, 0.001, 30000, 1e-7, 1.0982, 1.4154988495)])
    func vectors(_ sigma: Double, _ q: Double, _ steps: Int, _ delta: Double, _ pld: Double, _ rdp: Double) {
        let accountant = PRVAccountant(history: history(sigma, q, steps))
        let (estimate, upper) = accountant.epsilon(delta: delta)
        // PLD's own discretisation error is about 1e-3 here; the PRV's stated error is 0.01.
        #expect(abs(estimate - pld) < 0.01, "estimate \(estimate) vs PLD \(pld)")
        #expect(upper >= pld && upper < rdp, "upper \(upper) vs PLD \(pld), RDP \(rdp)")
        #expect(upper - estimate >= 0.01 && upper - estimate < 0.015, "upper \(upper) estimate \(estimate)")
    }

    @Test("a history split in two stretches composes to the same ε; a tighter noise gives less; nothing spends nothing")
    func composition() {
        let whole = PRVAccountant(history: history(1.3, 0.0025, 6000)).epsilon(delta: 1e-5)
        var split = RDPAccountant()
        split.step(noiseMultiplier: 1.3, sampleRate: 0.0025, steps: 2500)
        split.step(noiseMultiplier: 1.3000000001, sampleRate: 0.0025, steps: 3500)
        #expect(split.history.count == 2)
        let parts = PRVAccountant(history: split.history).epsilon(delta: 1e-5)
        #expect(abs(parts.estimate - whole.estimate) < 1e-3, "\(parts) vs \(whole)")
        let noisier = PRVAccountant(history: history(2.0, 0.0025, 6000)).epsilon(delta: 1e-5)
        #expect(noisier.estimate < whole.estimate)
        #expect(PRVAccountant(history: []).epsilon(delta: 1e-5) == (0, 0))
        #expect(PRVAccountant(history: history(0, 0.01, 10)).epsilon(delta: 1e-5).upper == .infinity)
        #expect(AccountantKind.prv.epsilon(split, delta: 1e-5).epsilon == parts.upper)
    }

    /// q = 1e-5: each step's loss spans a cell or two of the mesh, where the per-cell mean keeping
    /// is inexact; without the exact-mean shift the directions drifted ±0.01 over 10⁵ steps.
    /// At such a small q the composed loss is Gaussian to good accuracy: GDP's ε (Dong, Roth and
    /// Su; μ = q√T·√(e^(1/σ²) − 1)) is 0.010120 here.
    @Test("tiny sample rates do not drift: q = 1e-5, σ = 1, 10⁵ steps agrees with the Gaussian limit")
    func tinySampleRate() {
        let accountant = PRVAccountant(history: history(1, 1e-5, 100_000))
        let (estimate, upper) = accountant.epsilon(delta: 1e-5)
        #expect(abs(estimate - 0.010120) < 0.003, "estimate \(estimate), upper \(upper)")
    }
}

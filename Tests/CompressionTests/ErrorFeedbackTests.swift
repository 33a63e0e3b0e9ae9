import Compression
import Compute
import Philox
import Testing
import Training

@Suite("compression: error feedback")
struct ErrorFeedbackTests {
    /// The recurrence in doubles: p = g + e, Δ = (‖p‖₁/d)·sign(p), e ← p − Δ.
    func reference(_ steps: [[Float]]) -> (deltas: [[Double]], memory: [Double]) {
        var e = [Double](repeating: 0, count: steps[0].count)
        var deltas: [[Double]] = []
        for g in steps {
            let p = zip(g, e).map { Double($0) + $1 }
            let scale = p.reduce(0) { $0 + abs($1) } / Double(p.count)
            let delta = p.map { $0 < 0 ? -scale : scale }
            e = zip(p, delta).map { $0 - $1 }
            deltas.append(delta)
        }
        return (deltas, e)
    }

    @Test("Δ and the memory follow the recurrence on every device; the memory survives a checkpoint")
    func recurrence() throws {
        let d = 1031
        let steps = (0..<5).map { randomValues(d, seed: 70 + UInt64($0)) }
        let expected = reference(steps)
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let transform = ErrorFeedback(device: device)
            let slot = try device.makeBuffer(count: d)
            for (step, g) in steps.enumerated() {
                if step == 3 {
                    // Resume from the state after three steps in a fresh transform.
                    let state = try transform.snapshot()
                    #expect(state.count == d)
                    try transform.restore(state)
                }
                try device.write(g, to: slot.whole)
                try transform.apply(WorkerGradients(slots: slot.whole, workers: 1, parameterCount: d, result: slot.whole,
                                                    scale: 1), step: step)
                let got = try device.download(slot.whole)
                let worst = zip(got, expected.deltas[step]).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst < 1e-5, "\(device.kind) step \(step): \(worst)")
            }
            let memory = try transform.snapshot()
            let worst = zip(memory, expected.memory).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(device.kind) memory: \(worst)")
        }
    }
}

func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: 71)
    return (0..<count).map { _ in rng.nextUniform() * 2 - 1 }
}

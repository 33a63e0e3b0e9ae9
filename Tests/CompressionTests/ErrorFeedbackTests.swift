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

@Suite("compression: Signum momentum")
struct WorkerMomentumTests {
    @Test("each worker's slot becomes its momentum β·m + (1 − β)·g, and the momenta survive a checkpoint")
    func momentum() throws {
        let d = 77
        let steps = (0..<4).map { step in (0..<2).flatMap { randomValues(d, seed: 80 + UInt64(step * 2 + $0)) } }
        for device in [TestDevices.cpu, TestDevices.openCL] {
            var transform = WorkerMomentum(device: device, beta: 0.9)
            var expected = [Float](repeating: 0, count: 2 * d)
            let slots = try device.makeBuffer(count: 2 * d), result = try device.makeBuffer(count: d)
            for (step, g) in steps.enumerated() {
                if step == 2 {
                    let state = try transform.snapshot()
                    transform = WorkerMomentum(device: device, beta: 0.9)
                    try transform.restore(state)
                }
                try device.write(g, to: slots.whole)
                try transform.apply(WorkerGradients(slots: slots.whole, workers: 2, parameterCount: d,
                                                    result: result.whole, scale: 1), step: step)
                expected = zip(expected, g).map { 0.9 * $0 + 0.1 * $1 }
                let got = try device.download(slots.whole)
                #expect(zip(got, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(device.kind) step \(step)")
            }
        }
    }
}

func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: 71)
    return (0..<count).map { _ in rng.nextUniform() * 2 - 1 }
}

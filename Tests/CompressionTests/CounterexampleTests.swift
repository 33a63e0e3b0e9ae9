import Compression
import Compute
import Testing
import Training

enum TestDevices {
    static let cpu = CPUDevice()
    static let openCL: any Device = {
        do { return try makeDevice(.opencl) } catch { fatalError("no OpenCL device (install pocl-opencl-icd): \(error)") }
    }()
}

/// The 1-D counterexample of Chen, Chen, Sun, Wu and Hong (NeurIPS 2020, §2.1): three workers
/// hold f_i(x) = (x − a_i)²/2 with a = (1, 2, 10), so the minimiser of their mean is 13/3. Sign
/// votes and medians without noise follow the middle worker and stall near 2; with noise before
/// the sign (or the median) they move to 13/3. 64 independent copies of x share each run.
@Suite("compression: the paper's counterexample")
struct CounterexampleTests {
    static let targets: [Float] = [1, 2, 10]

    /// x after `steps` steps of x ← x − lr·combine(x − a_i), averaged over the last quarter and
    /// the copies.
    func run(_ transform: any GradientTransform, on device: any Device, steps: Int, lr: Float) throws -> Double {
        let copies = 64
        let x = try device.upload([Float](repeating: 0, count: copies))
        let slots = try device.makeBuffer(count: 3 * copies)
        let result = try device.makeBuffer(count: copies)
        var sum = 0.0, counted = 0
        for step in 0..<steps {
            for (worker, target) in Self.targets.enumerated() {
                let slot = slots.slice(worker * copies, copies)
                try device.copy(x.whole, to: slot)
                try device.write([Float](repeating: -target, count: copies), to: result.whole)
                try device.axpby(alpha: 1, x: result.whole, beta: 1, y: slot)
            }
            let gradients = WorkerGradients(slots: slots.whole, workers: 3, parameterCount: copies, result: result.whole,
                                            scale: 1)
            try transform.apply(gradients, step: step)
            try device.axpby(alpha: -lr, x: result.whole, beta: 1, y: x.whole)
            if step >= steps * 3 / 4 {
                sum += try device.download(x.whole).reduce(0) { $0 + Double($1) }
                counted += copies
            }
        }
        return sum / Double(counted)
    }

    @Test("sign votes and medians without noise stall near 2; with noise they reach 13/3")
    func counterexample() throws {
        for device in [TestDevices.cpu, TestDevices.openCL] {
            let plainVote = try run(SignVote(device: device, noise: 0, tie: .zero, seed: 1), on: device, steps: 800, lr: 0.01)
            #expect(abs(plainVote - 2) < 0.05, "\(device.kind): plain vote at \(plainVote)")
            let noisyVote = try run(SignVote(device: device, noise: 12, tie: .zero, seed: 1), on: device, steps: 4000, lr: 0.01)
            #expect(abs(noisyVote - 13.0 / 3) < 0.35, "\(device.kind): noisy vote at \(noisyVote)")
            let plainMedian = try run(CoordinateMedian(device: device, noise: 0, seed: 1), on: device, steps: 800, lr: 0.05)
            #expect(abs(plainMedian - 2) < 0.05, "\(device.kind): median at \(plainMedian)")
            let noisyMedian = try run(CoordinateMedian(device: device, noise: 12, seed: 1), on: device, steps: 4000, lr: 0.005)
            #expect(abs(noisyMedian - 13.0 / 3) < 0.35, "\(device.kind): noisy median at \(noisyMedian)")
        }
    }
}

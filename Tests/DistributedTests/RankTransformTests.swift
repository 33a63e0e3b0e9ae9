import Compression
import Compute
@testable import Distributed
import Philox
import Testing
import Training

/// The combining transforms on ranks of an in-process group (threads, each with a device of its
/// own), one worker per rank, against one process holding every worker: the same result bits
/// for every vote, tie rule and noise, on awkward lengths (chunks that are not whole words of
/// the vector, ranks left without coordinates).
@Suite("transforms across ranks")
struct RankTransformTests {
    /// Worker w's gradient: random values, some exactly zero (they pack as +).
    static func gradient(_ worker: Int, length: Int) -> [Float] {
        let key = PhiloxKey(seed: 500 &+ UInt64(worker))
        return (0..<length).map { i in i % 7 == 3 ? 0 : key.normal(UInt64(i)) * (1 + Float(worker)) }
    }

    /// The result of `make`'s transform on `ranks` ranks of one worker each, every rank's.
    static func transformOnRanks(_ ranks: Int, length: Int, step: Int,
                        _ make: @escaping @Sendable (any Device, WorkerGroup) -> any GradientTransform) throws -> [[Float]] {
        try onRanks(ranks) { communicator in
            let device = CPUDevice()
            let group = WorkerGroup(communicator: communicator, workersPerRank: 1)
            let transform = make(device, group)
            let slot = try device.upload(gradient(communicator.rank, length: length))
            let result = try device.makeBuffer(count: max(length, 1))
            let gradients = WorkerGradients(slots: slot.whole, workers: 1, parameterCount: length,
                                            result: result.slice(0, length), scale: 1)
            try transform.apply(gradients, step: step)
            return try device.download(result.slice(0, length))
        }
    }

    /// The result of `make`'s transform in one process holding all `workers`.
    static func inOneProcess(_ workers: Int, length: Int, step: Int,
                             _ make: (any Device, WorkerGroup) -> any GradientTransform) throws -> [Float] {
        let device = CPUDevice()
        let transform = make(device, .local(workers: workers))
        let slots = try device.upload((0..<workers).flatMap { gradient($0, length: length) })
        let result = try device.makeBuffer(count: max(length, 1))
        let gradients = WorkerGradients(slots: slots.whole, workers: workers, parameterCount: length,
                                        result: result.slice(0, length), scale: 1)
        try transform.apply(gradients, step: step)
        return try device.download(result.slice(0, length))
    }

    static let lengths = [1, 31, 33, 97, 1000, 4099]

    @Test("the majority vote across 2 and 3 ranks is the vote of one process, for every tie rule",
          arguments: lengths)
    func vote(_ length: Int) throws {
        for ranks in [2, 3] {
            for tie in TieRule.allCases {
                for noise in [SignNoise.fixed(0), .fixed(0.5), .adaptive(factor: 0.3)] {
                    let sizes = length > 20 ? [length - 20, 20] : [length]
                    let make: @Sendable (any Device, WorkerGroup) -> any GradientTransform = { device, group in
                        SignVote(device: device, noise: noise, tie: tie, seed: 3, tensorSizes: sizes, group: group)
                    }
                    let expected = try Self.inOneProcess(ranks, length: length, step: 5, make)
                    for (rank, result) in try Self.transformOnRanks(ranks, length: length, step: 5, make).enumerated() {
                        #expect(result == expected, "\(ranks) ranks, rank \(rank), tie \(tie), \(noise)")
                    }
                    if ranks == 2 && tie == .zero && noise == .fixed(0) {
                        #expect(expected.contains(0), "two workers tie somewhere")
                    }
                }
            }
        }
    }

    @Test("median and mean across ranks are one process's, bit for bit", arguments: lengths)
    func medianAndMean(_ length: Int) throws {
        for ranks in [2, 3, 4] {
            let makers: [@Sendable (any Device, WorkerGroup) -> any GradientTransform] = [
                { CoordinateMedian(device: $0, noise: .fixed(0.1), seed: 4, tensorSizes: [], group: $1) },
                { WorkerMean(device: $0, group: $1) },
            ]
            for make in makers {
                let expected = try Self.inOneProcess(ranks, length: length, step: 2, make)
                for result in try Self.transformOnRanks(ranks, length: length, step: 2, make) {
                    #expect(result == expected, "\(ranks) ranks, length \(length)")
                }
            }
        }
    }

    @Test("EF-signSGD across ranks: scaled signs as sign words and a scale, the one process's mean", arguments: lengths)
    func scaledSigns(_ length: Int) throws {
        for ranks in [2, 3] {
            // Two steps, so the second sends what the first's memories left.
            let results = try onRanks(ranks) { communicator -> ([Float], Int) in
                let device = CPUDevice()
                let group = WorkerGroup(communicator: communicator, workersPerRank: 1)
                let feedback = ErrorFeedback(device: device, group: group), mean = ScaledSignMean(device: device, group: group)
                let slot = try device.makeBuffer(count: length), result = try device.makeBuffer(count: length)
                for step in 0..<2 {
                    try device.write(Self.gradient(communicator.rank + 7 * step, length: length), to: slot.whole)
                    let gradients = WorkerGradients(slots: slot.whole, workers: 1, parameterCount: length,
                                                    result: result.whole, scale: 1)
                    try feedback.apply(gradients, step: step)
                    try mean.apply(gradients, step: step)
                }
                return (try device.download(result.whole), mean.bytesSent)
            }
            let device = CPUDevice()
            let feedback = ErrorFeedback(device: device), mean = WorkerMean(device: device)
            let slots = try device.makeBuffer(count: ranks * length), result = try device.makeBuffer(count: length)
            for step in 0..<2 {
                try device.write((0..<ranks).flatMap { Self.gradient($0 + 7 * step, length: length) }, to: slots.whole)
                let gradients = WorkerGradients(slots: slots.whole, workers: ranks, parameterCount: length,
                                                result: result.whole, scale: 1)
                try feedback.apply(gradients, step: step)
                try mean.apply(gradients, step: step)
            }
            let expected = try device.download(result.whole)
            for (got, sent) in results {
                #expect(got == expected, "\(ranks) ranks, length \(length)")
                #expect(sent == 2 * (ranks - 1) * ((length + 31) / 32 + 1) * 4)
            }
        }
    }

    @Test("worker state: every rank's part gathered in worker order, and each rank restores its own")
    func workerState() throws {
        let length = 37
        let states = try onRanks(3) { communicator -> ([Float], [Float]) in
            let device = CPUDevice()
            let group = WorkerGroup(communicator: communicator, workersPerRank: 2)
            let feedback = ErrorFeedback(device: device, group: group)
            let slots = try device.upload((0..<2).flatMap { Self.gradient(2 * communicator.rank + $0, length: length) })
            try feedback.apply(WorkerGradients(slots: slots.whole, workers: 2, parameterCount: length,
                                               result: try device.makeBuffer(count: length).whole, scale: 1), step: 0)
            let all = try feedback.snapshot()
            let restored = ErrorFeedback(device: device, group: group)
            try restored.restore(all)
            return (all, try restored.snapshot())
        }
        // One process with the six workers keeps the same memories.
        let device = CPUDevice()
        let feedback = ErrorFeedback(device: device)
        let slots = try device.upload((0..<6).flatMap { Self.gradient($0, length: length) })
        try feedback.apply(WorkerGradients(slots: slots.whole, workers: 6, parameterCount: length,
                                           result: try device.makeBuffer(count: length).whole, scale: 1), step: 0)
        let expected = try feedback.snapshot()
        for (all, again) in states {
            #expect(all == expected)
            #expect(again == expected)
        }
    }

    /// The paper's 1-D counterexample (Chen et al., NeurIPS 2020): worker i holds
    /// f_i(x) = (x − a_i)²/2, a = (1, 2, 10), here one worker per rank of 3; 64 copies of x. The
    /// mean of x over the last quarter of `steps` steps.
    static func counterexample(steps: Int, lr: Float,
                               _ make: @escaping @Sendable (any Device, WorkerGroup) -> any GradientTransform) throws -> [Double] {
        try onRanks(3) { communicator in
            let device = CPUDevice(), copies = 64, target: Float = [1, 2, 10][communicator.rank]
            let transform = make(device, WorkerGroup(communicator: communicator, workersPerRank: 1))
            let x = try device.upload([Float](repeating: 0, count: copies))
            let slot = try device.makeBuffer(count: copies), result = try device.makeBuffer(count: copies)
            var sum = 0.0, counted = 0
            for step in 0..<steps {
                try device.write([Float](repeating: -target, count: copies), to: slot.whole)
                try device.axpby(alpha: 1, x: x.whole, beta: 1, y: slot.whole)
                try transform.apply(WorkerGradients(slots: slot.whole, workers: 1, parameterCount: copies,
                                                    result: result.whole, scale: 1), step: step)
                try device.axpby(alpha: -lr, x: result.whole, beta: 1, y: x.whole)
                if step >= steps * 3 / 4 {
                    sum += try device.download(x.whole).reduce(0) { $0 + Double($1) }
                    counted += copies
                }
            }
            return sum / Double(counted)
        }
    }

    @Test("the counterexample across 3 ranks: plain vote and median stall near 2, with noise they reach 13/3")
    func counterexampleOnRanks() throws {
        let plain = try Self.counterexample(steps: 800, lr: 0.01) {
            SignVote(device: $0, noise: .fixed(0), tie: .zero, seed: 1, tensorSizes: [], group: $1)
        }
        let noisy = try Self.counterexample(steps: 4000, lr: 0.01) {
            SignVote(device: $0, noise: .fixed(12), tie: .zero, seed: 1, tensorSizes: [], group: $1)
        }
        let median = try Self.counterexample(steps: 800, lr: 0.05) {
            CoordinateMedian(device: $0, noise: .fixed(0), seed: 1, tensorSizes: [], group: $1)
        }
        let noisyMedian = try Self.counterexample(steps: 4000, lr: 0.005) {
            CoordinateMedian(device: $0, noise: .fixed(12), seed: 1, tensorSizes: [], group: $1)
        }
        for (name, values, target) in [("vote", plain, 2.0), ("noisy vote", noisy, 13.0 / 3), ("median", median, 2.0),
                                       ("noisy median", noisyMedian, 13.0 / 3)] {
            // Every rank holds the same x.
            #expect(Set(values).count == 1, "\(name): ranks disagree \(values)")
            #expect(abs(values[0] - target) < (target == 2 ? 0.05 : 0.35), "\(name) at \(values[0])")
        }
    }
}

import ArgumentParser
import CommandLineSupport
import Compression
import Artifacts
import Compute
import Distributed
import Philox
import SystemIO
import Training

/// `bench allreduce`, run under `mpirun`: for each gradient length, the fp32 all-reduce (MPI's
/// own `MPI_Allreduce` on host memory, the baseline) against the 1-bit majority vote (pack on
/// the device, all-to-all of packed chunks, vote, all-gather of the voted bits, unpack), with the
/// bytes each rank sends, the time per exchange on this machine's links, and the exchange
/// projected for 1, 10 and 100 Gbit/s links: bytes over the link rate, plus the vote's measured
/// device and staging time (its time outside the collectives).
struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Under mpirun: fp32 all-reduce against the 1-bit vote, bytes per rank, ms per exchange, projected link times.")

    @Option(help: "The backend of the vote's kernels: cpu, opencl, cuda, gpu or auto.")
    var device = "cpu"

    @Option(help: "Comma-separated gradient lengths.")
    var lengths = "1000000,25000000"

    @Option(help: "Timed exchanges per scheme (after one warm-up).")
    var repeats = 10

    @Option(help: "Comma-separated tie rules of the vote: zero (sends a tie bit beside the voted sign when the rank count is even), random, plus.")
    var ties = "zero,random"

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    var sizes: [Int] { lengths.split(separator: ",").compactMap { Int($0) } }
    var tieRules: [TieRule] { ties.split(separator: ",").compactMap { TieRule(argument: String($0)) } }

    func validate() throws {
        guard !sizes.isEmpty, sizes.count == lengths.split(separator: ",").count,
              sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 28 }), repeats > 0 else {
            throw ValidationError("--lengths must be comma-separated lengths in 1...2^28 and --repeats positive")
        }
        guard !tieRules.isEmpty, tieRules.count == ties.split(separator: ",").count else {
            throw ValidationError("--ties must be comma-separated tie rules: zero, random, plus")
        }
    }

    /// Link rates of the projection, bits per second.
    static let links: [(name: String, bitsPerSecond: Double)] = [("1gbit", 1e9), ("10gbit", 1e10), ("100gbit", 1e11)]

    func run() throws {
        runReportingFailures(command: "bench allreduce") {
            let world = try ProcessWorld.communicator()
            guard world.size >= 2 else {
                throw CommandFailure("bench allreduce times an exchange between ranks; start it under MPI: "
                                     + "mpiexec -n 2 bench allreduce (MPICH), or mpirun --allow-run-as-root "
                                     + "--oversubscribe -np 2 bench allreduce (Open MPI)", status: 64)
            }
            Console.isQuiet = world.rank != 0
            let devices = try parseDevices(device, tuning: tuning)
            guard devices.count == 1, let device = devices.first else {
                throw CommandFailure("--device names one backend for the vote's kernels", status: 64)
            }
            if !json {
                Console.line("\(world.size) ranks over \(world.transport); vote kernels on \(device.kind.rawValue) "
                             + "(\(device.name)); \(repeats) exchanges each, medians")
            }
            for n in sizes {
                let fp32 = try allReduceSeconds(world, length: n)
                let fp32Bytes = 2 * Double(world.size - 1) / Double(world.size) * 4 * Double(n)
                report(n: n, ranks: world.size, scheme: "fp32 allreduce", bytes: fp32Bytes, seconds: fp32,
                       outside: 0, baseline: nil, validated: true)
                for tie in tieRules {
                    let vote = try voteSeconds(world, device: device, length: n, tie: tie)
                    report(n: n, ranks: world.size, scheme: "1-bit vote, tie \(tie)", bytes: vote.bytes,
                           seconds: vote.seconds, outside: vote.outside, baseline: (fp32Bytes, fp32),
                           validated: vote.validated)
                }
            }
        }
    }

    /// Median seconds of MPI's all-reduce of `length` floats in host memory.
    private func allReduceSeconds(_ world: any Communicator, length: Int) throws -> Double {
        let gradient = randomFloats(length, seed: 7 &+ UInt64(world.rank))
        var values = gradient, times: [Double] = []
        for repeat_ in 0...repeats {
            // The same inputs every round (sums would grow to infinity), restored untimed.
            values.withUnsafeMutableBufferPointer { target in
                gradient.withUnsafeBufferPointer { source in
                    if let to = target.baseAddress, let from = source.baseAddress { to.update(from: from, count: length) }
                }
            }
            try world.barrier()
            let clock = ContinuousClock(), start = clock.now
            try values.withUnsafeMutableBufferPointer { try world.allReduce($0, .sum) }
            if repeat_ > 0 { times.append(seconds(clock.now - start)) }
        }
        return try slowestRank(world, median(times))
    }

    /// The vote of one worker per rank: median seconds per exchange, of which outside the
    /// collectives, bytes this rank sent per exchange, and whether the voted signs equal a vote
    /// of every rank's packed signs in one place.
    private func voteSeconds(_ world: any Communicator, device: any Device, length: Int, tie: TieRule) throws
        -> (seconds: Double, outside: Double, bytes: Double, validated: Bool) {
        let group = WorkerGroup(communicator: world, workersPerRank: 1)
        let vote = SignVote(device: device, noise: .fixed(0), tie: tie, seed: 11, tensorSizes: [], group: group)
        let gradient = try device.upload(randomFloats(length, seed: 1000 &+ UInt64(world.rank)))
        let result = try device.makeBuffer(count: length)
        let gradients = WorkerGradients(slots: gradient.whole, workers: 1, parameterCount: length,
                                        result: result.whole, scale: 1)
        var times: [Double] = [], outside: [Double] = [], bytes = 0
        for repeat_ in 0...repeats {
            try world.barrier()
            let (sentBefore, waitedBefore) = (vote.bytesSent, vote.secondsInCollectives)
            let clock = ContinuousClock(), start = clock.now
            try vote.apply(gradients, step: repeat_)
            try device.synchronize()
            let elapsed = seconds(clock.now - start)
            if repeat_ > 0 {
                times.append(elapsed)
                outside.append(elapsed - (vote.secondsInCollectives - waitedBefore))
            }
            bytes = vote.bytesSent - sentBefore
        }
        // The last step's vote, recomputed from every rank's packed signs in one place.
        let words = (length + 31) / 32
        guard let packed = vote.packedSigns else { preconditionFailure("the vote packed nothing") }
        let all = try world.allGather(try device.download(packed.slice(0, words), as: UInt32.self))
        let expected = try device.makeBuffer(count: length)
        try device.signVote(try device.upload(all).whole, workers: world.size, stride: words, into: expected.whole,
                            tie: tie, key: PhiloxKey(seed: 11, step: UInt32(repeats),
                                                     stream: PhiloxStream.Streams.tieBreaking))
        let agrees = try device.download(expected.whole) == device.download(result.whole)
        let everywhere = try world.allReduce([agrees ? 1.0 : 0.0] as [Double], .minimum)[0] == 1
        return (try slowestRank(world, median(times)), try slowestRank(world, median(outside)), Double(bytes), everywhere)
    }

    /// The largest of the ranks' values: an exchange is done when its slowest rank is.
    private func slowestRank(_ world: any Communicator, _ value: Double) throws -> Double {
        try world.allReduce([value], .maximum)[0]
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    private func report(n: Int, ranks: Int, scheme: String, bytes: Double, seconds: Double, outside: Double,
                        baseline: (bytes: Double, seconds: Double)?, validated: Bool) {
        let projected = Self.links.map { (name: $0.name, seconds: bytes * 8 / $0.bitsPerSecond + outside) }
        let baselineProjected = baseline.map { b in Self.links.map { b.bytes * 8 / $0.bitsPerSecond } }
        if json {
            var o = JSONObject()
            o.add("bench", "allreduce")
            o.add("length", n)
            o.add("ranks", ranks)
            o.add("scheme", scheme)
            o.add("bytes_per_rank", Int(bytes.rounded()))
            o.add("ms_median", seconds * 1e3)
            o.add("ms_outside_collectives", outside * 1e3)
            for (index, link) in projected.enumerated() {
                o.add("ms_projected_\(link.name)", link.seconds * 1e3)
                if let baselineProjected { o.add("of_fp32_\(link.name)", link.seconds / baselineProjected[index]) }
            }
            if let baseline {
                o.add("fewer_bytes", baseline.bytes / bytes)
                o.add("of_fp32_loopback", seconds / baseline.seconds)
            }
            o.add("validated", validated)
            Console.line(o.line)
            return
        }
        var line = "d=\(pad(String(n), 9)) \(pad(scheme, 22)) \(pad(format(bytes / 1e6, 3), 8)) MB/rank"
        if let baseline { line += " (\(format(baseline.bytes / bytes, 1))x fewer)" } else { line += "              " }
        line += "  \(pad(format(seconds * 1e3, 2), 8)) ms"
        if let baseline { line += " (\(format(seconds / baseline.seconds, 2))x)" } else { line += "        " }
        line += "  projected"
        for (index, link) in projected.enumerated() {
            line += " \(link.name) \(format(link.seconds * 1e3, 2)) ms"
            if let baselineProjected { line += " (\(format(link.seconds / baselineProjected[index], 3))x)" }
        }
        Console.line(line + (validated ? "" : "  NOT VALIDATED"))
    }
}

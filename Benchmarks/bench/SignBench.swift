import ArgumentParser
import CommandLineSupport
import Compute

/// `bench sign`: the 1-bit kernels (pack, noisy pack, a vote of 8 workers, error feedback) at
/// gradient lengths beside a plain device copy of the same floats in the same run, each
/// validated against the CPU reference, with the fraction of the copy's bandwidth.
struct SignBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Time the sign kernels against a device copy, as a fraction of its bandwidth.")

    @Option(help: "Comma-separated backends: gpu, cuda, cpu, opencl, auto.")
    var device = "cpu"

    @Option(help: "Comma-separated vector lengths.")
    var lengths = "1000000,25000000"

    @Option(help: "Timed repeats per kernel (after one warm-up).")
    var repeats = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    @OptionGroup var tuning: TuningOptions

    var sizes: [Int] { lengths.split(separator: ",").compactMap { Int($0) } }

    func validate() throws {
        guard !sizes.isEmpty, sizes.count == lengths.split(separator: ",").count, sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 28 }),
              repeats > 0 else {
            throw ValidationError("--lengths must be comma-separated lengths in 1...2^28 and --repeats positive")
        }
    }

    /// The copy and error feedback at length n; the sign family's cases are `bench kernels`'.
    static func cases(length n: Int) -> [KernelsBench.Case] {
        [
            // The copy as a kernel (y = 1·x + 0·y), so that kernel devices time it with events on
            // the same clock as the sign kernels (a runtime's buffer copy has no kernel event).
            KernelsBench.Case(family: "copy", name: "copy", shape: "\(n)", bytes: 8 * Double(n), inputs: [n], outputs: [n],
                              tolerance: 0) { d, b in
                try d.axpby(alpha: 1, x: b[0].whole, beta: 0, y: b[1].whole)
            },
        ] + KernelsBench.signCases(length: n) + [
            // p = γg + e, ‖p‖₁ (one pass), then Δ = (‖p‖₁/d)·sign(p), e ← p − Δ: g and e read, e
            // and Δ written, counted once each (16 bytes a coordinate).
            KernelsBench.Case(family: "sign", name: "error_feedback", shape: "\(n)", bytes: 16 * Double(n),
                              inputs: [n, n], outputs: [1, n], tolerance: 1e-3) { d, b in
                try d.errorFeedback(b[0].whole, gamma: 1, memory: b[1].whole, norm: b[2].whole, into: b[3].whole)
            },
        ]
    }

    func run() throws {
        runReportingFailures(command: "bench sign") {
            let reporter = Reporter(json: json)
            let devices = try parseDevices(device, tuning: tuning)
            for n in sizes {
                let results = try KernelsBench.measure(Self.cases(length: n), on: devices, repeats: repeats)
                for var m in results {
                    let copy = results.first { $0.backend == "copy" && $0.device == m.device && $0.deviceName == m.deviceName }
                    if m.backend != "copy", let copyRate = copy?.gigabytesPerSecond, let rate = m.gigabytesPerSecond {
                        m.extra = [("of_copy", rate / copyRate)]
                    }
                    reporter.report(m)
                }
            }
        }
    }
}

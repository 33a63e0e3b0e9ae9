import Compute
import Testing

/// The bench command validates before it times: every line it prints must say so.
@Suite("bench command")
struct BenchCommandTests {
    @Test("matmul on awkward shapes, CPU and OpenCL side by side, validated")
    func matmul() {
        let result = run("bench", ["matmul", "--device", "cpu,opencl", "--shapes", "17x33x65:nt,1x1x1,0x5x7,64x3x129:tn",
                                   "--repeats", "2", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        // Per shape: fathom and cblas on the CPU, fathom (and CLBlast when installed) on OpenCL.
        #expect(lines.count >= 12, "\(result.stdout)")
        for line in lines {
            #expect(line.contains("\"validated\":true"), "\(line)")
            for key in ["\"kernel\":\"matmul\"", "\"device\":", "\"shape\":", "\"ms_median\":", "\"ms_min\":"] {
                #expect(line.contains(key), "\(key) missing in \(line)")
            }
        }
        #expect(lines.contains { $0.contains("\"backend\":\"cblas\"") && $0.contains("\"device\":\"cpu\"") })
        #expect(lines.contains { $0.contains("\"backend\":\"fathom\"") && $0.contains("\"device\":\"opencl\"") })
    }

    @Test("kernels and step print validated figures")
    func kernelsAndStep() {
        let kernels = run("bench", ["kernels", "--device", "cpu,opencl", "--repeats", "1", "--json"])
        #expect(kernels.status == 0, "stderr: \(kernels.stderr)")
        let kernelLines = kernels.stdout.split(separator: "\n")
        // Every family of the registry but matmul (bench matmul's) on both devices.
        for family in KernelRegistry.families.map(\.name) where family != "matmul" {
            for device in ["cpu", "opencl"] {
                #expect(kernelLines.contains { $0.contains("\"kernel\":\"\(family)\"") && $0.contains("\"device\":\"\(device)\"") },
                        "no \(family) row on \(device)")
            }
        }
        #expect(kernelLines.allSatisfy { $0.contains("\"validated\":true") }, "\(kernels.stdout)")

        let step = run("bench", ["step", "--device", "cpu", "--model", "mlp:16", "--batch-size", "32",
                                 "--repeats", "2", "--json"])
        #expect(step.status == 0, "stderr: \(step.stderr)")
        #expect(step.stdout.contains("\"step_over_products\":"))
        #expect(step.stdout.contains("\"validated\":true"))
    }

    @Test("dp times every mode beside the non-private step, and the materialised mode's peak memory holds its per-sample gradients")
    func dp() {
        let result = run("bench", ["dp", "--device", "cpu,opencl", "--model", "mlp:16", "--batch-sizes", "16",
                                   "--repeats", "2", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 8 && lines.allSatisfy { $0.contains("\"validated\":true") }, "\(result.stdout)")
        func peak(_ mode: String, _ device: String) -> Double? {
            let line = lines.first { $0.contains("\"shape\":\"mlp:16@16\(mode)\"") && $0.contains("\"device\":\"\(device)\"") }
            return line?.split(separator: ",").first { $0.hasPrefix("\"peak_mb\":") }
                .flatMap { Double($0.dropFirst("\"peak_mb\":".count)) }
        }
        for device in ["cpu", "opencl"] {
            guard let plain = peak("", device), let ghost = peak(" ghost", device), let full = peak(" materialized", device) else {
                Issue.record("missing rows on \(device): \(result.stdout)")
                continue
            }
            // The workspace holds the largest layer's per-sample gradients, 16 × (784·16 + 16).
            let perSample = 16.0 * 12_560 * 4 / 1_048_576
            #expect(full - plain >= perSample && full - plain < 2 * perSample, "\(device): \(plain) \(full)")
            #expect(ghost - plain < 0.05 * perSample, "\(device): ghost \(ghost) against \(plain)")
        }
        #expect(run("bench", ["dp", "--modes", "fast"]).status == 64)
        #expect(run("bench", ["dp", "--batch-sizes", "0"]).status == 64)
    }

    @Test("sign times the 1-bit kernels beside a copy on both devices, validated, with their share of its bandwidth")
    func sign() {
        let result = run("bench", ["sign", "--device", "cpu,opencl", "--lengths", "1031", "--repeats", "2", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 14 && lines.allSatisfy { $0.contains("\"validated\":true") }, "\(result.stdout)")
        for name in ["pack", "noisy_pack", "vote_of_8", "vote_bits_8", "unpack_ternary", "error_feedback"] {
            #expect(lines.filter { $0.contains("\"backend\":\"\(name)\"") && $0.contains("\"of_copy\":") }.count == 2, "\(name)")
        }
        #expect(run("bench", ["sign", "--lengths", "0"]).status == 64)
    }

    @Test("allreduce under mpirun: fp32 against the vote, validated, bytes as the schemes predict; alone it is a usage error")
    func allreduce() {
        let result = runMPI(2, "bench", ["allreduce", "--lengths", "1000,4099", "--repeats", "2", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        // Rank 0 alone reports: fp32 and the two tie rules at each length.
        #expect(lines.count == 6 && lines.allSatisfy { $0.contains("\"validated\":true") }, "\(result.stdout)")
        // 2 ranks, d = 4099: fp32 sends 2·(1/2)·4d bytes; the vote one chunk of ⌈129/2⌉ = 65 words each
        // phase, and a tie word per sign word under tie zero.
        let d4099 = lines.filter { $0.contains("\"length\":4099") }
        #expect(d4099.contains { $0.contains("fp32") && $0.contains("\"bytes_per_rank\":16396") })
        #expect(d4099.contains { $0.contains("tie zero") && $0.contains("\"bytes_per_rank\":780") })
        #expect(d4099.contains { $0.contains("tie random") && $0.contains("\"bytes_per_rank\":520") })
        #expect(run("bench", ["allreduce"]).status == 64)
    }

    @Test("compile builds every family for OpenCL and, through NVRTC, for CUDA without a GPU")
    func compile() {
        for runtime in ["opencl", "cuda"] {
            let result = run("bench", ["compile", "--runtime", runtime, "--arch", "sm_90", "--json"],
                             environment: ["FATHOM_NVRTC": nvrtcForTests ?? ""])
            #expect(result.status == 0, "\(runtime): \(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            for program in KernelRegistry.programs {
                let specialization = program.specialization.name
                #expect(lines.contains { $0.contains("\"build\":\"\(program.build.name)\"") && $0.contains("\"compiled\":true")
                                         && (specialization.isEmpty || $0.contains("\"specialization\":\"\(specialization)\"")) },
                        "\(runtime): \(program.name) not compiled in \(result.stdout)")
            }
            #expect(lines.count == KernelRegistry.programs.count)
            if runtime == "cuda" {
                #expect(lines.allSatisfy { $0.contains("\"registers\":") && $0.contains("\"spill_bytes\":0") })
            }
        }
        // A runtime asked for that is missing is one line and exit 69, never a crash.
        let noDevice = run("bench", ["matmul", "--device", "cuda"])
        if noDevice.status != 0 {
            #expect(noDevice.status == 69)
            #expect(noDevice.stderr.split(separator: "\n").count == 1, "\(noDevice.stderr)")
        }
    }

    @Test("bad arguments are refused with a usage error")
    func badArguments() {
        #expect(run("bench", ["matmul", "--shapes", "3x3"]).status == 64)
        #expect(run("bench", ["matmul", "--shapes", "99999999x99999999x99999999"]).status == 64)
        #expect(run("bench", ["step", "--batch-size", "100000000"]).status == 64)
        #expect(run("bench", ["matmul", "--device", "tpu"]).status == 64)
        #expect(run("bench", ["matmul", "--device", "opencl", "--kernel-define", "matmul:TILE_M=30"]).status == 64)
        #expect(run("bench", ["compile", "--kernel-define", "matmul:NO_SUCH_KNOB=1"]).status == 64)
        #expect(run("bench", ["compile", "--arch", "90"]).status == 64)
        #expect(run("train", ["sgd", "--device", "opencl"], environment: ["FATHOM_KERNEL_DEFINES": "nonsense"]).status == 64)
    }
}

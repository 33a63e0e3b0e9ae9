@testable import Compute
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The CUDA runtime without a GPU: every kernel build compiles through NVRTC (which needs no
/// GPU or driver) to an sm_90 cubin, error logs name our files, and a missing driver is an
/// ordinary "no CUDA device". The test command installs NVRTC's Python wheel under `.nvrtc/`.
@Suite("CUDA: NVRTC builds and device discovery")
struct CUDATests {
    /// NVRTC from the usual places, else the wheel the test command installed in the package.
    static let nvrtc: NVRTC? = {
        let local = globPaths(packageRoot + "/.nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so*")
            .filter { !$0.contains("builtins") && !$0.contains(".alt.") }
        return try? NVRTC.load(candidates: NVRTC.candidates() + local)
    }()

    private func compiler() throws -> NVRTC {
        guard let nvrtc = Self.nvrtc else {
            // The README's test command installs the wheel; its absence is a broken setup, not a skip.
            throw ComputeError.noNVRTC(tried: NVRTC.candidates() + [packageRoot + "/.nvrtc"])
        }
        return nvrtc
    }

    @Test("every build compiles to an sm_90 cubin with no register spills, for every specialisation",
          arguments: KernelRegistry.programs.indices)
    func everyBuildCompiles(_ index: Int) throws {
        let nvrtc = try compiler()
        let entry = KernelRegistry.programs[index]
        let build = entry.name
        let program = KernelDevice.program(entry.build.name, values: [:], specialization: entry.specialization)
        let output = try nvrtc.compile(program.source(runtimePreludes: ["cuda_compat"]), name: build,
                                       architecture: "sm_90", defines: program.defines, resourceUsage: true)
        // An ELF file: what cuModuleLoadData takes for the device's exact architecture.
        #expect(Array(output.cubin.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])
        let usage = try #require(RegisterUsage(ptxasLog: output.log), "no ptxas report in: \(output.log)")
        #expect(usage.spillBytes == 0, "\(build) spills \(usage.spillBytes) bytes")
        // At most 128 registers per thread leaves room for two 256-thread blocks per SM.
        #expect(usage.registers > 0 && usage.registers <= 128, "\(build) uses \(usage.registers) registers")
        for function in entry.build.family.functions {
            #expect(output.log.contains("'\(function)'"), "\(build): no entry point \(function) in \(output.log)")
        }
    }

    /// The sweep's candidates (vector widths, unrolling, prefetching, other tiles) are what a GPU
    /// run tries first; each must compile through NVRTC without spilling.
    @Test("every matmul tuning candidate compiles for sm_90 without spills", arguments: matmulTuningCandidates.indices)
    func candidatesCompile(_ index: Int) throws {
        let nvrtc = try compiler()
        let resolved = try KernelRegistry.resolve(matmulTuningCandidates[index])
        for build in matmulTuningCandidates[index].keys.sorted() {
            let program = KernelDevice.program(build, values: resolved[build] ?? [:],
                                               specialization: GemmLayout.tn.specialization)
            let output = try nvrtc.compile(program.source(runtimePreludes: ["cuda_compat"]), name: program.buildName,
                                           architecture: "sm_90", defines: program.defines, resourceUsage: true)
            let usage = try #require(RegisterUsage(ptxasLog: output.log), "no ptxas report in: \(output.log)")
            #expect(usage.spillBytes == 0, "candidate \(index) \(build) spills \(usage.spillBytes) bytes")
        }
    }

    @Test("an NVRTC error names the kernel file and its own line")
    func errorsNameFiles() throws {
        let nvrtc = try compiler()
        let broken = ProgramText(buildName: "broken",
                                 pieces: [.init(name: "philox", text: embeddedKernelFile("philox")),
                                          .init(name: "broken", text: "// 1\n__kernel void f() {\n  undefined_name = 3;\n}\n")],
                                 defines: [:], exactFloatMath: true)
        let source = broken.source(runtimePreludes: ["cuda_compat"])
        let result = Result { () throws(ComputeError) -> NVRTC.Output in
            try nvrtc.compile(source, name: "broken", architecture: "sm_90", defines: [:])
        }
        guard case .failure(.build(let family, let log)) = result else {
            Issue.record("expected a build error, got \(result)")
            return
        }
        #expect(family == "broken")
        #expect(log.contains("Kernels/broken.cl(3)"), "log: \(log)")
    }

    @Test("ptxas reports are parsed into registers and spills")
    func registerReport() {
        let log = """
            ptxas info    : Compiling entry function 'a' for 'sm_90'
            ptxas         .     8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads
            ptxas info    : Used 40 registers, used 1 barriers
            ptxas info    : Compiling entry function 'b' for 'sm_90'
            ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 64 registers, used 0 barriers
            """
        #expect(RegisterUsage(ptxasLog: log) == RegisterUsage(registers: 64, spillBytes: 16))
        #expect(RegisterUsage(ptxasLog: "no report") == nil)
    }

    @Test("a missing NVRTC is a typed error listing what was tried")
    func missingNVRTC() {
        #expect(throws: ComputeError.noNVRTC(tried: ["/nonexistent/libnvrtc.so"])) {
            try NVRTC.load(candidates: ["/nonexistent/libnvrtc.so"])
        }
    }

    @Test("without a CUDA driver there are no CUDA devices, and asking for one says why")
    func discovery() throws {
        let devices = try cudaDevices()
        if devices.isEmpty {
            #expect(!describeCUDADevices().isEmpty)
            #expect(throws: ComputeError.noCUDADevice(found: describeCUDADevices())) { try makeDevice(.cuda) }
        } else {
            #expect(devices.allSatisfy { $0.computeCapability.major >= 3 && $0.totalMemoryBytes > 0 })
        }
    }
}

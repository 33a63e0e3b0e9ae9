@testable import Compute
import KernelSources
import SystemIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The package root, found from this file's path (Tests/ComputeTests/…).
let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// Names of the entries of `directory` ending in `suffix`, or nil when it cannot be opened.
func fileNames(in directory: String, suffix: String) -> [String]? {
    guard let dir = opendir(directory) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasSuffix(suffix) { names.append(name) }
    }
    return names
}

func readFile(_ path: String) -> [UInt8]? { try? FileIO.read(path) }

@Suite("kernel sources, the registry, builds and the program cache")
struct KernelSourcesTests {
    @Test("every Kernels/*.cl file is embedded byte for byte, and is a family or a prelude of the registry")
    func embeddedBytesEqualFiles() throws {
        let directory = packageRoot + "/Kernels"
        guard let names = fileNames(in: directory, suffix: ".cl") else {
            Issue.record("cannot open \(directory)")
            return
        }
        let onDisk = names.map { String($0.dropLast(3)) }
        #expect(onDisk.sorted() == embeddedKernelFileNames().sorted())
        #expect(onDisk.sorted() == (KernelRegistry.families.map(\.name) + KernelRegistry.preludes).sorted())
        for name in embeddedKernelFileNames() {
            let file = readFile("\(directory)/\(name).cl")
            let embedded = fathom_kernel_source(name).map { Array(String(cString: $0).utf8) }
            #expect(file != nil && file == embedded, "Kernels/\(name).cl differs from its embedded copy")
        }
    }

    @Test("every declared knob is read by its family's .cl file, and every function exists there")
    func declarationsMatchSources() {
        for family in KernelRegistry.families {
            let source = embeddedKernelFile(family.name)
            for knob in family.knobs {
                #expect(source.contains("#ifndef \(knob.name)"), "\(family.name).cl lacks a guard for \(knob.name)")
            }
            for function in family.functions {
                #expect(source.contains(" \(function)("), "\(family.name).cl has no kernel \(function)")
            }
            #expect(source.split(separator: "__kernel", omittingEmptySubsequences: false).count - 1 == family.functions.count,
                    "\(family.name): the registry lists \(family.functions.count) functions")
        }
    }

    @Test("every build compiles on the OpenCL device")
    func everyBuildCompiles() throws {
        try Devices.openCL.compileAllKernels()
    }

    @Test("every build is compiled with all of its knobs and its specialisation's defines")
    func definesAlwaysPassed() throws {
        for entry in KernelRegistry.programs {
            let program = Devices.openCL.program(entry.build.name, specialization: entry.specialization)
            let expected = Set(entry.build.family.knobs.map(\.name)).union(entry.specialization.defines.keys)
            #expect(Set(program.defines.keys) == expected, "\(entry.name)")
            #expect(program.defineOptions.count == expected.count)
            #expect(program.buildName == entry.name)
        }
        #expect(Devices.openCL.program("matmul", specialization: GemmLayout.tn.specialization).defines["TRANS_A"] == "1")
        #expect(Devices.openCL.program("matmul").defines["TILE_M"] == String(Devices.openCL.knob("matmul", "TILE_M")))
    }

    /// A deliberate error after the Philox prelude: the log must name the family's own file and
    /// line, not a line counted from the start of the joined text.
    @Test("a build error carries the log, naming the kernel file and its own line after a prelude")
    func buildErrorNamesFile() throws {
        let runtime = try OpenCLRuntime(Devices.openCLInfo, cacheDirectory: nil)
        let broken = ProgramText(
            buildName: "broken",
            pieces: [.init(name: "philox", text: embeddedKernelFile("philox")),
                     .init(name: "broken", text: "// line 1\n// line 2\n#error deliberate failure on line 3\n")],
            defines: [:], exactFloatMath: true)
        do {
            _ = try runtime.compile(broken)
            Issue.record("a broken program compiled")
        } catch let error as ComputeError {
            guard case .build(let family, let log) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(family == "broken")
            #expect(log.contains("Kernels/broken.cl:3"), "log: \(log)")
            #expect(log.contains("deliberate failure"), "log: \(log)")
            #expect(error.description.hasPrefix("building Kernels/broken.cl failed"))
        }
    }

    @Test("tuning is validated against the registry's declarations")
    func tuningValidation() throws {
        #expect(throws: ComputeError.invalidTuning("matmul has no knob TILE_Q (knobs: TILE_M, TILE_N, TILE_K, WPT_M, WPT_N, VW, K_UNROLL, PREFETCH, GLOBAL_QUADS, SPLIT_K)")) {
            try KernelRegistry.resolve(["matmul": ["TILE_Q": "4"]])
        }
        #expect(throws: ComputeError.invalidTuning("conv has no knob X (it has none)")) {
            try KernelRegistry.resolve(["conv": ["X": "1"]])
        }
        #expect(throws: ComputeError.self) { try KernelRegistry.resolve(["nosuch": ["A": "1"]]) }
        #expect(throws: ComputeError.invalidTuning("matmul TILE_M=x must be an integer")) {
            try KernelRegistry.resolve(["matmul": ["TILE_M": "x"]])
        }
        // 128·(64 + 64 + 2)·4 bytes of local memory: refused before any compiler sees it.
        #expect(throws: ComputeError.self) { try KernelRegistry.resolve(["matmul": ["TILE_K": "128"]]) }
        let resolved = try KernelRegistry.resolve(["reduce": ["REDUCE_GROUP": "64"]])
        #expect(resolved["reduce"] == ["REDUCE_GROUP": 64])
        #expect(resolved["loss"] == ["STATS_GROUP": 256])
        #expect(resolved.count == KernelRegistry.builds.count)
    }

    @Test("compiled programs are cached on disk; corrupt entries are rebuilt silently")
    func diskCache() throws {
        let directory = "/tmp/fathom-cache-test-\(getpid())"
        defer { _ = system("rm -rf '\(directory)'") }
        let info = Devices.openCLInfo
        let first = try KernelDevice.openCL(info, cacheDirectory: directory)
        _ = try first.function("reduce", "column_sum")
        #expect(first.programCacheDiskHits == 0)

        let second = try KernelDevice.openCL(info, cacheDirectory: directory)
        _ = try second.function("reduce", "column_sum")
        #expect(second.programCacheDiskHits == 1)

        // Flip bytes in every cached entry: the next device must rebuild and still compute.
        guard let names = fileNames(in: directory, suffix: ".bin") else {
            Issue.record("no cache directory was created")
            return
        }
        let entries = names.map { directory + "/" + $0 }
        #expect(entries.count == 1)
        for path in entries {
            guard var bytes = readFile(path) else { continue }
            bytes[bytes.count / 2] ^= 0xFF
            #expect(throws: Never.self) { try FileIO.write(bytes, to: path) }
        }
        let third = try KernelDevice.openCL(info, cacheDirectory: directory)
        let x = try third.upload([1, 2, 3, 4, 5, 6])
        let out = try third.makeBuffer(count: 3)
        try third.columnSum(x.whole, rows: 2, cols: 3, beta: 0, into: out.whole)
        #expect(try third.download(out.whole) == [5, 7, 9])
        #expect(third.programCacheDiskHits == 0)
    }

    @Test("--device gpu and cuda without a GPU are typed errors listing what exists")
    func gpuRequestWithoutGPU() throws {
        let openCLGPU = try openCLDevices().contains(where: \.isGPU)
        let cuda = try cudaDevices()
        if openCLGPU || !cuda.isEmpty {
            #expect([DeviceKind.gpu, .cuda].contains(try makeDevice(.gpu).kind))
        } else {
            #expect(throws: ComputeError.noGPU(found: "OpenCL: \(describeOpenCLDevices()); CUDA: \(describeCUDADevices())")) {
                try makeDevice(.gpu)
            }
            #expect(try makeDevice(.auto).kind == .cpu)
        }
        if cuda.isEmpty {
            #expect(throws: ComputeError.noCUDADevice(found: describeCUDADevices())) { try makeDevice(.cuda) }
        }
    }

    @Test("OpenCL failures are typed errors naming the call and the code")
    func typedErrors() throws {
        #expect(ComputeError.openCL(call: "clEnqueueNDRangeKernel", code: -5).description
                == "clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES (-5)")
        #expect(openCLErrorName(-1001) == "CL_PLATFORM_NOT_FOUND_KHR")
        // Past what 32-bit kernel offsets address: refused before the driver is asked.
        #expect(throws: ComputeError.bufferTooLarge(count: 1 << 40)) { try Devices.openCL.makeBuffer(count: 1 << 40) }
        #expect(throws: ComputeError.bufferTooLarge(count: 1 << 40)) { try Devices.cpu.makeBuffer(count: 1 << 40) }
        // One float past the driver's largest allocation: its refusal is a typed error, not a crash.
        let count = Devices.openCLInfo.maxAllocationBytes / 4 + 1
        guard count <= maxBufferElements else { return }
        do {
            _ = try Devices.openCL.makeBuffer(count: count)
            Issue.record("a buffer past CL_DEVICE_MAX_MEM_ALLOC_SIZE was allocated")
        } catch let error as ComputeError {
            guard case .openCL(let call, let code) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(call.hasPrefix("clCreateBuffer"))
            #expect(code < 0)
        }
    }
}

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

@Suite("kernel sources, builds and the program cache")
struct KernelSourcesTests {
    static let families = (0..<fathom_kernel_family_count()).compactMap { index in
        fathom_kernel_family_name(index).map { String(cString: $0) }
    }

    @Test("every Kernels/*.cl file is embedded byte for byte")
    func embeddedBytesEqualFiles() throws {
        let directory = packageRoot + "/Kernels"
        guard let names = fileNames(in: directory, suffix: ".cl") else {
            Issue.record("cannot open \(directory)")
            return
        }
        let onDisk = names.map { String($0.dropLast(3)) }
        #expect(onDisk.sorted() == Self.families.sorted())
        for family in Self.families {
            let file = readFile("\(directory)/\(family).cl")
            let embedded = fathom_kernel_source(family).map { Array(String(cString: $0).utf8) }
            #expect(file != nil && file == embedded, "Kernels/\(family).cl differs from its embedded copy")
        }
    }

    @Test("every family builds on the OpenCL device")
    func everyFamilyBuilds() throws {
        try Devices.openCL.compileAllKernels()
    }

    /// TILE_K = 128 trips the local-memory guard (#error) at the top of Kernels/matmul.cl.
    @Test("a build error carries the log, naming the kernel file and line")
    func buildErrorNamesFile() throws {
        let device = try OpenCLDevice(Devices.openCL.info, kernelDefines: ["matmul": ["TILE_K": "128"]],
                                      cacheDirectory: nil)
        do {
            try device.compileAllKernels()
            Issue.record("a broken build option compiled")
        } catch let error as ComputeError {
            guard case .build(let family, let log) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(family == "matmul")
            #expect(log.contains("Kernels/matmul.cl:"), "log: \(log)")
            #expect(log.contains("32 KiB"), "log: \(log)")
            #expect(error.description.hasPrefix("building Kernels/matmul.cl failed"))
        }
    }

    @Test("compiled programs are cached on disk; corrupt entries are rebuilt silently")
    func diskCache() throws {
        let directory = "/tmp/fathom-cache-test-\(getpid())"
        defer { _ = system("rm -rf '\(directory)'") }
        let info = Devices.openCL.info
        let first = try OpenCLDevice(info, cacheDirectory: directory)
        _ = try first.kernel("reduce", "column_sum")
        #expect(first.programCacheDiskHits == 0)

        let second = try OpenCLDevice(info, cacheDirectory: directory)
        _ = try second.kernel("reduce", "column_sum")
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
        let third = try OpenCLDevice(info, cacheDirectory: directory)
        let x = try third.upload([1, 2, 3, 4, 5, 6])
        let out = try third.makeBuffer(count: 3)
        try third.columnSum(x.whole, rows: 2, cols: 3, beta: 0, into: out.whole)
        #expect(try third.download(out.whole) == [5, 7, 9])
        #expect(third.programCacheDiskHits == 0)
    }

    @Test("--device gpu without a GPU is a typed error listing what exists")
    func gpuRequestWithoutGPU() throws {
        let devices = try openCLDevices()
        if devices.contains(where: \.isGPU) {
            #expect(try makeDevice(.gpu).kind == .gpu)
        } else {
            #expect(throws: ComputeError.noGPU(found: describeOpenCLDevices())) { try makeDevice(.gpu) }
            #expect(try makeDevice(.auto).kind == .cpu)
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
        let count = Devices.openCL.info.maxAllocationBytes / 4 + 1
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

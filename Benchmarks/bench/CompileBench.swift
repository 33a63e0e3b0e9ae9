import ArgumentParser
import Artifacts
import CommandLineSupport
import Compute
import SystemIO

/// `bench compile`: builds every kernel build of the registry for one runtime without running
/// anything, so CI (no GPU) proves that each family compiles for CUDA through NVRTC, and a GPU
/// session sees registers and spills before it measures.
struct CompileBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile every kernel family for a runtime (no GPU needed for CUDA) and report each build.")

    enum Runtime: String, ExpressibleByArgument, CaseIterable {
        case opencl, cuda
    }

    @Option(help: "opencl (the first OpenCL device) or cuda (NVRTC only; no GPU or driver needed).")
    var runtime: Runtime = .opencl

    @Option(help: "CUDA target architecture, e.g. sm_90 (H100/H200), sm_80 (A100).")
    var arch = "sm_90"

    @Flag(help: "One JSON object per build.")
    var json = false

    @Flag(help: "List every build's knobs with their values and constraints instead of compiling.")
    var knobs = false

    @OptionGroup var tuning: TuningOptions

    func validate() throws {
        guard arch.hasPrefix("sm_"), Int(arch.dropFirst(3)) != nil else {
            throw ValidationError("--arch must look like sm_90")
        }
    }

    func run() throws {
        runReportingFailures(command: "bench compile") {
            var defines = try tuning.merged()
            if knobs {
                listKnobs(try KernelRegistry.resolve(defines))
                return
            }
            let compiler: (ProgramText) throws -> (log: String, registers: RegisterUsage?)
            let target: String
            switch runtime {
            case .opencl:
                let devices = try openCLDevices()
                guard let info = devices.first(where: \.isGPU) ?? devices.first else {
                    throw ComputeError.noOpenCLDevice(found: describeOpenCLDevices())
                }
                let opencl = try OpenCLRuntime(info, cacheDirectory: nil)
                // The device's own defaults, as every command that opens it would compile.
                for (build, values) in defaultTuning(isGPU: info.isGPU, deviceName: info.name) where defines[build] == nil {
                    defines[build] = values
                }
                compiler = { program in
                    _ = try opencl.compile(program)
                    return ("", nil)
                }
                target = opencl.deviceName
            case .cuda:
                let nvrtc = try NVRTC.load()
                compiler = { program in
                    let output = try nvrtc.compile(program.source(runtimePreludes: ["cuda_compat"]),
                                                   name: program.buildName, architecture: arch,
                                                   defines: program.defines, resourceUsage: true)
                    return (output.log, RegisterUsage(ptxasLog: output.log))
                }
                target = "\(nvrtc.description) for \(arch)"
            }
            let resolved = try KernelRegistry.resolve(defines)
            let programs = KernelRegistry.programs
            if !json { Console.line("compiling \(programs.count) programs (builds × specialisations) with \(target)") }
            var failed: [String] = []
            for entry in programs {
                let build = entry.build
                let values = resolved[build.name] ?? build.family.defaults
                let program = KernelDevice.program(build.name, values: values, specialization: entry.specialization)
                let clock = ContinuousClock()
                let start = clock.now
                var object = JSONObject()
                object.add("family", build.family.name)
                object.add("build", build.name)
                if !entry.specialization.name.isEmpty { object.add("specialization", entry.specialization.name) }
                object.add("runtime", runtime.rawValue)
                if runtime == .cuda { object.add("arch", arch) }
                do {
                    let result = try compiler(program)
                    let ms = seconds(clock.now - start) * 1e3
                    object.add("compiled", true)
                    object.add("ms", ms)
                    if let usage = result.registers {
                        object.add("registers", usage.registers)
                        object.add("spill_bytes", usage.spillBytes)
                    }
                    if json {
                        Console.line(object.line)
                    } else {
                        var line = "\(pad(entry.name, 17)) compiled in \(format(ms, 1)) ms"
                        if let usage = result.registers {
                            line += ", \(usage.registers) registers per thread, \(usage.spillBytes) spill bytes"
                        }
                        Console.line(line)
                    }
                } catch let error as ComputeError {
                    failed.append(entry.name)
                    let firstError = Self.firstErrorLine(error)
                    object.add("compiled", false)
                    object.add("ms", seconds(clock.now - start) * 1e3)
                    object.add("error", firstError)
                    Console.line(json ? object.line : "\(pad(entry.name, 17)) FAILED: \(firstError)")
                }
            }
            if !failed.isEmpty {
                throw CommandFailure("\(failed.count) of \(programs.count) programs failed to compile: "
                                     + failed.joined(separator: ", "), status: 70)
            }
        }
    }

    /// The first line of a build log that reports an error, else the error's first line.
    static func firstErrorLine(_ error: ComputeError) -> String {
        if case .build(_, let log) = error,
           let line = log.split(separator: "\n").first(where: { $0.contains("error") }) {
            return String(line)
        }
        return String(error.description.split(separator: "\n").first ?? "")
    }

    private func listKnobs(_ resolved: [String: [String: Int]]) {
        for build in KernelRegistry.builds {
            for knob in build.family.knobs {
                let value = resolved[build.name]?[knob.name] ?? knob.defaultValue
                if json {
                    var object = JSONObject()
                    object.add("build", build.name)
                    object.add("knob", knob.name)
                    object.add("value", value)
                    object.add("default", knob.defaultValue)
                    object.add("constraint", "\(knob.constraint)")
                    Console.line(object.line)
                } else {
                    Console.line("\(pad(build.name + ":" + knob.name, 24)) \(pad(String(value), 5)) "
                                 + "(default \(knob.defaultValue)) \(knob.summary)")
                }
            }
        }
    }
}

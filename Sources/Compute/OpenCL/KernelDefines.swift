/// Tuning overrides for the kernel families: family → (macro → value), prepended to a build as
/// `-D NAME=VALUE` over the `#ifndef` defaults at the top of each `Kernels/<family>.cl`.
public typealias KernelDefines = [String: [String: String]]

/// Parses `family:NAME=VALUE` items separated by commas, e.g. `matmul:TILE_M=128,matmul:WPT_M=8`.
/// - Throws: `ComputeError.invalidTuning` naming the malformed item.
public func parseKernelDefines(_ text: String) throws(ComputeError) -> KernelDefines {
    var defines: KernelDefines = [:]
    for item in text.split(separator: ",") {
        let familyAndDefine = item.split(separator: ":", maxSplits: 1)
        let nameAndValue = familyAndDefine.count == 2 ? familyAndDefine[1].split(separator: "=", maxSplits: 1) : []
        guard nameAndValue.count == 2, !familyAndDefine[0].isEmpty,
              nameAndValue[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              nameAndValue[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
        else {
            throw ComputeError.invalidTuning("'\(item)' is not family:NAME=VALUE")
        }
        defines[String(familyAndDefine[0]), default: [:]][String(nameAndValue[0])] = String(nameAndValue[1])
    }
    return defines
}

/// `FATHOM_KERNEL_DEFINES` from the environment (empty when unset), so a tuned configuration
/// found with `bench matmul --sweep` applies to every command without a rebuild.
public func environmentKernelDefines() throws(ComputeError) -> KernelDefines {
    guard let text = environment("FATHOM_KERNEL_DEFINES"), !text.isEmpty else { return [:] }
    return try parseKernelDefines(text)
}

/// Tuning for OpenCL devices that are not GPUs (PoCL), per family unless the caller sets that
/// family. PoCL runs a work-group as loops split at each barrier, so it wants few work-items per
/// group and much work per work-item. Measured on PoCL 3.1 (2-core EPYC, 2026-12-01):
/// - matmul, 128×128 tiles with 8×8 per work-item: `bench matmul --sweep` timed five
///   mlp:512,256 training products at 96.8 ms in all, against 211.7 ms with the GPU defaults;
/// - reductions in groups of 16: `bench kernels` column_sum 256×512 in 0.29 ms against 1.27 ms;
/// - narrow products keep the kernel's 64×64 defaults, which ran the cnn's products at batch 256
///   in 428 ms against 619 ms with the 128×128 tiles.
public let cpuDeviceTuning: KernelDefines = [
    "matmul": ["TILE_M": "128", "TILE_N": "128", "TILE_K": "16", "WPT_M": "8", "WPT_N": "8"],
    "reduce": ["REDUCE_GROUP": "16"],
    "loss": ["STATS_GROUP": "16"],
]

/// Measured tuning for GPUs, matched by a substring of the device name (the first match wins),
/// as CLBlast's database does. Empty until a GPU sweep (`bench matmul --sweep`, run by
/// `Benchmarks/gpu-check.sh`) has been recorded in Benchmarks/README.md; a GPU without an entry
/// uses the `#ifndef` defaults of the kernels.
public let gpuTuning: [(deviceName: String, defines: KernelDefines)] = []

/// The tuning a device gets unless the caller overrides a family: `cpuDeviceTuning` for
/// OpenCL devices that are not GPUs, the matching `gpuTuning` entry for GPUs, else nothing.
public func defaultTuning(for device: OpenCLDeviceInfo) -> KernelDefines {
    guard device.isGPU else { return cpuDeviceTuning }
    return gpuTuning.first { device.name.contains($0.deviceName) }?.defines ?? [:]
}

/// The matmul build used for narrow products (M or N at most `narrowMatmulLimit`, such as a
/// convolution's few output channels or a classifier's ten logits): large tiles would leave most
/// of each work-group idle there, so it has its own tuning, `kernelDefines["matmul-narrow"]`.
public let narrowMatmulVariant = "matmul-narrow"

/// Products with M or N up to this size use `narrowMatmulVariant`.
public let narrowMatmulLimit = 32

/// The kernel family a variant is built from: "matmul-narrow" → "matmul".
func sourceFamily(of variant: String) -> String {
    String(variant.prefix { $0 != "-" })
}

/// Matmul tile configurations worth trying on a new GPU, the default first, each applied to the
/// wide and the narrow builds alike. Each keeps 256 work-items per group and at most 33 KiB of
/// local memory.
public let matmulTuningCandidates: [KernelDefines] = [
    (64, 64, 16, 4, 4), (32, 32, 16, 2, 2), (64, 64, 8, 4, 4), (64, 64, 32, 4, 4),
    (128, 64, 16, 8, 4), (64, 128, 16, 4, 8), (128, 128, 16, 8, 8), (128, 128, 8, 8, 8),
].map { m, n, k, wm, wn in
    let tiles = ["TILE_M": "\(m)", "TILE_N": "\(n)", "TILE_K": "\(k)", "WPT_M": "\(wm)", "WPT_N": "\(wn)"]
    return ["matmul": tiles, narrowMatmulVariant: tiles]
}

extension OpenCLDevice {
    /// The integer value of tuning knob `name` of `family`: the override, else `fallback`, which
    /// must equal the knob's `#ifndef` default in `Kernels/<family>.cl`. The host needs the
    /// knobs that shape a launch (tile and work-group sizes).
    func tuning(_ family: String, _ name: String, default fallback: Int) -> Int {
        Self.tuning(kernelDefines, family, name, default: fallback)
    }

    static func tuning(_ defines: KernelDefines, _ family: String, _ name: String, default fallback: Int) -> Int {
        defines[family]?[name].flatMap { Int($0) } ?? fallback
    }

    /// Refuses overrides that no launch geometry fits, before any kernel is built: tiles that do
    /// not split into whole work-items would leave parts of C unwritten, and the tree reductions
    /// need power-of-two groups.
    static func checkTuning(_ defines: KernelDefines) throws(ComputeError) {
        let matmulKnobs = ["TILE_M", "TILE_N", "TILE_K", "WPT_M", "WPT_N"]
        let shaping = ["matmul", narrowMatmulVariant].flatMap { variant in matmulKnobs.map { (variant, $0) } }
            + [("reduce", "REDUCE_GROUP"), ("loss", "STATS_GROUP")]
        for (family, name) in shaping {
            if let text = defines[family]?[name], (Int(text) ?? 0) <= 0 {
                throw ComputeError.invalidTuning("\(family) \(name)=\(text) must be a positive integer")
            }
        }
        let value = { (family: String, name: String, fallback: Int) in tuning(defines, family, name, default: fallback) }
        for variant in ["matmul", narrowMatmulVariant] {
            guard value(variant, "TILE_M", 64) % value(variant, "WPT_M", 4) == 0,
                  value(variant, "TILE_N", 64) % value(variant, "WPT_N", 4) == 0 else {
                throw ComputeError.invalidTuning("\(variant) TILE_M and TILE_N must be multiples of WPT_M and WPT_N")
            }
        }
        for (family, name) in [("reduce", "REDUCE_GROUP"), ("loss", "STATS_GROUP")] {
            let group = value(family, name, 256)
            guard group & (group - 1) == 0 else {
                throw ComputeError.invalidTuning("\(family) \(name)=\(group) must be a power of two")
            }
        }
    }
}

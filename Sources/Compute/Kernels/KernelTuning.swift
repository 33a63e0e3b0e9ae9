/// Tuning overrides for kernel builds: build → (knob → value), e.g.
/// `["matmul": ["TILE_M": "128"]]`, over the defaults the registry declares.
public typealias KernelDefines = [String: [String: String]]

/// Parses `build:NAME=VALUE` items separated by commas, e.g. `matmul:TILE_M=128,matmul:WPT_M=8`.
/// Only the syntax is checked here; `KernelRegistry.resolve` checks builds, knobs and values.
/// - Throws: `ComputeError.invalidTuning` naming the malformed item.
public func parseKernelDefines(_ text: String) throws(ComputeError) -> KernelDefines {
    var defines: KernelDefines = [:]
    for item in text.split(separator: ",") {
        let buildAndDefine = item.split(separator: ":", maxSplits: 1)
        let nameAndValue = buildAndDefine.count == 2 ? buildAndDefine[1].split(separator: "=", maxSplits: 1) : []
        guard nameAndValue.count == 2, !buildAndDefine[0].isEmpty,
              nameAndValue[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              nameAndValue[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" })
        else {
            throw ComputeError.invalidTuning("'\(item)' is not build:NAME=VALUE")
        }
        defines[String(buildAndDefine[0]), default: [:]][String(nameAndValue[0])] = String(nameAndValue[1])
    }
    return defines
}

/// `FATHOM_KERNEL_DEFINES` from the environment (empty when unset), so a tuned configuration
/// found with `bench matmul --sweep` applies to every command without a rebuild.
public func environmentKernelDefines() throws(ComputeError) -> KernelDefines {
    guard let text = environment("FATHOM_KERNEL_DEFINES"), !text.isEmpty else { return [:] }
    return try parseKernelDefines(text)
}

/// Tuning for OpenCL devices that are not GPUs (PoCL), per build unless the caller sets that
/// build. PoCL runs a work-group as loops split at each barrier, so it wants few work-items per
/// group, much work per work-item, and columns multiplied as 8-wide vectors (one AVX2 register:
/// PoCL does not vectorise this kernel across work-items by itself). Measured on PoCL 3.1
/// (2-core EPYC, 2026-12-03, Benchmarks/README.md) against the scalar kernel of 2026-12-02:
/// - matmul, 128×128 tiles 16 deep, 8×8 per work-item in 8-wide vectors: 1024³ at 35 GFLOPS
///   against 20 (CLBlast 20);
/// - narrow products (M or N ≤ 32): 64×16 tiles 64 deep, 16×16 per work-item (4 work-items):
///   conv1's forward product 50176x16x64:nt at 17 GFLOPS against 6.3 with the scalar kernel
///   (10 with 64×32 tiles), 64x32x3136:tn at 15 against 10;
/// - short products (M ≤ 16): 16×32 tiles 64 deep, 16×8 per work-item (4 work-items):
///   16x64x50176:tn (the cnn's conv1 weight gradient, split along K) at 9.5–13 GFLOPS against 7.7,
///   the batched 8*16x25x576:tn (Conv2d per-sample gradients) at 4.5 against 2.6 (16×64 tiles
///   leave most of that product's 25 columns' tile idle);
/// - float4 global loads (`GLOBAL_QUADS`) on all three: 1024³ 31 → 46 GFLOPS, 16x64x50176:tn
///   11 → 17, 512x784x256:tn 31 → 33–42 (C harness, best of three, 2026-12-03);
/// - reductions in groups of 16: `bench kernels` column_sum 256×512 in 0.29 ms against 1.27 ms.
public let cpuDeviceTuning: KernelDefines = [
    "matmul": ["TILE_M": "128", "TILE_N": "128", "TILE_K": "16", "WPT_M": "8", "WPT_N": "8", "VW": "8",
               "GLOBAL_QUADS": "1"],
    "matmul-narrow": ["TILE_M": "64", "TILE_N": "16", "TILE_K": "64", "WPT_M": "16", "WPT_N": "16", "VW": "8",
                      "GLOBAL_QUADS": "1"],
    "matmul-short": ["TILE_M": "16", "TILE_N": "32", "TILE_K": "64", "WPT_M": "16", "WPT_N": "8", "VW": "8",
                     "GLOBAL_QUADS": "1"],
    "reduce": ["REDUCE_GROUP": "16"],
    "loss": ["STATS_GROUP": "16"],
]

/// Measured tuning for GPUs, matched by a substring of the device name (the first match wins),
/// as CLBlast's database does. Empty until a GPU sweep (`bench matmul --sweep`, run by
/// `Benchmarks/gpu-check.sh`) has been recorded in Benchmarks/README.md; a GPU without an entry
/// uses the registry's defaults, which `bench compile --runtime cuda --arch sm_90` shows to
/// compile without spills (unmeasured on a GPU).
public let gpuTuning: [(deviceName: String, defines: KernelDefines)] = []

/// Defaults for every GPU without a measured `gpuTuning` entry, where the registry's family
/// defaults do not fit a build's shapes: products of at most 16 rows get tiles 16 rows tall
/// (a 64-row tile would leave three quarters of each work-group idle). Unmeasured on a GPU;
/// `bench compile --runtime cuda --arch sm_90` shows no spills.
public let gpuBuildDefaults: KernelDefines = [
    "matmul-short": ["TILE_M": "16", "TILE_N": "64", "TILE_K": "16", "WPT_M": "2", "WPT_N": "4"],
]

/// The tuning a device gets unless the caller overrides a build: `cpuDeviceTuning` for devices
/// that are not GPUs; for GPUs the matching `gpuTuning` entry over `gpuBuildDefaults`.
public func defaultTuning(isGPU: Bool, deviceName: String) -> KernelDefines {
    guard isGPU else { return cpuDeviceTuning }
    var tuning = gpuBuildDefaults
    for (build, values) in gpuTuning.first(where: { deviceName.contains($0.deviceName) })?.defines ?? [:] {
        tuning[build] = values
    }
    return tuning
}

/// Matmul tile configurations worth trying on a new device, the default first: square-ish
/// tiles applied to the wide and the narrow builds alike (at most 33 KiB of local memory), in
/// 4-wide vectors and, for the CPU-type devices whose vector units want them, 8-wide; then
/// 16-row tiles for the short build; then fixed K splits of the narrow and short builds (the
/// automatic choice is `SPLIT_K=0`), K-loop unroll factors, register prefetching of the next
/// stage and float4 global loads.
public let matmulTuningCandidates: [KernelDefines] = {
    func tiles(_ m: Int, _ n: Int, _ k: Int, _ wm: Int, _ wn: Int, _ vw: Int) -> [String: String] {
        ["TILE_M": "\(m)", "TILE_N": "\(n)", "TILE_K": "\(k)", "WPT_M": "\(wm)", "WPT_N": "\(wn)", "VW": "\(vw)"]
    }
    let square = [
        (64, 64, 16, 4, 4, 4), (32, 32, 16, 2, 2, 2), (64, 64, 8, 4, 4, 4), (64, 64, 32, 4, 4, 4),
        (128, 64, 16, 8, 4, 4), (64, 128, 16, 4, 8, 4), (128, 128, 16, 8, 8, 4), (128, 128, 8, 8, 8, 4),
        (128, 128, 16, 8, 8, 8), (64, 32, 64, 16, 8, 8),
    ].map { m, n, k, wm, wn, vw -> KernelDefines in
        ["matmul": tiles(m, n, k, wm, wn, vw), narrowMatmulBuild: tiles(m, n, k, wm, wn, vw)]
    }
    let short = [(16, 64, 16, 2, 4, 4), (16, 64, 64, 4, 8, 4), (16, 32, 128, 4, 8, 8), (16, 64, 64, 16, 8, 8)]
        .map { m, n, k, wm, wn, vw -> KernelDefines in [shortMatmulBuild: tiles(m, n, k, wm, wn, vw)] }
    let splits = [2, 8, 32].map { slices -> KernelDefines in
        [narrowMatmulBuild: ["SPLIT_K": "\(slices)"], shortMatmulBuild: ["SPLIT_K": "\(slices)"]]
    }
    let unrolls = [2, 8].map { factor -> KernelDefines in
        ["matmul": ["K_UNROLL": "\(factor)"], narrowMatmulBuild: ["K_UNROLL": "\(factor)"],
         shortMatmulBuild: ["K_UNROLL": "\(factor)"]]
    }
    let prefetch: KernelDefines = ["matmul": ["PREFETCH": "1"], narrowMatmulBuild: ["PREFETCH": "1"],
                                   shortMatmulBuild: ["PREFETCH": "1"]]
    let quads: KernelDefines = ["matmul": ["GLOBAL_QUADS": "1"], narrowMatmulBuild: ["GLOBAL_QUADS": "1"],
                                shortMatmulBuild: ["GLOBAL_QUADS": "1"]]
    return square + short + splits + unrolls + [prefetch, quads]
}()

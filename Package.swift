// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Fathom",
    platforms: [.macOS(.v15)],
    products: [
        // The one library users link: `import Fathom` brings in every layer below.
        .library(name: "Fathom", targets: ["Fathom"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "privacy", targets: ["privacy"]),
        .executable(name: "attack", targets: ["attack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - C bindings (nothing but bindings)
        .systemLibrary(
            name: "COpenCL", pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // CUDA's driver API and NVRTC: declarations only, for libraries loaded with dlopen.
        .systemLibrary(name: "CCUDA"),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // MPI for multi-process training: MPICH by default, Open MPI when FATHOM_MPI=openmpi at
        // build time (Debian's pkg-config names; both give the same shim).
        .systemLibrary(
            name: "CMPI", pkgConfig: Context.environment["FATHOM_MPI"] == "openmpi" ? "ompi-c" : "mpich",
            providers: [.apt(Context.environment["FATHOM_MPI"] == "openmpi" ? ["libopenmpi-dev", "openmpi-bin"]
                                                                              : ["libmpich-dev", "mpich"])]),
        // The MPI calls as C functions (MPI's constants are macros Swift cannot import).
        .target(name: "MPIShim", dependencies: ["CMPI"]),
        // Kernel sources and the default data set, embedded at build time with C23 #embed.
        .target(name: "KernelSources"),
        .target(name: "EmbeddedData"),

        // MARK: - Device layer
        // Philox on the CPU's widest vector unit (chosen at run time), for the CPU device's fills.
        .target(name: "CPhiloxLanes"),
        .target(name: "Philox", dependencies: ["CPhiloxLanes"]),
        .target(name: "SystemIO"),
        .target(
            name: "Compute",
            dependencies: ["COpenCL", "CCUDA", "CBLAS", "KernelSources", "Philox", "SystemIO"]),

        // Ranks and their collectives: MPI and in-process implementations of one protocol.
        .target(name: "Distributed", dependencies: ["MPIShim", "Compute"]),

        // MARK: - Data, artifacts, training
        .target(name: "Datasets", dependencies: ["CZlib", "EmbeddedData", "Philox", "SystemIO"]),
        .target(name: "Artifacts", dependencies: ["CZlib", "SystemIO"]),
        .target(name: "Training", dependencies: ["Compute", "Datasets", "Artifacts", "Philox", "Distributed"]),
        .target(name: "Privacy", dependencies: ["Training", "Compute", "Philox"]),
        .target(name: "Compression", dependencies: ["Training", "Compute", "Philox", "Distributed"]),
        .target(name: "ZerothOrder", dependencies: ["Training", "Compute", "Philox", "SystemIO"]),
        .target(name: "Fathom",
                dependencies: ["Compute", "Datasets", "Artifacts", "Training", "Philox", "Privacy", "Compression",
                               "ZerothOrder", "Distributed"]),

        // MARK: - Command line
        .target(
            name: "CommandLineSupport",
            dependencies: ["Fathom", "SystemIO", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "train",
            dependencies: ["CommandLineSupport", "Fathom", "ZerothOrder",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "privacy",
            dependencies: ["CommandLineSupport", "Privacy", "Artifacts",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "attack",
            dependencies: ["CommandLineSupport", "ZerothOrder", "Compute", "Artifacts",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "bench",
            dependencies: ["CommandLineSupport", "Fathom", "ZerothOrder",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/bench"),

        // MARK: - Tests
        .testTarget(name: "PhiloxTests", dependencies: ["Philox"]),
        .testTarget(name: "ComputeTests", dependencies: ["Compute", "Philox", "KernelSources", "SystemIO"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Artifacts", "Compute", "Datasets"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "Training", "Compute", "Datasets", "Philox"]),
        .testTarget(name: "PrivacyTests", dependencies: ["Privacy", "Training", "Compute", "Datasets", "Philox"]),
        .testTarget(name: "ZerothOrderTests", dependencies: ["ZerothOrder", "Training", "Compute", "Datasets", "Philox"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Compute", "Training", "Compression", "Philox"]),
        .testTarget(name: "FathomTests", dependencies: ["Fathom", "CommandLineSupport"]),
    ],
    cLanguageStandard: .gnu2x
)

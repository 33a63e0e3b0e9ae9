/// Training state saved to disk so that a run can be resumed exactly.
///
/// ## File format (version 1)
///
/// All integers and floats are little-endian. A *string* is a UInt64 byte count followed by
/// that many bytes of UTF-8. An *array* is a UInt64 element count followed by the elements.
///
/// | offset | size | field                                                                  |
/// |-------:|-----:|------------------------------------------------------------------------|
/// |      0 |    8 | magic, the ASCII bytes `FATHOMCK`                                       |
/// |      8 |    4 | format version, UInt32 (`1`)                                            |
/// |     12 |    8 | total file length in bytes, UInt64, this header and the CRC included    |
/// |     20 |    … | `modelSpec` string, `optimizer` string                                  |
/// |      … |   24 | `epoch` Int64, `step` Int64, `seed` UInt64                              |
/// |      … |    … | `parameters` array of Float32 (IEEE 754 bit patterns)                   |
/// |      … |    … | `optimizerState` array of Float32                                       |
/// |      … |    … | `metadata` array of (key string, value string), keys strictly ascending |
/// |      … |    … | `history` array of (epoch Int64, trainLoss, trainAccuracy, testLoss,    |
/// |        |      | testAccuracy, seconds: Float64)                                         |
/// |  L − 4 |    4 | CRC-32 (zlib polynomial) of bytes 0 ..< L − 4                           |
///
/// The bytes are a pure function of the value: metadata is written in key order, so the same
/// state always produces the same file.
///
/// Readers check, in order: the magic, the version, the recorded length against the actual
/// size (shorter means truncated), the CRC, and then every count against the bytes that remain
/// before allocating anything, so corrupt or hostile files are refused with an error naming
/// the file, never with a crash or a huge allocation.
public struct Checkpoint: Sendable, Equatable {
    /// The model architecture, for example `"mlp:512,256"`. Resuming with a different spec
    /// would load parameters into the wrong shapes, so callers must compare it and refuse.
    public var modelSpec: String
    /// The optimizer name, for example `"adam"`; it determines the layout of `optimizerState`.
    public var optimizer: String
    /// The number of completed epochs.
    public var epoch: Int
    /// The global optimizer step.
    public var step: Int
    /// The run's random seed.
    public var seed: UInt64
    /// The flat parameter buffer.
    public var parameters: [Float]
    /// The flat optimizer slots (momentum, Adam moments...).
    public var optimizerState: [Float]
    /// Free-form facts about the run (device, data set, flags).
    public var metadata: [String: String]
    /// Metrics of every completed epoch, so a resumed run can still plot the whole curve.
    public var history: [EpochRecord]

    /// The format version this build writes and the only one it reads.
    public static let formatVersion: UInt32 = 1

    /// The first eight bytes of every checkpoint: ASCII `FATHOMCK`.
    static let magic: [UInt8] = Array("FATHOMCK".utf8)
    /// Magic, version and total length.
    static let headerSize = 20
    static let checksumSize = 4
    static let lengthOffset = 12
    /// Size of one serialized `EpochRecord`: an Int64 and five Float64s.
    static let recordSize = 48

    /// Creates a checkpoint.
    /// - Parameters:
    ///   - modelSpec: the model architecture string.
    ///   - optimizer: the optimizer name.
    ///   - epoch: completed epochs.
    ///   - step: global optimizer step.
    ///   - seed: the run's random seed.
    ///   - parameters: the flat parameter buffer.
    ///   - optimizerState: the flat optimizer slots.
    ///   - metadata: free-form facts about the run.
    ///   - history: metrics of the completed epochs.
    public init(
        modelSpec: String, optimizer: String, epoch: Int, step: Int, seed: UInt64,
        parameters: [Float], optimizerState: [Float],
        metadata: [String: String] = [:], history: [EpochRecord] = []
    ) {
        self.modelSpec = modelSpec
        self.optimizer = optimizer
        self.epoch = epoch
        self.step = step
        self.seed = seed
        self.parameters = parameters
        self.optimizerState = optimizerState
        self.metadata = metadata
        self.history = history
    }

    /// Writes the checkpoint to `path` atomically: after a crash the file holds either the
    /// previous checkpoint or this one, never a mixture.
    /// - Parameter path: the checkpoint file; its directory must exist.
    /// - Throws: `ArtifactError` naming `path`; the previous file is then left untouched.
    public func write(to path: String) throws(ArtifactError) {
        try AtomicFile.write(serialized(), to: path)
    }

    /// Reads and validates the checkpoint at `path`.
    /// - Parameter path: the checkpoint file.
    /// - Throws: `ArtifactError` naming `path` if it cannot be read or is not a valid
    ///   checkpoint of a supported version.
    public static func read(from path: String) throws(ArtifactError) -> Checkpoint {
        try Checkpoint(bytes: fileBytes(path), name: path)
    }

    /// The bytes of the checkpoint file at `path`, unchecked (`init(bytes:name:)` validates
    /// them): what rank 0 reads and sends to the other ranks of an MPI job.
    /// - Throws: `ArtifactError` naming `path` if it cannot be opened or read.
    public static func fileBytes(_ path: String) throws(ArtifactError) -> [UInt8] {
        try AtomicFile.read(path)
    }

    /// The checkpoint in the file format described on the type.
    public func serialized() -> [UInt8] {
        var size = Self.headerSize + Self.checksumSize
        size += 16 + modelSpec.utf8.count + optimizer.utf8.count + 24
        size += 16 + 4 * (parameters.count + optimizerState.count)
        size += 8 + metadata.reduce(0) { $0 + 16 + $1.key.utf8.count + $1.value.utf8.count }
        size += 8 + Self.recordSize * history.count

        var writer = ByteWriter(capacity: size)
        writer.raw(Self.magic)
        writer.u32(Self.formatVersion)
        writer.u64(0)  // total length, patched below
        writer.string(modelSpec)
        writer.string(optimizer)
        writer.i64(epoch)
        writer.i64(step)
        writer.u64(seed)
        writer.floats(parameters)
        writer.floats(optimizerState)
        writer.u64(UInt64(metadata.count))
        for key in metadata.keys.sorted() {
            writer.string(key)
            writer.string(metadata[key] ?? "")
        }
        writer.u64(UInt64(history.count))
        for record in history {
            writer.i64(record.epoch)
            writer.f64(record.trainLoss)
            writer.f64(record.trainAccuracy)
            writer.f64(record.testLoss)
            writer.f64(record.testAccuracy)
            writer.f64(record.seconds)
        }
        return Self.seal(writer)
    }

    /// Fills in the total length and appends the CRC.
    static func seal(_ writer: ByteWriter) -> [UInt8] {
        var writer = writer
        writer.patchU64(UInt64(writer.bytes.count + checksumSize), at: lengthOffset)
        writer.u32(CRC32.checksum(writer.bytes, count: writer.bytes.count))
        return writer.bytes
    }

    /// Decodes and validates a checkpoint held in memory.
    /// - Parameters:
    ///   - bytes: the file contents.
    ///   - name: the file name to put in errors.
    /// - Throws: `ArtifactError` naming `name` if `bytes` is not a valid checkpoint of a
    ///   supported version.
    public init(bytes: [UInt8], name: String) throws(ArtifactError) {
        func failure(_ kind: ArtifactError.Kind, _ message: String) -> ArtifactError {
            ArtifactError(path: name, kind: kind, message: message)
        }
        let size = bytes.count
        let magicSize = Self.magic.count
        if size < magicSize {
            // A prefix of the magic is most likely a checkpoint cut short; anything else is not ours.
            if Self.magic.starts(with: bytes) {
                throw failure(.truncated, "truncated: only \(size) bytes, not a complete checkpoint")
            }
            throw failure(.notACheckpoint, "not a Fathom checkpoint")
        }
        guard bytes[0..<magicSize].elementsEqual(Self.magic) else {
            throw failure(.notACheckpoint, "not a Fathom checkpoint")
        }
        guard size >= magicSize + 4 else {
            throw failure(.truncated, "truncated: only \(size) bytes, not a complete checkpoint")
        }
        let version = ByteReader.u32(bytes, at: magicSize)
        guard version == Self.formatVersion else {
            throw failure(
                .unsupportedVersion(version),
                "checkpoint format version \(version) is not supported (expected \(Self.formatVersion))")
        }
        guard size >= Self.headerSize else {
            throw failure(.truncated, "truncated: only \(size) bytes, not a complete checkpoint")
        }
        let declared = ByteReader.u64(bytes, at: Self.lengthOffset)
        guard declared >= UInt64(Self.headerSize + Self.checksumSize) else {
            throw failure(.malformed, "corrupt header: recorded length \(declared) is impossible")
        }
        guard declared <= UInt64(size) else {
            throw failure(.truncated, "truncated: header records \(declared) bytes but the file has \(size)")
        }
        guard declared == UInt64(size) else {
            throw failure(.malformed, "\(size) bytes but the header records \(declared): trailing data")
        }
        let bodyEnd = size - Self.checksumSize
        let stored = ByteReader.u32(bytes, at: bodyEnd)
        guard CRC32.checksum(bytes, count: bodyEnd) == stored else {
            throw failure(.checksumMismatch, "checksum mismatch: file is corrupt")
        }

        var reader = ByteReader(bytes, from: Self.headerSize, to: bodyEnd, name: name)
        modelSpec = try reader.string("modelSpec")
        optimizer = try reader.string("optimizer")
        epoch = try reader.i64("epoch")
        step = try reader.i64("step")
        seed = try reader.u64("seed")
        parameters = try reader.floats("parameters")
        optimizerState = try reader.floats("optimizerState")

        let metadataCount = try reader.count("metadata", elementSize: 16)
        var metadata: [String: String] = [:]
        var previousKey: String?
        for _ in 0..<metadataCount {
            let key = try reader.string("metadata key")
            let value = try reader.string("metadata value")
            // Keys are written sorted; anything else means a duplicate or a foreign writer, and
            // accepting it would break the one-value-one-file property.
            if let previousKey, !(previousKey < key) {
                throw failure(.malformed, "metadata keys are not in strictly ascending order")
            }
            previousKey = key
            metadata[key] = value
        }
        self.metadata = metadata

        let historyCount = try reader.count("history", elementSize: Self.recordSize)
        var history: [EpochRecord] = []
        history.reserveCapacity(historyCount)
        for _ in 0..<historyCount {
            history.append(
                EpochRecord(
                    epoch: try reader.i64("history epoch"),
                    trainLoss: try reader.f64("history trainLoss"),
                    trainAccuracy: try reader.f64("history trainAccuracy"),
                    testLoss: try reader.f64("history testLoss"),
                    testAccuracy: try reader.f64("history testAccuracy"),
                    seconds: try reader.f64("history seconds")))
        }
        self.history = history

        guard reader.remaining == 0 else {
            throw failure(.malformed, "\(reader.remaining) unexpected bytes after the history")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Artifacts

private func sampleCheckpoint() -> Checkpoint {
    Checkpoint(
        modelSpec: "mlp:512,256", optimizer: "adam", epoch: 3, step: 1_407, seed: 0xDEAD_BEEF_0123_4567,
        parameters: [0, -0.0, 1.5, -2.25, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity],
        optimizerState: [0.125, 3e-8, -7],
        metadata: ["device": "cpu", "データ": "✓ café", "flags": "--dp --clip 1.0", "empty": ""],
        history: [
            EpochRecord(epoch: 1, trainLoss: 2.3, trainAccuracy: 0.11, testLoss: 2.2, testAccuracy: 0.12, seconds: 1.5),
            EpochRecord(epoch: 2, trainLoss: 1.1, trainAccuracy: 0.61, testLoss: .nan, testAccuracy: .nan, seconds: 1.25),
            EpochRecord(epoch: 3, trainLoss: 0.4, trainAccuracy: 0.88, testLoss: 0.5, testAccuracy: 0.86, seconds: 1.0),
        ])
}

/// A small checkpoint whose every byte can be tampered with in a test.
private func smallCheckpoint() -> Checkpoint {
    Checkpoint(
        modelSpec: "mlp:4", optimizer: "sgd", epoch: 1, step: 10, seed: 42,
        parameters: [0.5, -1], optimizerState: [0.25], metadata: ["k": "v"],
        history: [EpochRecord(epoch: 1, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1.5, testAccuracy: 0.25, seconds: 2)])
}

/// Compares records bit for bit, so NaN metrics count as equal to themselves.
private func sameBits(_ a: [EpochRecord], _ b: [EpochRecord]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.epoch == y.epoch && x.trainLoss.bitPattern == y.trainLoss.bitPattern
            && x.trainAccuracy.bitPattern == y.trainAccuracy.bitPattern
            && x.testLoss.bitPattern == y.testLoss.bitPattern
            && x.testAccuracy.bitPattern == y.testAccuracy.bitPattern
            && x.seconds.bitPattern == y.seconds.bitPattern
    }
}

/// Header of a hand-built file: magic, version, length placeholder (filled in by `seal`).
private func header(version: UInt32 = 1) -> ByteWriter {
    var writer = ByteWriter(capacity: 64)
    writer.raw(Array("FATHOMCK".utf8))
    writer.u32(version)
    writer.u64(0)
    return writer
}

private func expectError(_ bytes: [UInt8], kind: ArtifactError.Kind, containing text: String) {
    #expect(throws: ArtifactError.self) { _ = try Checkpoint(bytes: bytes, name: "crafted.ck") }
    do {
        _ = try Checkpoint(bytes: bytes, name: "crafted.ck")
    } catch {
        #expect(error.kind == kind)
        #expect(error.message.contains(text), "\(error)")
        #expect(error.description.hasPrefix("crafted.ck: "))
    }
}

@Suite struct CheckpointFormatTests {
    @Test func roundTripInMemory() throws {
        let original = sampleCheckpoint()
        let decoded = try Checkpoint(bytes: original.serialized(), name: "memory")
        #expect(decoded.modelSpec == "mlp:512,256")
        #expect(decoded.optimizer == original.optimizer)
        #expect(decoded.epoch == 3 && decoded.step == 1_407 && decoded.seed == 0xDEAD_BEEF_0123_4567)
        #expect(decoded.parameters.map(\.bitPattern) == original.parameters.map(\.bitPattern))
        #expect(decoded.optimizerState == original.optimizerState)
        #expect(decoded.metadata == original.metadata)
        #expect(decoded.metadata["データ"] == "✓ café")
        #expect(sameBits(decoded.history, original.history))
    }

    @Test func roundTripWithEverythingEmpty() throws {
        let empty = Checkpoint(modelSpec: "", optimizer: "", epoch: 0, step: 0, seed: 0, parameters: [], optimizerState: [])
        let bytes = empty.serialized()
        // Header, two empty strings, three integers, four zero counts, CRC.
        #expect(bytes.count == 20 + 16 + 24 + 32 + 4)
        #expect(try Checkpoint(bytes: bytes, name: "empty") == empty)
    }

    @Test func extremeIntegersRoundTrip() throws {
        let value = Checkpoint(
            modelSpec: "m", optimizer: "o", epoch: Int.max, step: Int.min, seed: .max,
            parameters: [], optimizerState: [])
        #expect(try Checkpoint(bytes: value.serialized(), name: "x") == value)
    }

    @Test func nanPayloadsSurviveBitForBit() throws {
        let nan = Float(nan: 0x1234, signaling: false)
        let value = Checkpoint(
            modelSpec: "m", optimizer: "o", epoch: 0, step: 0, seed: 0,
            parameters: [nan, -nan], optimizerState: [.signalingNaN])
        let decoded = try Checkpoint(bytes: value.serialized(), name: "x")
        #expect(decoded.parameters.map(\.bitPattern) == value.parameters.map(\.bitPattern))
        #expect(decoded.optimizerState.map(\.bitPattern) == value.optimizerState.map(\.bitPattern))
    }

    @Test func bytesAreDeterministicWhateverTheMetadataOrder() {
        var a = smallCheckpoint()
        var b = smallCheckpoint()
        a.metadata = [:]
        b.metadata = [:]
        let keys = (0..<50).map { "key\($0)" }
        for key in keys { a.metadata[key] = "v" + key }
        for key in keys.reversed() { b.metadata[key] = "v" + key }
        #expect(a.serialized() == b.serialized())
        #expect(a.serialized() == a.serialized())
    }

    @Test func layoutIsAsDocumented() {
        let value = Checkpoint(
            modelSpec: "m", optimizer: "o", epoch: 2, step: 3, seed: 4, parameters: [1], optimizerState: [])
        let bytes = value.serialized()
        var expected: [UInt8] = Array("FATHOMCK".utf8) + [1, 0, 0, 0]
        expected += [102, 0, 0, 0, 0, 0, 0, 0]  // total length
        expected += [1, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "m")]
        expected += [1, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "o")]
        expected += [2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F]  // [1.0]
        expected += [UInt8](repeating: 0, count: 24)  // empty optimizerState, metadata, history
        #expect(bytes.count == 102)
        #expect(Array(bytes[0..<98]) == expected)
        let crc = CRC32.checksum(expected, count: expected.count)
        #expect(Array(bytes[98...]) == [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: crc >> $0) })
    }

    @Test func crcIsTheStandardCRC32() {
        // The check value of CRC-32/ISO-HDLC.
        #expect(CRC32.checksum(Array("123456789".utf8), count: 9) == 0xCBF4_3926)
        #expect(CRC32.checksum([], count: 0) == 0)
    }
}

@Suite struct CheckpointCorruptionTests {
    @Test func foreignFileIsNotACheckpoint() {
        expectError(Array("hello, this is a text file".utf8), kind: .notACheckpoint, containing: "not a Fathom checkpoint")
        expectError([0x89, 0x50, 0x4E], kind: .notACheckpoint, containing: "not a Fathom checkpoint")
    }

    @Test func futureVersionIsRefusedByNumber() throws {
        var bytes = smallCheckpoint().serialized()
        bytes[8] = 7
        do {
            _ = try Checkpoint(bytes: bytes, name: "run/ck.bin")
            Issue.record("version 7 was accepted")
        } catch {
            #expect(error.kind == .unsupportedVersion(7))
            #expect(error.description == "run/ck.bin: checkpoint format version 7 is not supported (expected 1)")
        }
    }

    @Test func everyTruncationIsRefusedAsTruncated() {
        let bytes = smallCheckpoint().serialized()
        for length in 0..<bytes.count {
            do {
                _ = try Checkpoint(bytes: Array(bytes[0..<length]), name: "cut")
                Issue.record("prefix of \(length) bytes was accepted")
            } catch {
                #expect(error.kind == .truncated, "length \(length): \(error)")
                #expect(error.message.hasPrefix("truncated"))
            }
        }
    }

    @Test func everyByteFlipIsRefused() {
        let bytes = smallCheckpoint().serialized()
        #expect(bytes.count > 150)
        var checksumFailures = 0
        for position in bytes.indices {
            for mask: UInt8 in [0xFF, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80] {
                var damaged = bytes
                damaged[position] ^= mask
                do {
                    _ = try Checkpoint(bytes: damaged, name: "flipped")
                    Issue.record("flip \(mask) at byte \(position) was accepted")
                } catch {
                    if error.kind == .checksumMismatch {
                        checksumFailures += 1
                        #expect(error.message == "checksum mismatch: file is corrupt")
                    }
                }
            }
        }
        // Damage past the header can only be caught by the checksum.
        #expect(checksumFailures >= (bytes.count - 20) * 9)
    }

    @Test func trailingBytesAreRefused() {
        var bytes = smallCheckpoint().serialized()
        bytes.append(0)
        expectError(bytes, kind: .malformed, containing: "trailing data")
    }

    @Test func impossibleRecordedLengthIsRefused() {
        var writer = header()
        writer.patchU64(3, at: 12)
        expectError(writer.bytes + [0, 0, 0, 0], kind: .malformed, containing: "recorded length 3")
    }

    @Test func hugeFloatCountWithValidChecksumIsAnErrorNotAnAllocation() {
        var writer = header()
        writer.string("mlp:4")
        writer.string("adam")
        writer.i64(1)
        writer.i64(2)
        writer.u64(3)
        writer.u64(1_000_000_000_000)  // parameters: 10^12 floats, 4 TB
        writer.u32(0)
        let bytes = Checkpoint.seal(writer)
        expectError(bytes, kind: .malformed, containing: "parameters claims 1000000000000 entries")

        var overflow = header()
        overflow.string("m")
        overflow.string("o")
        overflow.i64(0)
        overflow.i64(0)
        overflow.u64(0)
        overflow.u64(0)
        overflow.u64(.max)  // optimizerState: a count whose byte size overflows
        expectError(Checkpoint.seal(overflow), kind: .malformed, containing: "optimizerState claims")
    }

    @Test func hugeStringAndTableCountsAreRefused() {
        var string = header()
        string.u64(1 << 40)
        expectError(Checkpoint.seal(string), kind: .malformed, containing: "modelSpec claims")

        func throughOptimizerState() -> ByteWriter {
            var writer = header()
            writer.string("m")
            writer.string("o")
            writer.i64(0)
            writer.i64(0)
            writer.u64(0)
            writer.floats([])
            writer.floats([])
            return writer
        }
        var metadata = throughOptimizerState()
        metadata.u64(1 << 50)
        expectError(Checkpoint.seal(metadata), kind: .malformed, containing: "metadata claims")

        var history = throughOptimizerState()
        history.u64(0)
        history.u64(1 << 40)
        expectError(Checkpoint.seal(history), kind: .malformed, containing: "history claims")

        var shortHistory = throughOptimizerState()
        shortHistory.u64(0)
        shortHistory.u64(1)
        shortHistory.raw([UInt8](repeating: 0, count: 47))  // one byte short of a record
        expectError(Checkpoint.seal(shortHistory), kind: .malformed, containing: "history claims 1 entries")
    }

    @Test func invalidUTF8AndUnsortedMetadataAreRefused() {
        var utf8 = header()
        utf8.u64(2)
        utf8.raw([0xC3, 0x28])
        expectError(Checkpoint.seal(utf8), kind: .malformed, containing: "modelSpec is not valid UTF-8")

        var unsorted = header()
        unsorted.string("m")
        unsorted.string("o")
        unsorted.i64(0)
        unsorted.i64(0)
        unsorted.u64(0)
        unsorted.floats([])
        unsorted.floats([])
        unsorted.u64(2)
        for key in ["b", "a"] {
            unsorted.string(key)
            unsorted.string("v")
        }
        unsorted.u64(0)
        expectError(Checkpoint.seal(unsorted), kind: .malformed, containing: "ascending")
    }

    @Test func extraBytesBeforeTheChecksumAreRefused() {
        var writer = header()
        writer.string("m")
        writer.string("o")
        writer.i64(0)
        writer.i64(0)
        writer.u64(0)
        for _ in 0..<4 { writer.u64(0) }
        writer.raw([1, 2, 3])
        expectError(Checkpoint.seal(writer), kind: .malformed, containing: "3 unexpected bytes")
    }
}

@Suite struct CheckpointFileTests {
    @Test func writeThenRead() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.ck")
        let original = sampleCheckpoint()
        try original.write(to: path)
        let decoded = try Checkpoint.read(from: path)
        #expect(decoded.serialized() == original.serialized())
        #expect(directory.entries() == ["model.ck"])
    }

    @Test func overwriteWithSmallerCheckpointReplacesEverything() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.ck")
        try sampleCheckpoint().write(to: path)
        let small = smallCheckpoint()
        try small.write(to: path)
        #expect(try Checkpoint.read(from: path) == small)
        #expect(directory.entries() == ["model.ck"])
    }

    @Test func missingFileNamesThePath() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.ck")
        do {
            _ = try Checkpoint.read(from: path)
            Issue.record("reading a missing file succeeded")
        } catch {
            #expect(error.kind == .io(errno: ENOENT))
            #expect(error.description.hasPrefix("\(path): cannot open: "))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func corruptFileOnDiskIsRefusedWithItsName() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bad.ck")
        var bytes = smallCheckpoint().serialized()
        bytes[40] ^= 0x10
        try plantFile(path, bytes)
        do {
            _ = try Checkpoint.read(from: path)
            Issue.record("corrupt file accepted")
        } catch {
            #expect(error.description == "\(path): checksum mismatch: file is corrupt")
        }
        try plantFile(path, Array(bytes[0..<30]))
        #expect(throws: ArtifactError.self) { try Checkpoint.read(from: path) }
    }
}

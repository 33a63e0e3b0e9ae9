#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Artifacts

private let old = Checkpoint(
    modelSpec: "mlp:8", optimizer: "sgd", epoch: 1, step: 100, seed: 7,
    parameters: [1, 2, 3], optimizerState: [], metadata: ["run": "old"])
private let new = Checkpoint(
    modelSpec: "mlp:8", optimizer: "sgd", epoch: 2, step: 200, seed: 7,
    parameters: [4, 5, 6], optimizerState: [], metadata: ["run": "new"])

@Suite struct AtomicFileTests {
    @Test func missingDirectoryFailsWithoutLeavingATemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/model.ck")
        do {
            try old.write(to: path)
            Issue.record("write into a missing directory succeeded")
        } catch {
            #expect(error.kind == .io(errno: ENOENT))
            #expect(error.path == path)
            #expect(error.description.hasPrefix("\(path): cannot create temporary file \(path).tmp."))
        }
        #expect(directory.entries() == [])
    }

    @Test func crashBeforeRenameLeavesTheOldCheckpoint() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.ck")
        try old.write(to: path)

        var temporary = ""
        do {
            try AtomicFile.write(new.serialized(), to: path) { (temporaryPath: String) throws(ArtifactError) in
                temporary = temporaryPath
                // At this point the new contents are complete and synced beside the target...
                #expect(try Checkpoint.read(from: temporaryPath) == new)
                #expect(temporaryPath.hasPrefix("\(path).tmp.\(getpid())"))
                // ...and the target is still the old file.
                #expect(try Checkpoint.read(from: path) == old)
                throw ArtifactError(path: path, kind: .io(errno: EIO), message: "simulated crash")
            }
            Issue.record("the hook's failure was swallowed")
        } catch {
            #expect(error.message == "simulated crash")
        }
        #expect(!temporary.isEmpty)
        #expect(try Checkpoint.read(from: path) == old)
        #expect(directory.entries() == ["model.ck"])
    }

    @Test func leftoverTemporaryFileFromAKilledWriterIsHarmless() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.ck")
        try old.write(to: path)
        // What a writer killed mid-write leaves: a partial file under our own temporary name.
        let leftover = "model.ck.tmp.\(getpid())"
        try plantFile(directory.file(leftover), Array(new.serialized().prefix(25)))

        #expect(try Checkpoint.read(from: path) == old)
        try new.write(to: path)
        #expect(try Checkpoint.read(from: path) == new)
        #expect(directory.entries() == ["model.ck", leftover])
    }

    @Test func failedRenameRemovesTheTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("occupied")
        #expect(mkdir(path, 0o755) == 0)
        try plantFile(directory.file("occupied/keep"), [1])
        do {
            try old.write(to: path)
            Issue.record("renamed a file over a non-empty directory")
        } catch {
            #expect(error.message.contains("cannot rename"))
        }
        #expect(directory.entries() == ["occupied"])
    }

    @Test func directoryPathIsRefused() throws {
        #expect(throws: ArtifactError.self) { try old.write(to: "/tmp/") }
        #expect(throws: ArtifactError.self) { try old.write(to: "") }
    }

    @Test func directoryNames() {
        #expect(AtomicFile.directoryName(of: "model.ck") == ".")
        #expect(AtomicFile.directoryName(of: "/model.ck") == "/")
        #expect(AtomicFile.directoryName(of: "runs/a/model.ck") == "runs/a")
        #expect(AtomicFile.directoryName(of: "/tmp/x") == "/tmp")
    }
}

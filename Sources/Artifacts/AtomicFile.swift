import SystemIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and crash-safe whole-file replacement.
///
/// `write` puts the bytes in a temporary file beside the target (same directory, so the final
/// `rename` never crosses a file system), flushes it to disk, renames it over the target and
/// flushes the directory. A reader therefore sees either the complete old file or the complete
/// new one, even if the process or machine dies part way.
enum AtomicFile {
    /// Called after the temporary file is complete and synced, just before the rename.
    /// Tests throw from it to stand in for a crash at the most delicate moment.
    typealias BeforeRename = (_ temporaryPath: String) throws(ArtifactError) -> Void

    /// Replaces the file at `path` with `bytes`, atomically.
    /// - Parameters:
    ///   - bytes: the complete new contents.
    ///   - path: the target file; its directory must exist.
    ///   - beforeRename: test hook, see `BeforeRename`.
    /// - Throws: `ArtifactError` naming `path`; the old file, if any, is then untouched and no
    ///   temporary file is left behind.
    static func write(
        _ bytes: [UInt8], to path: String, beforeRename: BeforeRename? = nil
    ) throws(ArtifactError) {
        guard !path.isEmpty, path.last != "/" else {
            throw ArtifactError(path: path, kind: .io(errno: EISDIR), message: "not a file path")
        }
        let (temporaryPath, descriptor) = try createTemporary(for: path)
        do throws(ArtifactError) {
            try writeAll(bytes, to: descriptor, path: path)
            if fsync(descriptor) != 0 {
                let code = errno
                throw ArtifactError.io(path, "cannot sync \(temporaryPath)", errno: code)
            }
        } catch {
            _ = close(descriptor)
            _ = unlink(temporaryPath)
            throw error
        }
        // close can report deferred write errors (NFS, quotas); treat it as part of the write.
        if close(descriptor) != 0 {
            let code = errno
            _ = unlink(temporaryPath)
            throw ArtifactError.io(path, "cannot close \(temporaryPath)", errno: code)
        }
        do throws(ArtifactError) {
            try beforeRename?(temporaryPath)
        } catch {
            _ = unlink(temporaryPath)
            throw error
        }
        if rename(temporaryPath, path) != 0 {
            let code = errno
            _ = unlink(temporaryPath)
            throw ArtifactError.io(path, "cannot rename \(temporaryPath) over it", errno: code)
        }
        try syncDirectory(of: path)
    }

    /// Reads the whole file at `path`.
    /// - Throws: `ArtifactError` naming `path` if it cannot be opened or read.
    static func read(_ path: String) throws(ArtifactError) -> [UInt8] {
        do {
            return try FileIO.read(path)
        } catch {
            // "is a directory" would repeat strerror's "Is a directory".
            throw ArtifactError.io(path, error.errno == EISDIR ? "cannot read" : error.message, errno: error.errno)
        }
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes and interruptions.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(ArtifactError) {
        do {
            try FileIO.writeAll(bytes, to: descriptor, path: path)
        } catch {
            throw ArtifactError.io(path, error.message, errno: error.errno)
        }
    }

    /// Creates the temporary file for `path`: `<path>.tmp.<pid>`, or with a random suffix if a
    /// file of that name is left over from a crashed process that happened to have our pid.
    private static func createTemporary(for path: String) throws(ArtifactError) -> (String, Int32) {
        let base = "\(path).tmp.\(getpid())"
        var candidate = base
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 { return (candidate, descriptor) }
            let code = errno
            if code != EEXIST {
                throw ArtifactError.io(path, "cannot create temporary file \(candidate)", errno: code)
            }
            candidate = "\(base).\(String(generator.next() as UInt32, radix: 16))"
        }
        throw ArtifactError.io(path, "cannot create temporary file \(base)", errno: EEXIST)
    }

    /// Flushes the directory entry of `path`, without which the rename itself may not survive
    /// a power loss.
    private static func syncDirectory(of path: String) throws(ArtifactError) {
        let directory = directoryName(of: path)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            throw ArtifactError.io(path, "written, but cannot open directory \(directory) to sync it", errno: code)
        }
        defer { _ = close(descriptor) }
        // Some file systems cannot sync directories and say so with EINVAL; the rename is as
        // durable there as it can be made.
        if fsync(descriptor) != 0 {
            let code = errno
            if code != EINVAL {
                throw ArtifactError.io(path, "written, but cannot sync directory \(directory)", errno: code)
            }
        }
    }

    /// The directory part of `path` (see `FileIO.directoryName(of:)`).
    static func directoryName(of path: String) -> String { FileIO.directoryName(of: path) }
}

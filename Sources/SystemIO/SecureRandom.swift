#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating system's entropy source cannot be read.
public struct SecureRandomError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` of the failed call.
    public let errno: Int32

    public var description: String {
        "the operating system's entropy source /dev/urandom cannot be read: " + String(cString: strerror(errno))
    }
}

/// Seeds from the kernel's CSPRNG (`/dev/urandom`, the source `getrandom(2)` reads), for the
/// randomness a privacy guarantee rests on (`train dp-sgd --secure-rng`).
public enum SecureRandom {
    /// 64 bits of OS entropy.
    /// - Throws: `SecureRandomError` when the device cannot be opened or read.
    public static func uint64() throws(SecureRandomError) -> UInt64 {
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw SecureRandomError(errno: errno) }
        defer { close(descriptor) }
        var value: UInt64 = 0
        var filled = 0
        while filled < 8 {
            let count = withUnsafeMutableBytes(of: &value) { bytes -> Int in
                guard let base = bytes.baseAddress else { return 0 }
                return read(descriptor, base + filled, 8 - filled)
            }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { throw SecureRandomError(errno: count < 0 ? errno : EIO) }
            filled += count
        }
        return value
    }
}

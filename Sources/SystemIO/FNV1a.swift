/// FNV-1a, 64 bits: a fast, stable, non-cryptographic digest (kernel cache keys and checksums,
/// the ranks' configuration and parameter comparisons). Stable across runs and machines, so
/// digests written to disk stay valid.
public enum FNV1a {
    /// The standard 64-bit offset basis.
    public static let basis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The digest of `bytes`, starting from `basis`.
    public static func hash<S: Sequence<UInt8>>(_ bytes: S, basis: UInt64 = basis) -> UInt64 {
        var hash = basis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The digest of the bytes of `values` (their in-memory representation).
    public static func hash<T: BitwiseCopyable>(of values: [T]) -> UInt64 {
        values.withUnsafeBytes { hash($0) }
    }
}

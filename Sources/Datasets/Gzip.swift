import CZlib

/// gzip (RFC 1952) through zlib.
public enum Gzip {
    /// Whether `bytes` start with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed content of gzip data, `name` being the file for error messages.
    /// Concatenated gzip members are decompressed one after the other (as `gunzip` does);
    /// zero bytes after the last member are ignored, anything else after it is an error.
    /// A stream that ends early is "truncated gzip stream"; output beyond `limit` bytes is an error.
    public static func decompress(
        _ bytes: [UInt8], name: String, limit: Int = Int.max
    ) throws(DataError) -> [UInt8] {
        guard isGzip(bytes) else {
            throw DataError(file: name, message: "not gzip data (no 1f 8b magic number)")
        }
        var output = [UInt8]()
        // The trailer's ISIZE (length mod 2^32 of the last member) is a good capacity hint.
        if bytes.count >= 18 {
            let n = bytes.count
            let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16
                | Int(bytes[n - 1]) << 24
            output.reserveCapacity(min(isize, bytes.count * 1032, limit, 1 << 32))
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        try bytes.withUnsafeBufferPointer { (input) throws(DataError) in
            guard let inputBase = input.baseAddress else { return }
            var stream = z_stream()
            let initStatus = inflateInit2_(
                &stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard initStatus == Z_OK else {
                throw DataError(file: name, message: "cannot start zlib (error \(initStatus))")
            }
            defer { inflateEnd(&stream) }
            var handedOver = 0  // input bytes given to zlib so far
            while true {
                if stream.avail_in == 0, handedOver < input.count {
                    let piece = min(input.count - handedOver, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: inputBase + handedOver)
                    stream.avail_in = UInt32(piece)
                    handedOver += piece
                }
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                stream.next_out = nil
                if produced > 0 {
                    if output.count + produced > limit {
                        throw DataError(
                            file: name, message: "decompressed data exceeds the limit of \(limit) bytes")
                    }
                    output.append(contentsOf: chunk[0..<produced])
                }
                let remaining = input.count - handedOver + Int(stream.avail_in)
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if remaining == 0 { return }
                    let next = input.count - remaining
                    if input[next...].allSatisfy({ $0 == 0 }) { return }
                    guard remaining >= 2, input[next] == 0x1F, input[next + 1] == 0x8B else {
                        throw DataError(
                            file: name,
                            message: "\(remaining) bytes of unexpected data after the gzip stream")
                    }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError(file: name, message: "cannot restart zlib")
                    }
                case Z_BUF_ERROR:
                    if remaining == 0 {
                        throw DataError(file: name, message: "truncated gzip stream")
                    }
                case Z_MEM_ERROR:
                    throw DataError(file: name, message: "out of memory while decompressing")
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DataError(file: name, message: "corrupt gzip stream: \(detail)")
                }
            }
        }
        return output
    }

    /// `bytes` compressed as one gzip member at zlib `level` (0...9).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(DataError) -> [UInt8] {
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var stream = z_stream()
        let initStatus = deflateInit2_(
            &stream, max(0, min(9, level)), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw DataError(file: "<gzip>", message: "cannot start zlib (error \(initStatus))")
        }
        defer { deflateEnd(&stream) }
        try bytes.withUnsafeBufferPointer { (input) throws(DataError) in
            var handedOver = 0
            while true {
                if stream.avail_in == 0, handedOver < input.count, let base = input.baseAddress {
                    let piece = min(input.count - handedOver, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: base + handedOver)
                    stream.avail_in = UInt32(piece)
                    handedOver += piece
                }
                let flush = handedOver == input.count ? Z_FINISH : Z_NO_FLUSH
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return deflate(&stream, flush)
                }
                let produced = chunk.count - Int(stream.avail_out)
                stream.next_out = nil
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END { return }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw DataError(file: "<gzip>", message: "zlib deflate failed (error \(status))")
                }
            }
        }
        return output
    }
}

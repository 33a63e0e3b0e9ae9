import CZlib

/// Appends little-endian fields to a byte buffer.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func i64(_ value: Int) {
        u64(UInt64(bitPattern: Int64(value)))
    }

    mutating func f64(_ value: Double) {
        u64(value.bitPattern)
    }

    /// A string as its UTF-8 byte count (UInt64) followed by the bytes.
    mutating func string(_ value: String) {
        u64(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// A float array as its element count (UInt64) followed by the IEEE 754 bit patterns, so
    /// NaN payloads and signed zeros survive unchanged.
    mutating func floats(_ values: [Float]) {
        u64(UInt64(values.count))
        for value in values { u32(value.bitPattern) }
    }

    /// Overwrites 8 bytes at `offset` with `value`, for fields known only at the end.
    mutating func patchU64(_ value: UInt64, at offset: Int) {
        for index in 0..<8 {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * index))
        }
    }
}

/// Reads little-endian fields from a byte buffer, checking every length against what remains
/// before using it, so a corrupt count is reported instead of allocated.
struct ByteReader {
    let bytes: [UInt8]
    /// Reading stops here (the checksum that follows is not part of the fields).
    let end: Int
    private(set) var offset: Int
    let name: String

    init(_ bytes: [UInt8], from offset: Int, to end: Int, name: String) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
        self.name = name
    }

    var remaining: Int { end - offset }

    private func malformed(_ message: String) -> ArtifactError {
        ArtifactError(path: name, kind: .malformed, message: message)
    }

    private mutating func need(_ count: Int, for field: String) throws(ArtifactError) {
        if count > remaining {
            throw malformed("corrupt length: \(field) needs \(count) bytes but only \(remaining) remain")
        }
    }

    mutating func u32(_ field: String) throws(ArtifactError) -> UInt32 {
        try need(4, for: field)
        let value = Self.u32(bytes, at: offset)
        offset += 4
        return value
    }

    mutating func u64(_ field: String) throws(ArtifactError) -> UInt64 {
        try need(8, for: field)
        let value = Self.u64(bytes, at: offset)
        offset += 8
        return value
    }

    mutating func i64(_ field: String) throws(ArtifactError) -> Int {
        let value = Int64(bitPattern: try u64(field))
        guard let result = Int(exactly: value) else {
            throw malformed("\(field) \(value) does not fit this platform's Int")
        }
        return result
    }

    mutating func f64(_ field: String) throws(ArtifactError) -> Double {
        Double(bitPattern: try u64(field))
    }

    /// Reads an element count and checks that `count × elementSize` bytes remain, without
    /// multiplying (which could overflow for a corrupt count).
    mutating func count(_ field: String, elementSize: Int) throws(ArtifactError) -> Int {
        let claimed = try u64(field)
        let available = UInt64(remaining / elementSize)
        guard claimed <= available else {
            throw malformed(
                "corrupt length: \(field) claims \(claimed) entries but only \(remaining) bytes remain")
        }
        return Int(claimed)
    }

    mutating func string(_ field: String) throws(ArtifactError) -> String {
        let length = try count(field, elementSize: 1)
        let slice = bytes[offset..<(offset + length)]
        offset += length
        guard let value = String(validating: slice, as: UTF8.self) else {
            throw malformed("\(field) is not valid UTF-8")
        }
        return value
    }

    mutating func floats(_ field: String) throws(ArtifactError) -> [Float] {
        let count = try count(field, elementSize: 4)
        let start = offset
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                buffer[index] = Float(bitPattern: Self.u32(bytes, at: start + 4 * index))
            }
            initialized = count
        }
        offset += 4 * count
        return values
    }

    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
        return value
    }

    static func u64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        return value
    }
}

/// CRC-32 as computed by zlib (the ISO-HDLC / PNG / gzip polynomial).
enum CRC32 {
    /// The checksum of `bytes[0..<count]`.
    static func checksum(_ bytes: [UInt8], count: Int) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer -> UInt32 in
            guard let base = buffer.baseAddress else { return 0 }
            var crc = crc32(0, nil, 0)
            var offset = 0
            // zlib takes a 32-bit length, so feed large buffers in pieces.
            while offset < count {
                let piece = min(count - offset, 1 << 30)
                crc = crc32(crc, base + offset, uInt(piece))
                offset += piece
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}

/// The result of reading one text field as a number.
enum FieldValue {
    case number(Float)
    /// Parsed, but NaN, infinite, or too large for a `Float`.
    case nonFinite
    /// Not a number.
    case invalid
}

private let powersOfTen: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

/// Reads `bytes[start..<end]` (already trimmed) as a decimal number, correctly rounded to
/// `Float`. Plain decimals with few digits take an exact fast path (both operands of the one
/// multiplication or division are exact in `Float`); everything else goes to the standard
/// library's parser, which also accepts hexadecimal floats, "inf" and "nan".
@inline(__always)
func parseFloat(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> FieldValue {
    if start >= end { return .invalid }
    var i = start
    var negative = false
    let first = bytes[i]
    if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
        negative = first == UInt8(ascii: "-")
        i += 1
    }
    var mantissa: UInt32 = 0
    var exact = true
    var digits = 0
    var fractionDigits = 0
    while i < end, bytes[i] &- 0x30 < 10 {
        if mantissa < (1 << 24) / 10 { mantissa = mantissa * 10 + UInt32(bytes[i] &- 0x30) } else { exact = false }
        digits += 1
        i += 1
    }
    if i < end, bytes[i] == UInt8(ascii: ".") {
        i += 1
        while i < end, bytes[i] &- 0x30 < 10 {
            if mantissa < (1 << 24) / 10 { mantissa = mantissa * 10 + UInt32(bytes[i] &- 0x30) } else { exact = false }
            digits += 1
            fractionDigits += 1
            i += 1
        }
    }
    var exponent = 0
    var grammatical = digits > 0
    if grammatical, i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
        i += 1
        var exponentNegative = false
        if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            exponentNegative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var exponentDigits = 0
        while i < end, bytes[i] &- 0x30 < 10 {
            if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] &- 0x30) }
            exponentDigits += 1
            i += 1
        }
        if exponentDigits == 0 { grammatical = false }
        if exponentNegative { exponent = -exponent }
    }
    if grammatical, i == end, exact {
        if mantissa == 0 { return .number(negative ? -0.0 : 0) }
        let scale = exponent - fractionDigits
        if scale >= -10, scale <= 10 {
            var value = Float(mantissa)
            if scale >= 0 { value *= powersOfTen[scale] } else { value /= powersOfTen[-scale] }
            return .number(negative ? -value : value)
        }
    }
    if end - start > 400 { return .invalid }  // no number is that long; don't build the string
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    guard let value = Float(text) else { return .invalid }
    return value.isFinite ? .number(value) : .nonFinite
}

/// Whether `bytes[start..<end]` reads as a number (finite or not), for header detection.
func looksNumeric(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    if case .invalid = parseFloat(bytes, start, end) { return false }
    return true
}

/// Reads `bytes[start..<end]` as a non-negative decimal integer without sign; nil when it is not
/// one. Values above `saturation` come back as `saturation + 1`, so huge numbers never overflow.
func parseIndex(
    _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, saturation: Int = 1 << 40
) -> Int? {
    if start >= end { return nil }
    var value = 0
    for i in start..<end {
        let digit = bytes[i] &- 0x30
        guard digit < 10 else { return nil }
        if value <= saturation { value = value * 10 + Int(digit) }
    }
    return min(value, saturation + 1)
}

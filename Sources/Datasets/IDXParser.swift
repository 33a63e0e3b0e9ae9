/// The element type of an IDX file: the third byte of its magic number.
enum IDXElementType: UInt8 {
    case uint8 = 0x08
    case int8 = 0x09
    case int16 = 0x0B
    case int32 = 0x0C
    case float32 = 0x0D
    case float64 = 0x0E

    var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }

    var name: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .int16: return "i16"
        case .int32: return "i32"
        case .float32: return "f32"
        case .float64: return "f64"
        }
    }
}

/// MNIST's IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian magic number
/// `00 00 TYPE NDIMS`, NDIMS big-endian 32-bit sizes, then the elements, big-endian, row-major.
/// Images: the first dimension is the item count, the rest one item; labels: one dimension.
enum IDXParser {
    struct Header {
        var type: IDXElementType
        var dimensions: [Int]
        var dataOffset: Int
        /// Items (first dimension).
        var count: Int
        /// Elements per item (product of the other dimensions).
        var itemSize: Int
    }

    /// Reads and checks the header against the file size, before anything is allocated.
    static func header(_ bytes: [UInt8], name: String) throws(DataError) -> Header {
        if bytes.isEmpty { throw DataError(file: name, message: "empty file") }
        if bytes.count < 4 {
            throw DataError(
                file: name, message: "truncated IDX file: \(bytes.count) bytes, shorter than the magic number")
        }
        let magicText = "0x" + bytes[0..<4].map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: name, message: "not an IDX file: wrong magic number \(magicText)")
        }
        guard let type = IDXElementType(rawValue: bytes[2]) else {
            throw DataError(
                file: name, message: "not an IDX file: unknown element type in magic number \(magicText)")
        }
        let dimensionCount = Int(bytes[3])
        guard dimensionCount >= 1 else {
            throw DataError(file: name, message: "IDX magic number \(magicText) declares no dimensions")
        }
        let dataOffset = 4 + 4 * dimensionCount
        guard bytes.count >= dataOffset else {
            throw DataError(
                file: name,
                message: "truncated IDX file: \(bytes.count) bytes, shorter than the header "
                    + "of \(dimensionCount) dimensions (\(dataOffset) bytes)")
        }
        var dimensions = [Int]()
        for d in 0..<dimensionCount {
            let o = 4 + 4 * d
            dimensions.append(
                Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        // Check the declared size against the file before allocating anything; the product
        // saturates, so a hostile header cannot overflow it.
        let available = (bytes.count - dataOffset) / type.size
        var declared = 1
        var saturated = false
        for size in dimensions {
            let (product, overflow) = declared.multipliedReportingOverflow(by: size)
            if overflow || product > Int(Int32.max) * 256 { saturated = true; break }
            declared = product
        }
        let shape = dimensions.map(String.init).joined(separator: " x ")
        if saturated || declared > available {
            throw DataError(
                file: name,
                message: "truncated IDX file: the header declares \(shape) \(type.name) elements "
                    + "but the file holds \(available)")
        }
        let extra = bytes.count - dataOffset - declared * type.size
        if extra > 0 {
            throw DataError(
                file: name,
                message: "\(extra) unexpected bytes after the \(shape) \(type.name) elements of the IDX file")
        }
        var itemSize = 1
        for size in dimensions.dropFirst() {
            let (product, overflow) = itemSize.multipliedReportingOverflow(by: size)
            if overflow || product > Int(Int32.max) * 256 {
                throw DataError(file: name, message: "IDX items of \(shape) elements are too large")
            }
            itemSize = product
        }
        return Header(type: type, dimensions: dimensions, dataOffset: dataOffset,
                      count: dimensions[0], itemSize: itemSize)
    }

    /// Element `index` of the data, as a Double (exact for every IDX type).
    @inline(__always)
    static func element(_ b: UnsafeBufferPointer<UInt8>, _ header: Header, _ index: Int) -> Double {
        switch header.type {
        case .uint8:
            return Double(b[header.dataOffset + index])
        case .int8:
            return Double(Int8(bitPattern: b[header.dataOffset + index]))
        case .int16:
            let o = header.dataOffset + 2 * index
            return Double(Int16(bitPattern: UInt16(b[o]) << 8 | UInt16(b[o + 1])))
        case .int32:
            return Double(Int32(bitPattern: bigEndian32(b, header.dataOffset + 4 * index)))
        case .float32:
            return Double(Float(bitPattern: bigEndian32(b, header.dataOffset + 4 * index)))
        case .float64:
            let o = header.dataOffset + 8 * index
            let bits = UInt64(bigEndian32(b, o)) << 32 | UInt64(bigEndian32(b, o + 4))
            return Double(bitPattern: bits)
        }
    }

    @inline(__always)
    static func bigEndian32(_ b: UnsafeBufferPointer<UInt8>, _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    static func parse(
        images: [UInt8], imagesName: String, labels: [UInt8], labelsName: String, options: LoadOptions
    ) throws(DataError) -> Dataset {
        let imageHeader = try header(images, name: imagesName)
        let labelHeader = try header(labels, name: labelsName)
        if labelHeader.itemSize != 1 {
            throw DataError(
                file: labelsName,
                message: "an IDX labels file needs one value per item, this one has "
                    + labelHeader.dimensions.map(String.init).joined(separator: " x "))
        }
        if imageHeader.count != labelHeader.count {
            throw DataError(
                file: imagesName,
                message: "the images file has \(imageHeader.count) items but the labels file "
                    + "\(labelsName) has \(labelHeader.count)")
        }
        if imageHeader.count < 1 { throw DataError(file: imagesName, message: "no items (0 rows)") }
        if imageHeader.itemSize < 1 {
            throw DataError(file: imagesName, message: "items of 0 elements (no features)")
        }
        if let expected = options.featureCount, expected != imageHeader.itemSize {
            throw DataError(
                file: imagesName,
                message: "expected \(expected) features, found \(imageHeader.itemSize)")
        }
        let total = imageHeader.count * imageHeader.itemSize
        if total > options.maxElements {
            throw DataError(
                file: imagesName,
                message: "\(imageHeader.count) items x \(imageHeader.itemSize) values is too much data "
                    + "(limit \(options.maxElements) values)")
        }

        var features = [Float](repeating: 0, count: total)
        var badFeature: Int? = nil
        images.withUnsafeBufferPointer { b in
            features.withUnsafeMutableBufferPointer { out in
                switch imageHeader.type {
                case .uint8:
                    for i in 0..<total { out[i] = Float(b[imageHeader.dataOffset + i]) }
                default:
                    for i in 0..<total {
                        let value = Float(element(b, imageHeader, i))
                        if !value.isFinite { badFeature = i; return }
                        out[i] = value
                    }
                }
            }
        }
        if let bad = badFeature {
            throw DataError(
                file: imagesName,
                message: "element \(bad % imageHeader.itemSize) of item \(bad / imageHeader.itemSize) "
                    + "is not a finite Float")
        }

        var table = ClassTable()
        var labelIDs = [Int32]()
        labelIDs.reserveCapacity(labelHeader.count)
        var badLabel: Int? = nil
        var cache = [Double: Int32]()
        labels.withUnsafeBufferPointer { b in
            for i in 0..<labelHeader.count {
                let value = element(b, labelHeader, i)
                guard value.isFinite else { badLabel = i; return }
                if let id = cache[value] {
                    labelIDs.append(id)
                    continue
                }
                let text: String
                if value == value.rounded(), abs(value) < 1e15 {
                    text = String(Int64(value))
                } else {
                    text = String(value)
                }
                let id = table.id(for: text)
                cache[value] = id
                labelIDs.append(id)
            }
        }
        if let bad = badLabel {
            throw DataError(file: labelsName, message: "the label of item \(bad) is not finite")
        }
        let (classes, remap) = table.finish()
        for i in labelIDs.indices { labelIDs[i] = remap[Int(labelIDs[i])] }
        var shape: ImageShape? = nil
        if imageHeader.dimensions.count == 3 {
            shape = ImageShape(channels: 1, height: imageHeader.dimensions[1], width: imageHeader.dimensions[2])
        }
        return Dataset(features: features, labels: labelIDs, featureCount: imageHeader.itemSize,
                       classes: classes, imageShape: shape)
    }

    /// The labels file that goes with an images file: in the file name, "images" becomes
    /// "labels" and "idx3" becomes "idx1" ("train-images-idx3-ubyte.gz" →
    /// "train-labels-idx1-ubyte.gz"). Nil when the name has no "images".
    static func labelsPath(forImages path: String) -> String? {
        var directory = ""
        var name = path
        if let slash = path.lastIndex(of: "/") {
            directory = String(path[...slash])
            name = String(path[path.index(after: slash)...])
        }
        guard var replaced = replacingFirst(name, "images", with: "labels") else { return nil }
        replaced = replacingFirst(replaced, "idx3", with: "idx1") ?? replaced
        return directory + replaced
    }

    /// `text` with the first occurrence of `target` replaced (ASCII case-insensitive), or nil.
    static func replacingFirst(_ text: String, _ target: String, with replacement: String) -> String? {
        let bytes = Array(text.utf8)
        let pattern = Array(target.utf8)
        guard bytes.count >= pattern.count else { return nil }
        func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 0x20 : b }
        for start in 0...(bytes.count - pattern.count) {
            var match = true
            for k in 0..<pattern.count where lower(bytes[start + k]) != lower(pattern[k]) {
                match = false
                break
            }
            if match {
                let result = Array(bytes[..<start]) + Array(replacement.utf8)
                    + Array(bytes[(start + pattern.count)...])
                return String(decoding: result, as: UTF8.self)
            }
        }
        return nil
    }
}

/// The spatial layout of one sample when it is an image: `channels × height × width`, row-major,
/// which is the order of `Dataset.features` within a row.
public struct ImageShape: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Channels (planes) per image: 1 for greyscale.
    public var channels: Int
    /// Rows of pixels.
    public var height: Int
    /// Pixels per row.
    public var width: Int

    /// An image layout of `channels` planes of `height × width` pixels; the values are not checked.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// `channels * height * width`.
    public var elementCount: Int { channels * height * width }

    /// `CxHxW`, e.g. `1x28x28`.
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A dense, labelled data set held in memory.
public struct Dataset: Sendable, Equatable {
    /// Row-major, `count × featureCount`.
    public var features: [Float]
    /// Class ids in `0..<classes.count`, one per row.
    public var labels: [Int32]
    /// Number of features of each row.
    public var featureCount: Int
    /// The original label text of each class; a class id is an index into this array.
    /// Sorted numerically when every label parses as a number, else lexicographically.
    public var classes: [String]
    /// Set for image data (IDX files with three dimensions, the embedded MNIST).
    public var imageShape: ImageShape?

    /// A data set from its parts, taken as they are; `validationProblem()` checks them.
    /// - Parameters:
    ///   - features: `labels.count × featureCount` values, row-major.
    ///   - labels: one class id per row, each in `0..<classes.count`.
    ///   - featureCount: values per row.
    ///   - classes: the label text of each class id.
    ///   - imageShape: the image layout of a row, if the rows are images (CHW).
    public init(
        features: [Float], labels: [Int32], featureCount: Int, classes: [String],
        imageShape: ImageShape? = nil
    ) {
        self.features = features
        self.labels = labels
        self.featureCount = featureCount
        self.classes = classes
        self.imageShape = imageShape
    }

    /// Number of rows.
    public var count: Int { labels.count }

    /// The features of row `index`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        features[(index * featureCount)..<((index + 1) * featureCount)]
    }

    /// The rows at `indices`, in that order (repeats allowed). Every index must be in
    /// `0..<count`; anything else is a programming error and traps.
    public func subset(_ indices: [Int]) -> Dataset {
        var newFeatures = [Float]()
        newFeatures.reserveCapacity(indices.count * featureCount)
        var newLabels = [Int32]()
        newLabels.reserveCapacity(indices.count)
        for index in indices {
            precondition(index >= 0 && index < count, "Dataset.subset: index \(index) out of 0..<\(count)")
            newFeatures.append(contentsOf: row(index))
            newLabels.append(labels[index])
        }
        return Dataset(
            features: newFeatures, labels: newLabels, featureCount: featureCount,
            classes: classes, imageShape: imageShape)
    }

    /// Number of rows of each class, indexed by class id.
    public func classHistogram() -> [Int] {
        var histogram = [Int](repeating: 0, count: classes.count)
        for label in labels where label >= 0 && Int(label) < histogram.count {
            histogram[Int(label)] += 1
        }
        return histogram
    }

    /// The same rows with class ids re-mapped onto `classes` (the class list of a training set),
    /// for a separately loaded test file. A class name matches when its text is the same, or when
    /// both texts are numbers of the same value ("3" and "3.0"). A label of this data set that
    /// `classes` lacks is a `DataError` naming `file`.
    public func aligned(to classes: [String], file: String) throws(DataError) -> Dataset {
        if classes == self.classes { return self }
        var exact = [String: Int32]()
        var numeric = [Double: Int32]()
        for (id, name) in classes.enumerated() {
            if exact[name] == nil { exact[name] = Int32(id) }
            if let value = ClassTable.numericValue(name), numeric[value] == nil {
                numeric[value] = Int32(id)
            }
        }
        var mapping = [Int32](repeating: -1, count: self.classes.count)
        for (id, name) in self.classes.enumerated() {
            if let target = exact[name] {
                mapping[id] = target
            } else if let value = ClassTable.numericValue(name), let target = numeric[value] {
                mapping[id] = target
            }
        }
        var newLabels = labels
        for (row, label) in labels.enumerated() {
            guard label >= 0, Int(label) < mapping.count, mapping[Int(label)] >= 0 else {
                let name = label >= 0 && Int(label) < self.classes.count
                    ? self.classes[Int(label)] : "#\(label)"
                throw DataError(
                    file: file, line: nil,
                    message: "label \"\(name)\" (first at data row \(row + 1)) is not a class of "
                        + "the training data (\(ClassTable.summary(classes)))")
            }
            newLabels[row] = mapping[Int(label)]
        }
        return Dataset(
            features: features, labels: newLabels, featureCount: featureCount, classes: classes,
            imageShape: imageShape)
    }

    /// Nil when the data set is internally consistent (what every loader guarantees), else what is
    /// wrong: feature count and row count agree, every value finite, every label a valid class id,
    /// at least one row and one feature.
    public func validationProblem() -> String? {
        if count < 1 { return "no rows" }
        if featureCount < 1 { return "no features" }
        let (expected, overflow) = count.multipliedReportingOverflow(by: featureCount)
        if overflow || features.count != expected {
            return "features.count \(features.count) != \(count) rows x \(featureCount) features"
        }
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            return "non-finite feature at row \(bad / featureCount)"
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes.count }) {
            return "label \(labels[bad]) of row \(bad) is not in 0..<\(classes.count)"
        }
        if let shape = imageShape, shape.elementCount != featureCount {
            return "image shape \(shape) does not hold \(featureCount) features"
        }
        return nil
    }
}

/// What is wrong with an input file, where: printed as `FILE:LINE: message`, or `FILE: message`
/// when no line applies (binary formats, whole-file problems). Lines are 1-based.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or in-memory name) the problem is in.
    public let file: String
    /// The 1-based line of a text file, or nil when no line applies.
    public let line: Int?
    /// What is wrong, without the location.
    public let message: String
    /// Whether the file could not be opened at all (missing, unreadable) rather than holding
    /// bad data: commands exit 66 (sysexits' "cannot open input") then, 65 otherwise.
    public let cannotOpen: Bool

    /// An error at `file`, and at `line` when one applies.
    public init(file: String, line: Int? = nil, message: String, cannotOpen: Bool = false) {
        self.file = file
        self.line = line
        self.message = message
        self.cannotOpen = cannotOpen
    }

    /// `FILE:LINE: message`, or `FILE: message` without a line.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Which CSV column holds the label.
public enum LabelColumn: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The first column.
    case first
    /// The last column (the default).
    case last
    /// 0-based column index.
    case index(Int)

    /// Parses "first", "last" or a 0-based column number "N".
    public init?(argument: String) {
        switch argument.lowercased() {
        case "first": self = .first
        case "last": self = .last
        default:
            guard !argument.isEmpty, argument.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(argument)
            else { return nil }
            self = .index(value)
        }
    }

    /// The argument form: `first`, `last` or the column number.
    public var description: String {
        switch self {
        case .first: return "first"
        case .last: return "last"
        case .index(let n): return String(n)
        }
    }

    /// The 0-based column for a row of `fieldCount` fields, or nil when out of range.
    func resolve(fieldCount: Int) -> Int? {
        switch self {
        case .first: return fieldCount > 0 ? 0 : nil
        case .last: return fieldCount > 0 ? fieldCount - 1 : nil
        case .index(let n): return n >= 0 && n < fieldCount ? n : nil
        }
    }
}

/// Whether the first CSV line is a header.
public enum HeaderMode: String, Sendable, CaseIterable {
    /// A header when the first line has a feature field that is not a number while the second
    /// line's feature fields are all numbers (or the first line's label is text while the
    /// second's is a number).
    case auto
    /// The first line is a header and is skipped.
    case present
    /// The first line is data.
    case absent
}

/// The file formats the loader reads.
public enum DataFormat: String, Sendable, CaseIterable {
    /// Delimited text (comma, tab or semicolon), one row a line.
    case csv
    /// LIBSVM / svmlight sparse text, `label index:value ...`.
    case libsvm
    /// MNIST IDX binary: an images file with a separate labels file.
    case idx

    /// The format a file name implies, ignoring a trailing `.gz`: `.csv`/`.tsv` → csv;
    /// `.libsvm`/`.svm`/`.svmlight` → libsvm; a name containing "idx" → idx; else nil.
    public static func detect(path: String) -> DataFormat? {
        var name = Substring(fileName(of: path).lowercased())
        if name.hasSuffix(".gz") { name = name.dropLast(3) }
        if name.hasSuffix(".csv") || name.hasSuffix(".tsv") { return .csv }
        if name.hasSuffix(".libsvm") || name.hasSuffix(".svm") || name.hasSuffix(".svmlight") {
            return .libsvm
        }
        if name.contains("idx") { return .idx }
        return nil
    }

    /// The format decompressed `bytes` look like: an IDX magic number → idx; a first data line
    /// whose second token is `N:value` → libsvm; anything else → csv.
    public static func sniff(_ bytes: [UInt8]) -> DataFormat {
        if bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, IDXElementType(rawValue: bytes[2]) != nil,
           bytes[3] >= 1
        {
            return .idx
        }
        // Only the first data line decides; blank and comment lines say nothing about the format.
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            let line = bytes[start..<end]
            let firstNonSpace = line.firstIndex(where: { !isSpace($0) })
            if let first = firstNonSpace, line[first] != UInt8(ascii: "#") {
                var tokens = 0
                var i = first
                while i < end {
                    while i < end, isSpace(bytes[i]) { i += 1 }
                    if i >= end || bytes[i] == UInt8(ascii: "#") { break }
                    var j = i
                    var hasColon = false
                    while j < end, !isSpace(bytes[j]) {
                        if bytes[j] == UInt8(ascii: ":") { hasColon = true }
                        if bytes[j] == UInt8(ascii: ",") || bytes[j] == UInt8(ascii: ";") { return .csv }
                        j += 1
                    }
                    tokens += 1
                    if tokens == 2 { return hasColon ? .libsvm : .csv }
                    i = j
                }
                return .csv
            }
            start = end + 1
        }
        return .csv
    }
}

/// How to read a data file.
public struct LoadOptions: Sendable, Equatable {
    /// Nil: from the file name (`DataFormat.detect`), else from the content (`DataFormat.sniff`).
    public var format: DataFormat?
    /// CSV only.
    public var labelColumn: LabelColumn
    /// CSV only.
    public var header: HeaderMode
    /// The expected number of features. LIBSVM: the width of the dense rows (an index past it is
    /// an error); without it the width is the largest index seen. CSV and IDX: a different
    /// number of feature columns is an error.
    public var featureCount: Int?
    /// IDX: the labels file. Nil: derived from the images file name ("images-idx3" →
    /// "labels-idx1", else "images" → "labels").
    public var labelsPath: String?
    /// The most feature values (rows × features) a loaded data set may hold, so that a small
    /// corrupt file cannot demand a huge allocation. 2^31 (8 GiB of Float) by default.
    public var maxElements: Int

    /// Options; the defaults detect the format, take CSV labels from the last column, detect a
    /// header, accept any feature count, derive the IDX labels path and allow 2^31 values.
    public init(
        format: DataFormat? = nil, labelColumn: LabelColumn = .last, header: HeaderMode = .auto,
        featureCount: Int? = nil, labelsPath: String? = nil, maxElements: Int = 1 << 31
    ) {
        self.format = format
        self.labelColumn = labelColumn
        self.header = header
        self.featureCount = featureCount
        self.labelsPath = labelsPath
        self.maxElements = maxElements
    }
}

// MARK: - Helpers shared by the parsers

@inline(__always) func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
}

/// The last path component.
func fileName(of path: String) -> String {
    if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
    return path
}

/// Printable form of raw field bytes for an error message: invalid UTF-8 repaired, control
/// characters escaped, long text shortened.
func quoted(_ bytes: some Collection<UInt8>) -> String {
    let limit = 40
    let text = String(decoding: bytes.prefix(limit * 4), as: UTF8.self)
    var out = ""
    var n = 0
    for scalar in text.unicodeScalars {
        if n == limit { out += "..."; break }
        if scalar.value < 0x20 || scalar.value == 0x7F {
            out += scalar.escaped(asASCII: true)
        } else if scalar == "\"" || scalar == "\\" {
            out += "\\" + String(scalar)
        } else {
            out.unicodeScalars.append(scalar)
        }
        n += 1
    }
    if n < limit, bytes.count > limit * 4 { out += "..." }
    return "\"" + out + "\""
}

import SystemIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import EmbeddedData

/// Reads data files into `Dataset`s.
///
/// Every problem with the input is a `DataError` (`FILE:LINE: message`); no input makes the
/// loader crash, drop a row silently, or allocate much more than the data the file can hold.
/// gzip input is recognized by its magic number, whatever the file is called.
public enum DataLoader {
    /// The name the embedded data set carries in error messages.
    public static let embeddedName = "<embedded mnist-5k>"

    /// Loads the file at `path`. For IDX, `path` is the images file; the labels file is
    /// `options.labelsPath` or derived from the images file name (`labelsPath(forImages:)`).
    public static func load(path: String, options: LoadOptions = LoadOptions()) throws(DataError) -> Dataset {
        let bytes = try readFile(path)
        return try parse(bytes: bytes, name: path, options: options)
    }

    /// Parses in-memory file content; `name` is used for errors and format detection (and, for
    /// IDX, to find the labels file on disk when `options.labelsPath` is nil).
    public static func parse(
        bytes: [UInt8], name: String, options: LoadOptions = LoadOptions()
    ) throws(DataError) -> Dataset {
        try check(options, name: name)
        let data = try decompressIfNeeded(bytes, name: name, options: options)
        let format = options.format ?? DataFormat.detect(path: name) ?? DataFormat.sniff(data)
        switch format {
        case .csv:
            return try CSVParser.parse(data, name: name, options: options)
        case .libsvm:
            return try LIBSVMParser.parse(data, name: name, options: options)
        case .idx:
            guard let labelsPath = options.labelsPath ?? IDXParser.labelsPath(forImages: name) else {
                throw DataError(
                    file: name,
                    message: "cannot derive the IDX labels file from this name (it has no \"images\"); "
                        + "name the labels file explicitly")
            }
            let labels = try readLabelsFile(labelsPath, derived: options.labelsPath == nil, images: name)
            return try parseIDX(images: data, imagesName: name, labels: labels.bytes,
                                labelsName: labels.path, options: options)
        }
    }

    /// Parses CSV text (gzip'd or not).
    public static func parseCSV(
        bytes: [UInt8], name: String, options: LoadOptions = LoadOptions()
    ) throws(DataError) -> Dataset {
        try check(options, name: name)
        return try CSVParser.parse(try decompressIfNeeded(bytes, name: name, options: options),
                                   name: name, options: options)
    }

    /// Parses LIBSVM / svmlight text (gzip'd or not).
    public static func parseLIBSVM(
        bytes: [UInt8], name: String, options: LoadOptions = LoadOptions()
    ) throws(DataError) -> Dataset {
        try check(options, name: name)
        return try LIBSVMParser.parse(try decompressIfNeeded(bytes, name: name, options: options),
                                      name: name, options: options)
    }

    /// Parses an IDX images file and its IDX labels file (each gzip'd or not).
    public static func parseIDX(
        images: [UInt8], imagesName: String, labels: [UInt8], labelsName: String,
        options: LoadOptions = LoadOptions()
    ) throws(DataError) -> Dataset {
        try check(options, name: imagesName)
        let imageData = try decompressIfNeeded(images, name: imagesName, options: options)
        let labelData = try decompressIfNeeded(labels, name: labelsName, options: options)
        return try IDXParser.parse(images: imageData, imagesName: imagesName, labels: labelData,
                                   labelsName: labelsName, options: options)
    }

    /// The labels file for an IDX images file: in the file name "images" becomes "labels" and
    /// "idx3" becomes "idx1" ("train-images-idx3-ubyte" → "train-labels-idx1-ubyte"); nil when
    /// the name has no "images".
    public static func labelsPath(forImages path: String) -> String? {
        IDXParser.labelsPath(forImages: path)
    }

    /// The 5,000 MNIST digits built into the binary (Data/mnist-5k.csv.gz): 784 features (pixels
    /// 0...255, unscaled), classes "0"..."9", 500 rows each, image shape 1 x 28 x 28.
    /// Parsed once per process.
    public static func embeddedMNIST5k() throws(DataError) -> Dataset {
        try embeddedMNIST5kResult.get()
    }

    static func loadEmbeddedMNIST5k() throws(DataError) -> Dataset {
        let length = Int(fathom_mnist5k_length())
        guard let base = fathom_mnist5k_bytes(), length > 0 else {
            throw DataError(file: embeddedName, message: "the embedded data is missing")
        }
        let bytes = [UInt8](UnsafeBufferPointer(start: base, count: length))
        var dataset = try parseCSV(
            bytes: bytes, name: embeddedName,
            options: LoadOptions(format: .csv, labelColumn: .last, header: .absent))
        guard dataset.featureCount == 28 * 28 else {
            throw DataError(
                file: embeddedName, message: "expected 784 features, found \(dataset.featureCount)")
        }
        dataset.imageShape = ImageShape(channels: 1, height: 28, width: 28)
        return dataset
    }

    // MARK: - Helpers

    static func check(_ options: LoadOptions, name: String) throws(DataError) {
        if let count = options.featureCount, count < 1 {
            throw DataError(file: name, message: "the feature count must be positive, not \(count)")
        }
        if options.maxElements < 1 {
            throw DataError(file: name, message: "maxElements must be positive")
        }
    }

    static func decompressIfNeeded(
        _ bytes: [UInt8], name: String, options: LoadOptions
    ) throws(DataError) -> [UInt8] {
        guard Gzip.isGzip(bytes) else { return bytes }
        // No format needs more than 64 bytes of text per value it keeps (and LIBSVM's dense
        // width is limited separately), so a gzip bomb stops at a size tied to the data limit.
        // Also never more than 16 GiB of text, whatever the element limit allows.
        let (limit, overflow) = options.maxElements.multipliedReportingOverflow(by: 64)
        let data = try Gzip.decompress(bytes, name: name,
                                       limit: min(overflow ? Int.max : max(limit, 1 << 20), 1 << 34))
        if data.isEmpty { throw DataError(file: name, message: "empty file (empty gzip stream)") }
        return data
    }

    static func readLabelsFile(
        _ path: String, derived: Bool, images: String
    ) throws(DataError) -> (path: String, bytes: [UInt8]) {
        do {
            return (path, try readFile(path))
        } catch {
            guard derived else { throw error }
            // Try the other compression suffix: images.gz with plain labels or the reverse.
            let alternative = path.hasSuffix(".gz") ? String(path.dropLast(3)) : path + ".gz"
            if let bytes = try? readFile(alternative) { return (alternative, bytes) }
            throw DataError(
                file: path,
                message: "\(error.message) (the IDX labels file, derived from the images file name "
                    + "\(fileName(of: images)); name it explicitly if it is elsewhere)",
                cannotOpen: error.cannotOpen)
        }
    }

    /// The whole content of the file at `path`.
    static func readFile(_ path: String) throws(DataError) -> [UInt8] {
        do {
            return try FileIO.read(path)
        } catch {
            throw DataError(file: path, message: error.errno == EISDIR ? error.message
                            : "\(error.message): \(FileIO.errorText(error.errno))",
                            cannotOpen: error.message == "cannot open")
        }
    }
}

private let embeddedMNIST5kResult: Result<Dataset, DataError> = Result {
    () throws(DataError) -> Dataset in try DataLoader.loadEmbeddedMNIST5k()
}

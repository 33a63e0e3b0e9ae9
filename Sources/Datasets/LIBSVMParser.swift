/// LIBSVM / svmlight text: `label index:value index:value ... # comment`, indices 1-based and
/// increasing, absent features zero. `qid:N` tokens are ignored. Lines holding only a comment
/// are skipped; blank lines are allowed only at the end of the file.
enum LIBSVMParser {
    /// The largest feature index accepted (the dense width must also fit `maxElements`).
    static let indexLimit = 1 << 31

    static func parse(_ bytes: [UInt8], name: String, options: LoadOptions) throws(DataError) -> Dataset {
        try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) -> Dataset in
            try parse(buffer, name: name, options: options)
        }
    }

    static func parse(
        _ buffer: UnsafeBufferPointer<UInt8>, name: String, options: LoadOptions
    ) throws(DataError) -> Dataset {
        var bodyStart = 0
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { bodyStart = 3 }
        var lines = CSVParser.Lines(buffer: buffer, position: bodyStart)
        let indexCap = min(options.featureCount ?? indexLimit, indexLimit)

        // Sparse rows: entries rowStart[r]..<rowStart[r+1] of (indices, values).
        var indices = [Int32]()
        var values = [Float]()
        var rowStart = [0]
        var labelIDs = [Int32]()
        var table = ClassTable()
        var maxIndex = 0
        var pendingBlank: Int? = nil
        var sawContent = false

        while let line = lines.next() {
            let lineNumber = lines.number
            // A line holding only a comment is not blank, so it may sit between data rows.
            var end = line.start
            while end < line.end, buffer[end] != UInt8(ascii: "#") { end += 1 }
            let hasComment = end < line.end
            var i = line.start
            while i < end, isSpace(buffer[i]) { i += 1 }
            if i == end {
                if hasComment {
                    sawContent = true
                } else if pendingBlank == nil {
                    pendingBlank = lineNumber
                }
                continue
            }
            sawContent = true
            if let blank = pendingBlank {
                throw DataError(
                    file: name, line: blank,
                    message: "blank line inside the data (only trailing blank lines are allowed)")
            }
            var tokenEnd = i
            while tokenEnd < end, !isSpace(buffer[tokenEnd]) { tokenEnd += 1 }
            if buffer[i..<tokenEnd].contains(UInt8(ascii: ":")) {
                throw DataError(
                    file: name, line: lineNumber,
                    message: "missing label: the line starts with the feature \(quoted(buffer[i..<tokenEnd]))")
            }
            // The format's labels are numbers (class ids, ±1, or regression targets); a word is
            // a file of another format, not a class name.
            guard case .number = parseFloat(buffer, i, tokenEnd) else {
                throw DataError(
                    file: name, line: lineNumber,
                    message: "label \(quoted(buffer[i..<tokenEnd])) is not a finite number (LIBSVM labels are numeric)")
            }
            let label = String(decoding: UnsafeBufferPointer(rebasing: buffer[i..<tokenEnd]), as: UTF8.self)
            labelIDs.append(table.id(for: label))
            i = tokenEnd

            var previous = 0
            while true {
                while i < end, isSpace(buffer[i]) { i += 1 }
                if i == end { break }
                var j = i
                var colon = -1
                while j < end, !isSpace(buffer[j]) {
                    if colon < 0, buffer[j] == UInt8(ascii: ":") { colon = j }
                    j += 1
                }
                let token = buffer[i..<j]
                guard colon > i, colon + 1 < j else {
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "malformed token \(quoted(token)) (expected index:value)")
                }
                if colon - i == 3, buffer[i] == UInt8(ascii: "q"), buffer[i + 1] == UInt8(ascii: "i"),
                   buffer[i + 2] == UInt8(ascii: "d")
                {
                    i = j
                    continue
                }
                guard let index = parseIndex(buffer, i, colon) else {
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "malformed token \(quoted(token)) (the index must be a positive integer)")
                }
                if index == 0 {
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "feature index 0 in \(quoted(token)): indices start at 1")
                }
                if index <= previous {
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "feature index \(index) is not greater than the previous index \(previous)")
                }
                if index > indexCap {
                    if let limit = options.featureCount, limit < indexLimit {
                        throw DataError(
                            file: name, line: lineNumber,
                            message: "feature index \(index) is past the feature count \(limit)")
                    }
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "feature index \(quoted(buffer[i..<colon])) is too large (limit \(indexLimit))")
                }
                switch parseFloat(buffer, colon + 1, j) {
                case .number(let value):
                    if value != 0 {
                        indices.append(Int32(truncatingIfNeeded: index - 1))
                        values.append(value)
                    }
                case .nonFinite:
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "value \(quoted(buffer[(colon + 1)..<j])) of feature \(index) is not finite")
                case .invalid:
                    throw DataError(
                        file: name, line: lineNumber,
                        message: "non-numeric value \(quoted(buffer[(colon + 1)..<j])) of feature \(index)")
                }
                previous = index
                maxIndex = max(maxIndex, index)
                i = j
            }
            rowStart.append(indices.count)
        }
        if !sawContent { throw DataError(file: name, message: "empty file") }
        let rows = labelIDs.count
        if rows == 0 { throw DataError(file: name, message: "no data rows (only comments)") }
        let width = options.featureCount ?? maxIndex
        if width < 1 {
            throw DataError(file: name, message: "no features: every row is empty (pass the feature count)")
        }
        // Without --features the width comes from the largest index, which one corrupt or hostile
        // token can make enormous: refuse to densify far more than the file stores.
        if options.featureCount == nil && width > 1_000_000 && width > 1000 * max(indices.count, 1) {
            throw DataError(
                file: name,
                message: "the largest feature index is \(width) but only \(indices.count) values are stored; "
                    + "pass the feature count (--features N) if that width is intended")
        }
        let (total, overflow) = rows.multipliedReportingOverflow(by: width)
        if overflow || total > options.maxElements {
            throw DataError(
                file: name,
                message: "\(rows) rows x \(width) features is too much data (limit \(options.maxElements) values)")
        }
        var features = [Float](repeating: 0, count: total)
        features.withUnsafeMutableBufferPointer { dense in
            for r in 0..<rows {
                let base = r * width
                for k in rowStart[r]..<rowStart[r + 1] {
                    dense[base + Int(indices[k])] = values[k]
                }
            }
        }
        let (classes, remap) = table.finish()
        for i in labelIDs.indices { labelIDs[i] = remap[Int(labelIDs[i])] }
        return Dataset(features: features, labels: labelIDs, featureCount: width, classes: classes)
    }
}

/// Delimited text: one sample a line, the label in one column, every other column a number.
///
/// - The delimiter is a comma, unless the first line has none: then a tab, else a semicolon.
/// - Fields may be wrapped in double quotes (`""` inside is one quote); spaces around fields are
///   ignored; CRLF line ends and a UTF-8 byte order mark are accepted.
/// - Blank lines are allowed only at the end of the file; a blank line between rows is an error,
///   so that no row is ever dropped silently.
enum CSVParser {
    struct Field {
        var start: Int
        var end: Int
        var quoted: Bool
        var escapedQuotes: Bool
        var next: Int
        var isLast: Bool
    }

    static func parse(_ bytes: [UInt8], name: String, options: LoadOptions) throws(DataError) -> Dataset {
        try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) -> Dataset in
            try parse(buffer, name: name, options: options)
        }
    }

    /// The lines of the buffer: `(start, end)` without the line break (and without a CR before it).
    struct Lines {
        let buffer: UnsafeBufferPointer<UInt8>
        var position: Int
        var number = 0

        /// Next line, or nil at the end of the buffer.
        mutating func next() -> (start: Int, end: Int)? {
            guard position < buffer.count else { return nil }
            let start = position
            var end = start
            while end < buffer.count, buffer[end] != 0x0A { end += 1 }
            position = end + 1
            number += 1
            var trimmed = end
            if trimmed > start, buffer[trimmed - 1] == 0x0D { trimmed -= 1 }
            return (start, trimmed)
        }

        func isBlank(_ line: (start: Int, end: Int)) -> Bool {
            var i = line.start
            while i < line.end {
                if !isSpace(buffer[i]) { return false }
                i += 1
            }
            return true
        }
    }

    static func parse(
        _ buffer: UnsafeBufferPointer<UInt8>, name: String, options: LoadOptions
    ) throws(DataError) -> Dataset {
        var bodyStart = 0
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { bodyStart = 3 }
        var lines = Lines(buffer: buffer, position: bodyStart)

        // The first line with content; blank lines before it are an error, none at all is empty.
        var firstBlank: Int? = nil
        var firstLine: (start: Int, end: Int)? = nil
        while let line = lines.next() {
            if lines.isBlank(line) {
                if firstBlank == nil { firstBlank = lines.number }
                continue
            }
            firstLine = line
            break
        }
        guard let line1 = firstLine else { throw DataError(file: name, message: "empty file") }
        if let blank = firstBlank {
            throw DataError(
                file: name, line: blank,
                message: "blank line before the data (only trailing blank lines are allowed)")
        }
        let line1Number = lines.number

        let delimiter = detectDelimiter(buffer, line1)
        let fields1 = try splitFields(buffer, line1, delimiter: delimiter, name: name, line: line1Number)

        // The second line with content, for header detection and for the header's field count.
        var afterLine1 = lines
        var secondLine: (start: Int, end: Int)? = nil
        var blankBeforeSecond: Int? = nil
        while let line = afterLine1.next() {
            if afterLine1.isBlank(line) {
                if blankBeforeSecond == nil { blankBeforeSecond = afterLine1.number }
                continue
            }
            secondLine = line
            break
        }
        let line2Number = afterLine1.number

        let hasHeader: Bool
        switch options.header {
        case .present: hasHeader = true
        case .absent: hasHeader = false
        case .auto:
            guard let labelIndex = options.labelColumn.resolve(fieldCount: fields1.count) else {
                throw labelColumnError(options.labelColumn, fieldCount: fields1.count, name: name,
                                       line: line1Number)
            }
            let featureText1 = fields1.indices.contains { $0 != labelIndex && !numeric(buffer, fields1[$0]) }
            if let line2 = secondLine,
               let fields2 = try? splitFields(buffer, line2, delimiter: delimiter, name: name, line: 0),
               fields2.count == fields1.count
            {
                let features2Numeric = fields2.indices.allSatisfy {
                    $0 == labelIndex || numeric(buffer, fields2[$0])
                }
                // Only text among the features marks a header: a text label over a numeric one
                // is as likely a data row with mixed label names, and dropping it would lose data.
                hasHeader = features2Numeric && featureText1
            } else {
                hasHeader = secondLine == nil && featureText1
            }
        }

        // The first data line fixes the field count.
        let dataLine: (start: Int, end: Int)
        let dataLineNumber: Int
        let dataFieldCount: Int
        if hasHeader {
            guard let line2 = secondLine else {
                throw DataError(file: name, line: line1Number, message: "a header but no data rows")
            }
            if let blank = blankBeforeSecond {
                throw DataError(
                    file: name, line: blank,
                    message: "blank line inside the data (only trailing blank lines are allowed)")
            }
            let fields2 = try splitFields(buffer, line2, delimiter: delimiter, name: name, line: line2Number)
            if fields2.count != fields1.count {
                throw DataError(
                    file: name, line: line1Number,
                    message: "the header has \(fields1.count) fields but the first data row "
                        + "(line \(line2Number)) has \(fields2.count)")
            }
            dataLine = line2
            dataLineNumber = line2Number
            dataFieldCount = fields2.count
            lines = afterLine1
        } else {
            dataLine = line1
            dataLineNumber = line1Number
            dataFieldCount = fields1.count
        }
        guard let labelIndex = options.labelColumn.resolve(fieldCount: dataFieldCount) else {
            throw labelColumnError(options.labelColumn, fieldCount: dataFieldCount, name: name,
                                   line: dataLineNumber)
        }
        let featureCount = dataFieldCount - 1
        if featureCount < 1 {
            throw DataError(
                file: name, line: dataLineNumber,
                message: "a row needs a label and at least one feature, but this one has 1 field "
                    + "(delimiter \(quoted([delimiter])))")
        }
        if let expected = options.featureCount, expected != featureCount {
            throw DataError(
                file: name, line: dataLineNumber,
                message: "expected \(expected) features, found \(featureCount)")
        }

        var features = [Float]()
        var labelIDs = [Int32]()
        var table = ClassTable()
        // A rough row count estimate from the first data line's length, capped, to reserve once.
        let lineLength = max(1, dataLine.end - dataLine.start + 1)
        let estimatedRows = min(buffer.count / lineLength + 1, max(1, options.maxElements / featureCount))
        features.reserveCapacity(min(estimatedRows * featureCount, 1 << 28))
        labelIDs.reserveCapacity(min(estimatedRows, 1 << 26))

        var pendingBlank: Int? = nil
        var current: (start: Int, end: Int)? = dataLine
        var lineNumber = dataLineNumber
        var lastLabel: (start: Int, end: Int, id: Int32)? = nil
        while let line = current {
            defer {
                current = lines.next()
                lineNumber = lines.number
            }
            if lines.isBlank(line) {
                if pendingBlank == nil { pendingBlank = lineNumber }
                continue
            }
            if let blank = pendingBlank {
                throw DataError(
                    file: name, line: blank,
                    message: "blank line inside the data (only trailing blank lines are allowed)")
            }
            if features.count > options.maxElements - featureCount {
                throw DataError(
                    file: name, line: lineNumber,
                    message: "too much data: more than \(options.maxElements) feature values")
            }
            var position = line.start
            var fieldIndex = 0
            var labelField: Field? = nil
            while true {
                let field = try scanField(
                    buffer, position, line.end, delimiter: delimiter, name: name, line: lineNumber,
                    fieldNumber: fieldIndex + 1)
                if fieldIndex >= dataFieldCount {
                    throw raggedError(buffer, line, delimiter: delimiter, expected: dataFieldCount,
                                      name: name, lineNumber: lineNumber)
                }
                if fieldIndex == labelIndex {
                    labelField = field
                } else {
                    switch parseFloat(buffer, field.start, field.end) {
                    case .number(let value):
                        features.append(value)
                    case .nonFinite:
                        throw DataError(
                            file: name, line: lineNumber,
                            message: "value \(quoted(buffer[field.start..<field.end])) in field "
                                + "\(fieldIndex + 1) is not finite")
                    case .invalid:
                        if field.start == field.end, !field.quoted {
                            throw DataError(
                                file: name, line: lineNumber,
                                message: "empty value in field \(fieldIndex + 1)")
                        }
                        throw DataError(
                            file: name, line: lineNumber,
                            message: "non-numeric value \(quoted(buffer[field.start..<field.end])) "
                                + "in field \(fieldIndex + 1)")
                    }
                }
                fieldIndex += 1
                if field.isLast { break }
                position = field.next
            }
            if fieldIndex != dataFieldCount {
                throw raggedError(buffer, line, delimiter: delimiter, expected: dataFieldCount,
                                  name: name, lineNumber: lineNumber)
            }
            guard let label = labelField, label.end > label.start else {
                throw DataError(
                    file: name, line: lineNumber, message: "empty label in field \(labelIndex + 1)")
            }
            // Runs of rows with the same label text skip the dictionary.
            if let last = lastLabel, !label.escapedQuotes, last.end - last.start == label.end - label.start,
               memcmpEqual(buffer, last.start, label.start, label.end - label.start)
            {
                labelIDs.append(last.id)
            } else {
                let id = table.id(for: labelText(buffer, label))
                labelIDs.append(id)
                lastLabel = label.escapedQuotes ? nil : (label.start, label.end, id)
            }
        }
        if labelIDs.isEmpty { throw DataError(file: name, message: "no data rows") }
        let (classes, remap) = table.finish()
        for i in labelIDs.indices { labelIDs[i] = remap[Int(labelIDs[i])] }
        return Dataset(features: features, labels: labelIDs, featureCount: featureCount, classes: classes)
    }

    // MARK: - Fields

    static func detectDelimiter(_ buffer: UnsafeBufferPointer<UInt8>, _ line: (start: Int, end: Int)) -> UInt8 {
        var hasTab = false
        var hasSemicolon = false
        for i in line.start..<line.end {
            switch buffer[i] {
            case UInt8(ascii: ","): return UInt8(ascii: ",")
            case 0x09: hasTab = true
            case UInt8(ascii: ";"): hasSemicolon = true
            default: break
            }
        }
        if hasTab { return 0x09 }
        if hasSemicolon { return UInt8(ascii: ";") }
        return UInt8(ascii: ",")
    }

    /// The field that starts at `position` in a line ending at `end`.
    @inline(__always)
    static func scanField(
        _ buffer: UnsafeBufferPointer<UInt8>, _ position: Int, _ end: Int, delimiter: UInt8,
        name: String, line: Int, fieldNumber: Int
    ) throws(DataError) -> Field {
        var i = position
        while i < end, buffer[i] != delimiter, isSpace(buffer[i]) { i += 1 }
        if i < end, buffer[i] == UInt8(ascii: "\"") {
            let contentStart = i + 1
            var j = contentStart
            var escaped = false
            var close = -1
            while j < end {
                if buffer[j] == UInt8(ascii: "\"") {
                    if j + 1 < end, buffer[j + 1] == UInt8(ascii: "\"") {
                        escaped = true
                        j += 2
                        continue
                    }
                    close = j
                    break
                }
                j += 1
            }
            if close < 0 {
                throw DataError(
                    file: name, line: line, message: "unterminated quoted text in field \(fieldNumber)")
            }
            var k = close + 1
            while k < end, buffer[k] != delimiter, isSpace(buffer[k]) { k += 1 }
            if k == end {
                return Field(start: contentStart, end: close, quoted: true, escapedQuotes: escaped,
                             next: end, isLast: true)
            }
            if buffer[k] == delimiter {
                return Field(start: contentStart, end: close, quoted: true, escapedQuotes: escaped,
                             next: k + 1, isLast: false)
            }
            throw DataError(
                file: name, line: line,
                message: "unexpected text after the closing quote in field \(fieldNumber)")
        }
        var j = i
        while j < end, buffer[j] != delimiter { j += 1 }
        var fieldEnd = j
        while fieldEnd > i, isSpace(buffer[fieldEnd - 1]) { fieldEnd -= 1 }
        return Field(start: i, end: fieldEnd, quoted: false, escapedQuotes: false, next: j + 1,
                     isLast: j == end)
    }

    static func splitFields(
        _ buffer: UnsafeBufferPointer<UInt8>, _ line: (start: Int, end: Int), delimiter: UInt8,
        name: String, line lineNumber: Int
    ) throws(DataError) -> [Field] {
        var fields = [Field]()
        var position = line.start
        while true {
            let field = try scanField(buffer, position, line.end, delimiter: delimiter, name: name,
                                      line: lineNumber, fieldNumber: fields.count + 1)
            fields.append(field)
            if field.isLast { return fields }
            position = field.next
        }
    }

    static func numeric(_ buffer: UnsafeBufferPointer<UInt8>, _ field: Field) -> Bool {
        looksNumeric(buffer, field.start, field.end)
    }

    static func labelText(_ buffer: UnsafeBufferPointer<UInt8>, _ field: Field) -> String {
        if !field.escapedQuotes {
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[field.start..<field.end]),
                          as: UTF8.self)
        }
        var bytes = [UInt8]()
        var i = field.start
        while i < field.end {
            bytes.append(buffer[i])
            if buffer[i] == UInt8(ascii: "\""), i + 1 < field.end, buffer[i + 1] == UInt8(ascii: "\"") {
                i += 2
            } else {
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    static func memcmpEqual(_ buffer: UnsafeBufferPointer<UInt8>, _ a: Int, _ b: Int, _ count: Int) -> Bool {
        var i = 0
        while i < count {
            if buffer[a + i] != buffer[b + i] { return false }
            i += 1
        }
        return true
    }

    static func raggedError(
        _ buffer: UnsafeBufferPointer<UInt8>, _ line: (start: Int, end: Int), delimiter: UInt8,
        expected: Int, name: String, lineNumber: Int
    ) -> DataError {
        let found = (try? splitFields(buffer, line, delimiter: delimiter, name: name, line: lineNumber))?.count
        let foundText = found.map { "found \($0)" } ?? "found a different number"
        return DataError(
            file: name, line: lineNumber, message: "expected \(expected) fields, \(foundText)")
    }

    static func labelColumnError(
        _ column: LabelColumn, fieldCount: Int, name: String, line: Int
    ) -> DataError {
        DataError(
            file: name, line: line,
            message: "label column \(column) is out of range: the row has \(fieldCount) "
                + "field\(fieldCount == 1 ? "" : "s") (columns 0...\(fieldCount - 1))")
    }
}

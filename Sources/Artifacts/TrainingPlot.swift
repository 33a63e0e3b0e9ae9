#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Learning curves as a standalone SVG image.
///
/// The image is 900 × 360 with a title, a shared legend and two panels side by side: loss
/// (train and test) and accuracy in percent (train and test). Axes run between round tick
/// values (multiples of 1, 2 or 5 × 10ⁿ) with grid lines and labels; train is a solid blue line
/// with round markers, test a dashed orange line with square markers, so the series stay
/// distinguishable in grey-scale print. NaN or infinite values are left out (the line joins
/// the neighbouring points), a constant series gets a small non-empty range around it, and an
/// empty history draws empty panels marked "no data".
public enum TrainingPlot {
    static let width = 900.0
    static let height = 360.0
    static let trainColor = "#1f77b4"
    static let testColor = "#ff7f0e"
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// Renders the learning curves of `records`.
    /// - Parameters:
    ///   - records: one record per epoch, in any order (they are plotted by `epoch`).
    ///   - title: the heading; it is escaped, so any text is safe.
    /// - Returns: a complete SVG document (no XML declaration), starting with `<svg`.
    public static func svg(records: [EpochRecord], title: String) -> String {
        let sorted = records.sorted { $0.epoch < $1.epoch }
        func points(_ value: (EpochRecord) -> Double) -> [Point] {
            sorted.compactMap { record in
                let y = value(record)
                return y.isFinite ? Point(x: Double(record.epoch), y: y) : nil
            }
        }
        let trainLoss = points(\.trainLoss)
        let testLoss = points(\.testLoss)
        let trainAccuracy = points { 100 * $0.trainAccuracy }
        let testAccuracy = points { 100 * $0.testAccuracy }

        let epochAxis = niceAxis(sorted.map { Double($0.epoch) }, integerSteps: true)
        let lossAxis = niceAxis((trainLoss + testLoss).map(\.y))
        let accuracyAxis = niceAxis((trainAccuracy + testAccuracy).map(\.y), limits: 0...100)

        let escapedTitle = escapeXML(title)
        var out = ""
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\""
        out += " viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" font-family=\"\(fontFamily)\" font-size=\"12\">\n"
        out += "<title>\(escapedTitle)</title>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        out += "<text x=\"\(fmt(width / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">\(escapedTitle)</text>\n"
        legend(into: &out)

        let top = 64.0
        let bottom = 296.0
        panel(
            into: &out, name: "loss", frame: Frame(left: 70, top: top, right: 430, bottom: bottom),
            xAxis: epochAxis, yAxis: lossAxis, yTitle: "loss",
            series: [
                Series(name: "train-loss", color: trainColor, dashed: false, marker: .circle, points: trainLoss),
                Series(name: "test-loss", color: testColor, dashed: true, marker: .square, points: testLoss),
            ])
        panel(
            into: &out, name: "accuracy", frame: Frame(left: 520, top: top, right: 880, bottom: bottom),
            xAxis: epochAxis, yAxis: accuracyAxis, yTitle: "accuracy (%)",
            series: [
                Series(name: "train-accuracy", color: trainColor, dashed: false, marker: .circle, points: trainAccuracy),
                Series(name: "test-accuracy", color: testColor, dashed: true, marker: .square, points: testAccuracy),
            ])
        out += "</svg>\n"
        return out
    }

    /// Renders the learning curves and writes them to `path` atomically (temporary file,
    /// sync, rename), so a viewer never sees half an image.
    /// - Parameters:
    ///   - records: one record per epoch.
    ///   - title: the heading.
    ///   - path: the `.svg` file to write; its directory must exist.
    /// - Throws: `ArtifactError` naming `path`; a previous file is then left untouched.
    public static func write(records: [EpochRecord], title: String, to path: String) throws(ArtifactError) {
        try AtomicFile.write(Array(svg(records: records, title: title).utf8), to: path)
    }

    // MARK: - Drawing

    struct Point {
        var x: Double
        var y: Double
    }

    struct Frame {
        var left: Double
        var top: Double
        var right: Double
        var bottom: Double
    }

    enum Marker {
        case circle, square
    }

    struct Series {
        var name: String
        var color: String
        var dashed: Bool
        var marker: Marker
        var points: [Point]
    }

    private static func legend(into out: inout String) {
        let y = 48.0
        out += "<g class=\"legend\" font-size=\"12\" fill=\"#333333\">\n"
        for (x, label, color, dashed, marker) in [
            (384.0, "train", trainColor, false, Marker.circle),
            (464.0, "test", testColor, true, Marker.square),
        ] {
            out += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(y - 4))\" x2=\"\(fmt(x + 26))\" y2=\"\(fmt(y - 4))\""
            out += " stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            out += markerElement(marker, x: x + 13, y: y - 4, size: 3.5, color: color) + "\n"
            out += "<text x=\"\(fmt(x + 32))\" y=\"\(fmt(y))\">\(label)</text>\n"
        }
        out += "</g>\n"
    }

    private static func panel(
        into out: inout String, name: String, frame: Frame, xAxis: Axis, yAxis: Axis,
        yTitle: String, series: [Series]
    ) {
        func px(_ x: Double) -> Double {
            frame.left + (x - xAxis.lower) / (xAxis.upper - xAxis.lower) * (frame.right - frame.left)
        }
        func py(_ y: Double) -> Double {
            frame.bottom - (y - yAxis.lower) / (yAxis.upper - yAxis.lower) * (frame.bottom - frame.top)
        }
        let centerX = (frame.left + frame.right) / 2
        let centerY = (frame.top + frame.bottom) / 2

        out += "<g class=\"panel \(name)\">\n"
        out += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for tick in yAxis.ticks {
            let y = fmt(py(tick.value))
            out += "<line x1=\"\(fmt(frame.left))\" y1=\"\(y)\" x2=\"\(fmt(frame.right))\" y2=\"\(y)\"/>\n"
        }
        for tick in xAxis.ticks {
            let x = fmt(px(tick.value))
            out += "<line x1=\"\(x)\" y1=\"\(fmt(frame.top))\" x2=\"\(x)\" y2=\"\(fmt(frame.bottom))\"/>\n"
        }
        out += "</g>\n"
        out += "<rect x=\"\(fmt(frame.left))\" y=\"\(fmt(frame.top))\" width=\"\(fmt(frame.right - frame.left))\""
        out += " height=\"\(fmt(frame.bottom - frame.top))\" fill=\"none\" stroke=\"#999999\" stroke-width=\"1\"/>\n"

        out += "<g class=\"ticks\" font-size=\"11\" fill=\"#444444\">\n"
        for tick in yAxis.ticks {
            out += "<text x=\"\(fmt(frame.left - 7))\" y=\"\(fmt(py(tick.value) + 4))\" text-anchor=\"end\">\(tick.label)</text>\n"
        }
        for tick in xAxis.ticks {
            out += "<text x=\"\(fmt(px(tick.value)))\" y=\"\(fmt(frame.bottom + 17))\" text-anchor=\"middle\">\(tick.label)</text>\n"
        }
        out += "</g>\n"

        out += "<g font-size=\"13\" fill=\"#222222\">\n"
        out += "<text x=\"\(fmt(centerX))\" y=\"\(fmt(frame.bottom + 40))\" text-anchor=\"middle\">epoch</text>\n"
        let titleX = frame.left - 50
        out += "<text x=\"\(fmt(titleX))\" y=\"\(fmt(centerY))\" text-anchor=\"middle\""
        out += " transform=\"rotate(-90 \(fmt(titleX)) \(fmt(centerY)))\">\(escapeXML(yTitle))</text>\n"
        out += "</g>\n"

        if series.allSatisfy({ $0.points.isEmpty }) {
            out += "<text x=\"\(fmt(centerX))\" y=\"\(fmt(centerY))\" text-anchor=\"middle\" fill=\"#999999\">no data</text>\n"
        }
        for line in series where !line.points.isEmpty {
            var path = ""
            for (index, point) in line.points.enumerated() {
                path += (index == 0 ? "M" : " L") + "\(fmt(px(point.x))) \(fmt(py(point.y)))"
            }
            out += "<path class=\"series \(line.name)\" d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\""
            out += " stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            out += line.dashed ? " stroke-dasharray=\"5 3\"/>\n" : "/>\n"
            // Dense histories would turn markers into a smear: shrink them, and past 100 points mark
            // every k-th (about 50 in all, the last always), enough to tell the series apart in
            // grey-scale print without an element per point of a 1,500-epoch run.
            let size = line.points.count > 80 ? 1.6 : 3.0
            let every = line.points.count > 100 ? (line.points.count + 49) / 50 : 1
            out += "<g class=\"markers \(line.name)\">\n"
            for (index, point) in line.points.enumerated() where index % every == 0 || index == line.points.count - 1 {
                out += markerElement(line.marker, x: px(point.x), y: py(point.y), size: size, color: line.color) + "\n"
            }
            out += "</g>\n"
        }
        out += "</g>\n"
    }

    private static func markerElement(_ marker: Marker, x: Double, y: Double, size: Double, color: String) -> String {
        switch marker {
        case .circle:
            return "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"\(fmt(size))\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .square:
            return "<rect x=\"\(fmt(x - size))\" y=\"\(fmt(y - size))\" width=\"\(fmt(2 * size))\" height=\"\(fmt(2 * size))\""
                + " fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        }
    }

    // MARK: - Axes

    struct Tick: Equatable {
        var value: Double
        var label: String
    }

    struct Axis: Equatable {
        var lower: Double
        var upper: Double
        var ticks: [Tick]
    }

    /// An axis covering `values` (non-finite ones ignored) whose ends and ticks are multiples of
    /// a round step (1, 2 or 5 × 10ⁿ) chosen to give roughly five to eight intervals.
    /// - Parameters:
    ///   - values: the data the axis must cover.
    ///   - integerSteps: never use a step below 1 (epochs).
    ///   - limits: keep the axis inside these bounds when the data is (accuracy stays in 0…100).
    static func niceAxis(
        _ values: [Double], integerSteps: Bool = false, limits: ClosedRange<Double>? = nil
    ) -> Axis {
        let finite = values.filter(\.isFinite)
        let dataLow = finite.min() ?? 0
        let dataHigh = finite.max() ?? 1
        var low = dataLow
        var high = dataHigh
        // A constant series would divide by zero when mapped; widen it to a visible range.
        if high - low <= max(abs(low), abs(high)) * 1e-9 {
            let pad = integerSteps ? 1 : (low == 0 ? 1 : abs(low) * 0.1)
            low -= pad
            high += pad
        }
        let raw = (high - low) / 5
        var exponent = Int(log10(raw).rounded(.down))
        let fraction = raw / power(10, exponent)
        var mantissa: Int64
        switch fraction {
        case ..<1.5: mantissa = 1
        case ..<3: mantissa = 2
        case ..<7: mantissa = 5
        default:
            mantissa = 1
            exponent += 1
        }
        if integerSteps && exponent < 0 {
            mantissa = 1
            exponent = 0
        }
        let step = Double(mantissa) * power(10, exponent)
        // The small allowance keeps a bound that is already a multiple (up to rounding error)
        // from gaining an extra empty interval.
        var first = (low / step + 1e-9).rounded(.down)
        var last = (high / step - 1e-9).rounded(.up)
        if let limits {
            if dataLow >= limits.lowerBound { first = max(first, (limits.lowerBound / step - 1e-9).rounded(.up)) }
            if dataHigh <= limits.upperBound { last = min(last, (limits.upperBound / step + 1e-9).rounded(.down)) }
        }
        var ticks: [Tick] = []
        if let firstIndex = Int64(exactly: first), let lastIndex = Int64(exactly: last), lastIndex - firstIndex < 100 {
            for index in firstIndex...lastIndex {
                ticks.append(tick(index: index, mantissa: mantissa, exponent: exponent))
            }
        }
        guard let lowest = ticks.first, let highest = ticks.last, highest.value > lowest.value else {
            // Only reachable for values near the limits of Double; fall back to the raw range.
            return Axis(lower: low, upper: high, ticks: [
                Tick(value: low, label: low.description), Tick(value: high, label: high.description),
            ])
        }
        return Axis(lower: lowest.value, upper: highest.value, ticks: ticks)
    }

    /// The tick `index × mantissa × 10^exponent`, labelled exactly from integers so that labels
    /// read `0.3`, never `0.30000000000000004`, and trailing zeros are dropped (`1`, not `1.0`).
    private static func tick(index: Int64, mantissa: Int64, exponent: Int) -> Tick {
        let (units, overflow) = index.multipliedReportingOverflow(by: mantissa)
        if overflow || exponent > 15 || exponent < -15 {
            let value = Double(index) * Double(mantissa) * power(10, exponent)
            return Tick(value: value, label: value.description)
        }
        if exponent >= 0 {
            let value = Double(units) * power(10, exponent)
            let (scaled, overflowed) = units.multipliedReportingOverflow(by: Int64(power(10, exponent)))
            return Tick(value: value, label: overflowed ? value.description : String(scaled))
        }
        return Tick(value: Double(units) / power(10, -exponent), label: decimal(units, digits: -exponent))
    }

    // MARK: - Text

    /// `10^exponent`, exact for the exponents the axes use (|exponent| ≤ 22).
    static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= base }
        return exponent < 0 ? 1 / result : result
    }

    /// `units / 10^digits` in plain decimal notation without trailing zeros.
    static func decimal(_ units: Int64, digits: Int) -> String {
        let negative = units < 0
        var text = String(units.magnitude)
        if digits > 0 {
            if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
            let point = text.index(text.endIndex, offsetBy: -digits)
            var fraction = text[point...]
            while fraction.last == "0" { fraction.removeLast() }
            text = String(text[..<point]) + (fraction.isEmpty ? "" : "." + fraction)
        }
        return negative && text != "0" ? "-" + text : text
    }

    /// A coordinate rounded to 0.1 px, which is finer than any display and keeps files small.
    static func fmt(_ value: Double) -> String {
        let scaled = (value * 10).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else { return "0" }
        return decimal(Int64(scaled), digits: 1)
    }

    /// `text` made safe for SVG character data and attribute values. Control characters that
    /// XML 1.0 forbids are replaced with U+FFFD rather than producing an unreadable file.
    static func escapeXML(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case "\u{00}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

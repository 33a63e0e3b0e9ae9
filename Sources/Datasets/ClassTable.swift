/// Collects label texts while a file is parsed and turns them into the class list.
///
/// Labels are text. When every distinct label parses as a finite number, classes are ordered by
/// numeric value ("10" after "9") and texts of the same value ("3", "3.0", "+3") are one class,
/// named by its shortest text; otherwise every distinct text is a class, in lexicographic order.
struct ClassTable {
    private var ids: [String: Int32] = [:]
    private var names: [String] = []

    var isEmpty: Bool { names.isEmpty }

    /// Provisional id of `text`, in order of first appearance.
    mutating func id(for text: String) -> Int32 {
        if let id = ids[text] { return id }
        let id = Int32(truncatingIfNeeded: names.count)
        ids[text] = id
        names.append(text)
        return id
    }

    /// The final class list and, for each provisional id, its final class id.
    func finish() -> (classes: [String], remap: [Int32]) {
        let values = names.map(Self.numericValue)
        var remap = [Int32](repeating: 0, count: names.count)
        if !values.isEmpty, values.allSatisfy({ $0 != nil }) {
            var groups = [Double: [Int]]()
            for (id, value) in values.enumerated() {
                if let value { groups[value, default: []].append(id) }
            }
            let sortedValues = groups.keys.sorted()
            var classes = [String]()
            classes.reserveCapacity(sortedValues.count)
            for (classID, value) in sortedValues.enumerated() {
                let members = groups[value] ?? []
                var best: String? = nil
                for member in members {
                    remap[member] = Int32(classID)
                    let name = names[member]
                    if let current = best {
                        if name.utf8.count < current.utf8.count
                            || (name.utf8.count == current.utf8.count && name < current)
                        {
                            best = name
                        }
                    } else {
                        best = name
                    }
                }
                classes.append(best ?? "")
            }
            return (classes, remap)
        }
        let order = names.indices.sorted { names[$0] < names[$1] }
        for (classID, id) in order.enumerated() { remap[id] = Int32(classID) }
        return (order.map { names[$0] }, remap)
    }

    /// The value of a label that is a finite number, else nil.
    static func numericValue(_ text: String) -> Double? {
        guard let first = text.utf8.first,
              first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
                || first == UInt8(ascii: ".") || (first >= 0x30 && first <= 0x39),
              let value = Double(text), value.isFinite
        else { return nil }
        return value == 0 ? 0 : value  // -0 and 0 are one class
    }

    /// "3 classes: a, b, c" (at most 12 listed), for error messages.
    static func summary(_ classes: [String]) -> String {
        var listed = classes.prefix(12).joined(separator: ", ")
        if classes.count > 12 { listed += ", ..." }
        return "\(classes.count) class\(classes.count == 1 ? "" : "es"): \(listed)"
    }
}

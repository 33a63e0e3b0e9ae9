/// What a majority vote gives a coordinate whose workers split evenly (`--tie`).
public enum TieRule: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// 0: no update (the default: +1 would push every tied coordinate the same way each step).
    case zero = 0
    /// +1, the convention of signSGD-MV's code, GRACE and DeepSpeed (for parity only).
    case plus = 1
    /// ±1 from shared randomness: unbiased.
    case random = 2

    public var description: String {
        switch self {
        case .zero: return "zero"
        case .plus: return "plus"
        case .random: return "random"
        }
    }
}

func checkSignWords(_ words: BufferSlice, count: Int) {
    words.expect(.uint32, "packed signs")
    precondition(words.count >= (count + 31) / 32, "\(words.count) words cannot hold \(count) signs")
}

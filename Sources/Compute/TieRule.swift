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

/// The operands of `signVoteBits`: `workers` rows of packed signs `stride` words apart covering
/// `count` coordinates, sign (and tie) words for them, tie bits wherever a tie needs them (an
/// even count under `.zero`), and a chunk that starts at a word.
func checkVoteBits(_ words: BufferSlice, workers: Int, stride: Int, count: Int, signs: BufferSlice, ties: BufferSlice?,
                   tie: TieRule, tieOffset: Int) {
    let perWorker = (count + 31) / 32
    precondition(count >= 0 && workers >= 1 && stride >= perWorker && words.count >= (workers - 1) * stride + perWorker,
                 "packed signs too small for \(workers) workers")
    words.expect(.uint32, "packed signs")
    checkSignWords(signs, count: count)
    if let ties { checkSignWords(ties, count: count) }
    precondition(ties != nil || tie != .zero || workers % 2 == 1, "an even vote under tie zero needs tie words")
    precondition(tieOffset >= 0 && tieOffset % 32 == 0, "a vote chunk starts at a word")
}

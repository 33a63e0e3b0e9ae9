/// An element-wise reduction of `Communicator.allReduce`.
public enum ReductionOperator: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case sum = 0, maximum = 1, minimum = 2

    public var description: String {
        switch self {
        case .sum: return "sum"
        case .maximum: return "max"
        case .minimum: return "min"
        }
    }
}

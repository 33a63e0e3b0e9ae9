/// Which accountant turns a DP-SGD history into ε (`--accountant`).
public enum AccountantKind: String, Sendable, CaseIterable {
    /// Rényi DP with Opacus's orders and the Balle et al. conversion (`RDPAccountant`).
    case rdp
    /// The privacy loss random variable, composed numerically (`PRVAccountant`); tighter, and
    /// reported as its upper bound.
    case prv

    /// ε at δ for `history` (the RDP accountant holds every history), with RDP's best order.
    public func epsilon(_ history: RDPAccountant, delta: Double) -> (epsilon: Double, order: Double?) {
        switch self {
        case .rdp: return history.epsilon(delta: delta)
        case .prv: return (PRVAccountant(history: history.history).epsilon(delta: delta).upper, nil)
        }
    }
}

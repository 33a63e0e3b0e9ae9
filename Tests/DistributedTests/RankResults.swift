import Distributed
import Foundation

/// Per-rank results written by the ranks' threads.
final class RankResults<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, any Error>?]

    init(_ size: Int) { results = Array(repeating: nil, count: size) }

    func set(_ rank: Int, _ result: Result<T, any Error>) { lock.withLock { results[rank] = result } }

    /// Every rank's value; the first rank's error if one threw.
    func values() throws -> [T] {
        try lock.withLock { try results.map { try ($0 ?? .failure(CommunicatorError.groupBroken("no result"))).get() } }
    }
}

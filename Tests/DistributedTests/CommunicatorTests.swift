import Foundation
import Testing
@testable import Distributed

/// Runs `body` on every rank of an in-process group, each on its own thread, and returns each
/// rank's result in rank order.
func onRanks<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (InProcessCommunicator) throws -> T) throws -> [T] {
    let group = InProcessCommunicator.group(size: size, timeout: .seconds(60))
    let results = RankResults<T>(size)
    // Threads of their own, not a pool: every rank blocks at the collectives until all arrive.
    let finished = DispatchSemaphore(value: 0)
    for communicator in group {
        Thread {
            results.set(communicator.rank, Result { try body(communicator) })
            finished.signal()
        }.start()
    }
    for _ in group { finished.wait() }
    return try results.values()
}

@Suite struct CommunicatorTests {
    @Test(arguments: [1, 2, 3, 5])
    func inProcessCollectives(size: Int) throws {
        let outcome = try onRanks(size) { c -> ([Float], [Double], [Int32], [Int32], [UInt8]) in
            let rank = Float(c.rank)
            let sums = try c.allReduce([rank, 1, -rank, .pi], .sum)
            let maxima = try c.allReduce([Double(c.rank), -Double(c.rank)], .maximum)
            let gathered = try c.allGather([Int32(c.rank), Int32(10 * c.rank)])
            // Block q for rank q: (sender, receiver) pairs.
            let blocks = try c.allToAll((0..<c.size).flatMap { q in [Int32(c.rank), Int32(q)] })
            let root = c.size - 1
            let broadcast = try c.broadcast(c.rank == root ? [7, 8, 9] : [], root: root)
            try c.barrier()
            return (sums, maxima, gathered, blocks, broadcast)
        }
        let n = Float(size), triangle = Float(size * (size - 1) / 2)
        for (rank, (sums, maxima, gathered, blocks, broadcast)) in outcome.enumerated() {
            let piSum = (1..<size).reduce(Float.pi) { total, _ in total + .pi }
            let expectedSums: [Float] = [triangle, n, -triangle, piSum]
            #expect(sums == expectedSums)
            #expect(maxima == [Double(size - 1), 0])
            let expectedGather: [Int32] = (0..<size).flatMap { [Int32($0), Int32(10 * $0)] }
            let expectedBlocks: [Int32] = (0..<size).flatMap { [Int32($0), Int32(rank)] }
            #expect(gathered == expectedGather)
            #expect(blocks == expectedBlocks)
            #expect(broadcast == [7, 8, 9])
        }
    }

    @Test func sumsVisitRanksInOrder() throws {
        // 1e8 + 1 - 1e8 in rank order is 0 in single precision; any other order could give 1.
        let sums = try onRanks(3) { c in try c.allReduce([([1e8, 1, -1e8] as [Float])[c.rank]], .sum)[0] }
        #expect(sums == [0, 0, 0])
    }

    @Test func missingRankBreaksTheGroup() throws {
        let group = InProcessCommunicator.group(size: 2, timeout: .milliseconds(200))
        #expect(throws: CommunicatorError.self) { try group[0].barrier() }
        // The rank that comes late finds the group broken instead of completing the round with
        // the first rank's stale buffers.
        let clock = ContinuousClock(), start = clock.now
        #expect(throws: CommunicatorError.self) { _ = try group[1].allGather([Int32(1)]) }
        #expect(clock.now - start < .milliseconds(100))
    }
}

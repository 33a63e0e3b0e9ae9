import Datasets
import Distributed

/// The checks that keep the ranks of an MPI job one run: the same command line, data and
/// initial parameters at the start (a rank started with another seed, model or file would
/// otherwise train a different model and corrupt the vote), and the same parameters after every
/// epoch (every rank applies the same update, so they can only differ through a bug or a
/// nondeterministic device). Each check gathers one 64-bit digest per item.
struct ReplicaCheck {
    let group: WorkerGroup

    /// Throws when any rank's arguments, device kind, training data or initial parameters differ
    /// from rank 0's (`--device auto` can open a GPU on one machine and the CPU on another,
    /// whose arithmetic differs).
    func compareConfiguration(arguments: [String], device: String, data: Dataset, parameters: [Float]) throws {
        var labels = Digest()
        for label in data.labels { labels.add(UInt32(bitPattern: label)) }
        // A strided sample of the features: a different file or scaling changes most of them.
        var features = Digest()
        let values = data.features
        var index = 0
        while index < values.count {
            features.add(values[index].bitPattern)
            index += 97
        }
        features.add(UInt32(truncatingIfNeeded: values.count))
        let items: [(String, UInt64)] = [
            ("command line", Digest.of(arguments.joined(separator: "\u{1F}").utf8.map { UInt32($0) })),
            ("device kind (\(device))", Digest.of(device.utf8.map { UInt32($0) })),
            ("training data", labels.value ^ features.value &* 31),
            ("initial parameters (seed or model)", Digest.of(parameters.map(\.bitPattern))),
        ]
        let all = try group.communicator.allGather(items.map(\.1))
        for rank in 1..<group.communicator.size {
            for (index, item) in items.enumerated() where all[rank * items.count + index] != all[index] {
                throw CommunicatorError.mismatch("rank \(rank)'s \(item.0) differs from rank 0's; every rank must "
                                                 + "run the same command on the same data")
            }
        }
    }

    /// Throws when the ranks' parameters differ after `epoch`.
    func compareParameters(_ parameters: [Float], epoch: Int) throws {
        let all = try group.communicator.allGather([Digest.of(parameters.map(\.bitPattern))])
        if let rank = all.firstIndex(where: { $0 != all[0] }) {
            throw CommunicatorError.mismatch("rank \(rank)'s parameters differ from rank 0's after epoch \(epoch): "
                                             + "the replicas diverged (a nondeterministic device?)")
        }
    }
}

/// FNV-1a over 32-bit words.
private struct Digest {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ word: UInt32) {
        value = (value ^ UInt64(word)) &* 0x100_0000_01b3
    }

    static func of(_ words: [UInt32]) -> UInt64 {
        var digest = Digest()
        for word in words { digest.add(word) }
        return digest.value
    }
}

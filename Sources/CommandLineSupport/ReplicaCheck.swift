import Datasets
import Distributed
import SystemIO

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
        // The labels, and a strided sample of the features: a different file or scaling changes
        // most of them.
        let sample = stride(from: 0, to: data.features.count, by: 97).map { data.features[$0] } + [Float(data.features.count)]
        let items: [(String, UInt64)] = [
            ("command line", FNV1a.hash(arguments.joined(separator: "\u{1F}").utf8)),
            ("device kind (\(device))", FNV1a.hash(device.utf8)),
            ("training data", FNV1a.hash(of: data.labels) ^ FNV1a.hash(of: sample) &* 31),
            ("initial parameters (seed or model)", FNV1a.hash(of: parameters)),
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
        let all = try group.communicator.allGather([FNV1a.hash(of: parameters)])
        if let rank = all.firstIndex(where: { $0 != all[0] }) {
            throw CommunicatorError.mismatch("rank \(rank)'s parameters differ from rank 0's after epoch \(epoch): "
                                             + "the replicas diverged (a nondeterministic device?)")
        }
    }
}

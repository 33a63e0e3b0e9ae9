// The library users link: one import for the device layer, data sets, training, privacy
// accounting, sign compression, distributed ranks, zeroth-order optimisation and artifacts.
@_exported import Artifacts
@_exported import Compression
@_exported import Compute
@_exported import Datasets
@_exported import Distributed
@_exported import Philox
@_exported import Privacy
@_exported import Training
@_exported import ZerothOrder

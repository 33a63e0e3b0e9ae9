import Compute
import Datasets

/// A labelled data set resident on a device: features (count, featureCount) row-major, NHWC for
/// images, and labels (count) as floats, so batches are gathered on the device.
public final class DeviceDataset {
    public let device: any Device
    public let features: DeviceBuffer
    public let labels: DeviceBuffer
    public let count: Int
    public let shape: FeatureShape
    public let classCount: Int

    /// Uploads `data`. Multi-channel images arrive channel-major (CHW) from the loaders and are
    /// reordered to NHWC here, the layout the convolution kernels use.
    public init(_ data: Dataset, device: any Device) throws {
        // Gather indices and labels travel as floats, exact only below 2^24.
        guard data.count < 1 << 24 else {
            throw TrainingError.unsupported("data sets of \(data.count) rows; at most \((1 << 24) - 1) are supported")
        }
        self.device = device
        count = data.count
        classCount = data.classes.count
        var values = data.features
        if let image = data.imageShape, image.elementCount == data.featureCount {
            shape = FeatureShape(height: image.height, width: image.width, channels: image.channels)
            if image.channels > 1 {
                let plane = image.height * image.width
                for row in 0..<data.count {
                    let base = row * data.featureCount
                    for c in 0..<image.channels {
                        for p in 0..<plane { values[base + p * image.channels + c] = data.features[base + c * plane + p] }
                    }
                }
            }
        } else {
            shape = FeatureShape(features: max(data.featureCount, 1))
        }
        features = try device.upload(values)
        labels = try device.upload(data.labels.map { Float($0) })
    }
}

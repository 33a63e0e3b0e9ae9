import Compute
import Datasets

/// A labelled data set resident on a device: features (count, featureCount) row-major, NHWC for
/// images, and labels (count) in an index buffer bounded by the class count, so batches are
/// gathered on the device and no kernel can read past a row of logits.
public final class DeviceDataset {
    /// The device holding `features` and `labels`.
    public let device: any Device
    /// (count, shape.count) row-major, NHWC for images.
    public let features: DeviceBuffer
    /// Class ids, (count), an `Int32` index buffer bounded by `classCount`.
    public let labels: DeviceBuffer
    /// Number of samples (rows).
    public let count: Int
    /// Shape of one sample: the image shape when the data has one, else a flat vector.
    public let shape: FeatureShape
    /// Number of classes of the source data set (labels are in `0..<classCount`).
    public let classCount: Int

    /// Uploads `data`. Multi-channel images arrive channel-major (CHW) from the loaders and are
    /// reordered to NHWC here, the layout the convolution kernels use.
    /// - Throws: `ComputeError` when an upload fails.
    public init(_ data: Dataset, device: any Device) throws {
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
        labels = try device.uploadIndices(data.labels, below: max(classCount, 1))
    }
}

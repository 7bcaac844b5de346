#pragma once
/// @file Prediction.hpp
/// The paper's Algorithm 2 around the network: check_tensor_shape, pre-processing, and the
/// output turned into ROI proposals with exact pixel-edge contours. Torch-free.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "iodeep/iod/Polygon.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"

namespace iodeep::netparser {

/// What check_tensor_shape found: what will be adapted, and what cannot be.
struct ShapeCheck {
  std::vector<std::string> adaptations;
  std::vector<std::string> problems;
  [[nodiscard]] bool ok() const noexcept { return problems.empty(); }
};

/// How slices of a given SamplesPerPixel become the network's input channels.
struct ChannelFit {
  bool feeds{false};  ///< pre-processing turns such a slice into the network's channels
  /// feeds: what is adapted ("grey replicated into 3 channels"), empty when nothing is;
  /// otherwise: why not, with what to change.
  std::string detail;
};

/// check_tensor_shape's SamplesPerPixel rule alone: whether slices of @p samplesPerPixel samples
/// can ever feed @p arch's input channels under its own pre-processing (preprocessing.channels).
/// Depends only on what an IODeep object declares, so `pack` and `inspect` use it to refuse an
/// object that selection would choose and every prediction would then refuse. Torch-free.
[[nodiscard]] ChannelFit fitChannels(std::uint16_t samplesPerPixel, const Architecture& arch);

/// fitChannels(samplesPerPixel, arch).feeds.
[[nodiscard]] bool feedsChannels(std::uint16_t samplesPerPixel, const Architecture& arch);

/// The paper's check_tensor_shape: SamplesPerPixel, Rows, Columns, PhotometricInterpretation,
/// PixelRepresentation of @p slice against the network's input and pre-processing rules.
[[nodiscard]] ShapeCheck checkTensorShape(const iod::SliceAttributes& slice, const Architecture& arch);

/// Where the slice sits in the network's input grid (to map the output back).
struct Placement {
  double scaleRow{1.0}, scaleColumn{1.0};    ///< network pixels per slice pixel
  double offsetRow{0.0}, offsetColumn{0.0};  ///< network position of slice pixel edge 0
};

struct PreparedInput {
  FloatTensor tensor;  ///< C,H,W for the network
  Placement placement;
  ShapeCheck check;  ///< what checkTensorShape adapted (it found no problem)
};

/// checkTensorShape, then pre-processing as the architecture says (window, normalisation,
/// channels, resize). Throws Error(IncompatibleImage) listing checkTensorShape's problems.
[[nodiscard]] PreparedInput preprocess(const iod::SliceImage& slice, const Architecture& arch);

/// Time spent in each step of a prediction.
struct PredictionTimings {
  double decodeMs{0}, preprocessMs{0}, forwardMs{0}, postprocessMs{0}, contourMs{0};
};

/// One proposed region.
struct Proposal {
  LabelSpec label;
  std::vector<iod::Ring> rings;  ///< outer ring(s) first, then holes; pixel coordinates of the slice
  std::int64_t areaPixels{0};
  double areaMm2{-1.0};  ///< -1 when the slice has no PixelSpacing
  double meanProbability{0.0};
};

/// The proposals of one output and the time post-processing took.
struct Postprocessed {
  std::vector<Proposal> proposals;
  double postprocessMs{0};  ///< without contours
  double contourMs{0};
};

/// The labels of @p arch's output of @p channels channels: the declared ones, else one per channel
/// ("label <i>"; with softmax from channel 1, channel 0 being the background).
[[nodiscard]] std::vector<LabelSpec> outputLabels(const Architecture& arch, std::int64_t channels);

/// Activation, mapping back to the slice grid (before thresholding), threshold, area filters,
/// keep-largest, holes, contours, simplification.
[[nodiscard]] Postprocessed postprocess(const FloatTensor& output, const Placement& placement,
                                        const iod::SliceAttributes& slice, const Architecture& arch);

/// Mask (row-major, non-zero = inside) -> rings along pixel edges, outer rings clockwise on
/// screen and holes counter-clockwise; refilled with the even-odd rule they give the mask back.
[[nodiscard]] std::vector<iod::Ring> traceMask(const std::vector<std::uint8_t>& mask, std::size_t rows,
                                               std::size_t columns);

/// Douglas-Peucker on a closed ring; rings that fall below 3 points come back empty.
[[nodiscard]] iod::Ring simplifyRing(const iod::Ring& ring, double tolerance);

}  // namespace iodeep::netparser

#pragma once
/// @file Architecture.hpp
/// A network described as data: our architecture JSON (docs/architecture-json.md) or the
/// published DNN-parser format, parsed into one validated graph of primitive layers.
/// Torch-free: parsing, validation, shape inference and the list of expected weights need no
/// libtorch and allocate nothing in proportion to the network.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iodeep::netparser {

/// Primitive layer types after parsing (convenience blocks such as double_conv are expanded).
enum class LayerType {
  Conv2d,
  ConvTranspose2d,
  BatchNorm2d,
  InstanceNorm2d,
  GroupNorm,
  ReLU,
  LeakyReLU,
  PReLU,
  ELU,
  GELU,
  Sigmoid,
  Softmax,
  Tanh,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  Upsample,
  Dropout,
  Concat,
  Add,
  Flatten,
  Linear,
  Identity,
};

/// The JSON name of a layer type ("conv2d", "batchnorm2d", ...).
[[nodiscard]] std::string_view toString(LayerType type) noexcept;

/// Parameters of a layer; each type reads the ones that concern it (docs/architecture-json.md).
struct LayerParams {
  std::int64_t outChannels{0};  ///< conv2d, conv_transpose2d
  std::int64_t kernelSize{1};   ///< conv, pools
  std::int64_t stride{1};       ///< conv, pools (pools: defaults to kernelSize)
  std::int64_t padding{0};
  std::int64_t outputPadding{0};  ///< conv_transpose2d
  std::int64_t dilation{1};
  std::int64_t groups{1};
  bool depthwise{false};  ///< conv2d: groups = out_channels = input channels
  bool bias{true};
  double eps{1e-5};
  bool affine{true};              ///< norms
  bool trackRunningStats{true};   ///< batchnorm2d (instancenorm2d: false)
  std::int64_t numGroups{1};      ///< groupnorm
  double negativeSlope{0.01};     ///< leaky_relu
  double alpha{1.0};              ///< elu
  std::int64_t numParameters{1};  ///< prelu: 1 or channels
  bool tanhApproximation{false};  ///< gelu
  std::int64_t dim{1};            ///< softmax
  double scaleFactor{2.0};        ///< upsample
  bool bilinear{false};           ///< upsample: nearest (false) or bilinear
  bool alignCorners{false};       ///< upsample bilinear
  bool ceilMode{false};           ///< pools
  std::int64_t outputHeight{1};   ///< adaptive_avgpool2d
  std::int64_t outputWidth{1};
  std::int64_t outFeatures{0};  ///< linear
  double dropout{0.0};          ///< dropout (identity at inference)
};

struct Layer {
  std::string id;  ///< unique; weights are named "<id>.weight", ...
  LayerType type{LayerType::Identity};
  std::vector<std::string> inputs;  ///< layer ids, or "input" for the network input
  LayerParams params;
  std::string pointer;  ///< JSON pointer of the layer's definition
};

/// Input of the network, channels-first.
struct InputSpec {
  std::int64_t channels{1};
  std::int64_t height{0};
  std::int64_t width{0};
};

/// Refuse networks that would exhaust the machine before anything is allocated.
struct Limits {
  std::int64_t maxLayers{10000};                              ///< primitive layers after expansion
  std::int64_t maxChannels{16384};                            ///< per tensor
  std::int64_t maxSpatial{16384};                             ///< height or width of any tensor
  std::int64_t maxKernel{64};                                 ///< kernel size
  std::int64_t maxParameters{1'000'000'000};                  ///< total values in weights
  std::int64_t maxActivationBytes{8LL * 1024 * 1024 * 1024};  ///< largest float32 tensor
  std::size_t maxJsonBytes{16UL * 1024 * 1024};               ///< architecture text
};

/// "preprocessing" (docs/architecture-json.md, "Pre-processing").
struct PreprocessingSpec {
  enum class Window { None, Fixed, Percentile, Dicom };
  enum class Normalize { None, MinMax, ZScore, Fixed };
  /// How a slice's samples become the network's input channels (check_tensor_shape):
  /// Strict: they must be equal; Replicate: grey is copied into every channel; Luminance: RGB
  /// becomes one grey channel; Adapt: both, whichever the slice needs (the paper's
  /// check_tensor_shape, and the default of a DNN-parser import).
  enum class Channels { Strict, Replicate, Luminance, Adapt };
  Window window{Window::None};
  double windowCenter{0.0}, windowWidth{0.0};       ///< Fixed
  double percentileLow{1.0}, percentileHigh{99.0};  ///< Percentile
  Normalize normalize{Normalize::None};
  double mean{0.0}, std{1.0};           ///< Fixed
  bool keepAspect{true};                ///< resize: pad (true) or stretch
  double padValue{0.0};                 ///< value of padded pixels, after normalisation
  Channels channels{Channels::Strict};  ///< a DNN-parser import without "channels": Adapt
};

struct LabelSpec {
  std::int64_t index{0};  ///< output channel
  std::string name;
  std::array<std::uint8_t, 3> color{255, 0, 0};
  std::string interpretedType{"ORGAN"};  ///< RT ROI Interpreted Type
};

/// "output": how the network's output becomes per-label probabilities and masks.
struct OutputSpec {
  enum class Activation { None, Sigmoid, Softmax };
  Activation activation{Activation::Sigmoid};
  double threshold{0.5};
  std::vector<LabelSpec> labels;  ///< empty: one label per output channel ("label <i>")
};

/// "postprocessing": which regions become proposals, and how their rings are drawn.
struct PostprocessingSpec {
  double minAreaMm2{0.0};       ///< used when the slice has PixelSpacing
  double minAreaPixels{0.0};    ///< used otherwise
  std::int64_t keepLargest{0};  ///< per label; 0 keeps all
  bool fillHoles{false};
  double simplifyPixels{0.0};  ///< Douglas-Peucker tolerance; 0 keeps the exact pixel-edge rings
};

struct Architecture {
  enum class Kind { Graph, TorchScript };
  enum class Format { Iodeep, DnnParser };
  Kind kind{Kind::Graph};
  Format format{Format::Iodeep};
  InputSpec input;
  std::vector<Layer> layers;  ///< in an order where every input comes first (topologically sorted)
  std::string output;         ///< id of the layer whose result is the network output
  PreprocessingSpec preprocessing;
  OutputSpec outputSpec;
  PostprocessingSpec postprocessing;
  /// The JSON it was parsed from, re-serialised compactly (iod::canonicalJson): what the DnnUID
  /// is derived from, so a caller that parsed the architecture need not parse it again to verify.
  std::string canonicalJson;
};

/// Parses and validates either format (told apart by their keys). Throws iodeep::Error with
/// the layer id and JSON pointer: InvalidJson, InvalidArchitecture, UnknownLayerType,
/// UnsupportedLayer, DanglingInput, CyclicGraph, ResourceLimit; then runs inferShapes() so a
/// returned architecture is known to be consistent (ShapeMismatch, ChannelMismatch).
[[nodiscard]] Architecture parseArchitecture(std::string_view json, const Limits& limits = {});

/// Output of one layer for the declared input (batch 1).
struct LayerShape {
  std::string id;
  LayerType type{LayerType::Identity};
  std::vector<std::int64_t> shape;  ///< C,H,W (or F after flatten/linear)
  std::int64_t parameters{0};       ///< values in this layer's weights and buffers
};

struct ShapeReport {
  std::vector<LayerShape> layers;
  std::vector<std::int64_t> outputShape;
  std::int64_t totalParameters{0};
  std::int64_t largestActivationBytes{0};
};

/// Static shape inference for @p input (default: the declared input). Throws iodeep::Error
/// (ShapeMismatch, ChannelMismatch, ResourceLimit) naming the layer.
[[nodiscard]] ShapeReport inferShapes(const Architecture& arch, std::optional<InputSpec> input = std::nullopt,
                                      const Limits& limits = {});

/// One tensor the weights must (or may) supply.
struct TensorSpec {
  std::string name;  ///< "<layer id>.weight", ".bias", ".running_mean", ...
  std::vector<std::int64_t> shape;
  bool isInt64{false};   ///< num_batches_tracked; everything else is F32
  bool optional{false};  ///< num_batches_tracked: unused at inference
  std::string layer;
};

/// Every tensor the graph binds, in layer order. Empty for TorchScript networks.
[[nodiscard]] std::vector<TensorSpec> expectedTensors(const Architecture& arch);

/// Human-readable per-layer table (id, type, output shape, parameters) and totals.
[[nodiscard]] std::string formatShapeTable(const ShapeReport& report);

/// "[C, H, W]": a shape as the shape table and the error messages write it.
[[nodiscard]] std::string formatShape(const std::vector<std::int64_t>& shape);

/// Parses "CxHxW" (e.g. "1x256x256"). Throws Error(InvalidArgument).
[[nodiscard]] InputSpec parseInputSpec(std::string_view text);

}  // namespace iodeep::netparser

#pragma once
/// @file Error.hpp
/// The one error type thrown across iodeep module boundaries.

#include <stdexcept>
#include <string>
#include <string_view>

namespace iodeep {

/// Stable error identifiers: tests assert these, never the wording.
enum class ErrorCode {
  InvalidArgument,       ///< a caller or command-line value is not acceptable
  FileNotFound,          ///< an input file does not exist or cannot be opened
  IoError,               ///< reading failed for a reason other than the content
  OutputError,           ///< an output file cannot be written (nothing partial is left)
  NotDicom,              ///< the file is not DICOM (no preamble/"DICM", no parsable data set)
  TruncatedDicom,        ///< DICOM that ends before its declared content
  NotIodeep,             ///< DICOM, but neither an IODeep object nor a legacy one
  MalformedIodeep,       ///< an IODeep object with a missing/invalid attribute
  LegacyIodeep,          ///< an object written by the published reference code (needs conversion)
  ChecksumMismatch,      ///< the embedded weights do not match their SHA-256
  InvalidJson,           ///< text that is not JSON (message carries line:column)
  InvalidPythonLiteral,  ///< a legacy architecture that is not a Python literal
  InvalidSafetensors,    ///< a weights payload that breaks the safetensors format
  UnsupportedDtype,      ///< a tensor dtype we do not accept
  NonFiniteWeights,      ///< NaN or Inf in a floating-point tensor
  UnsupportedWeights,    ///< a weights file format we cannot read (with what to do instead)
  InvalidArchitecture,   ///< architecture JSON with a missing or wrongly typed field
  UnknownLayerType,      ///< a layer type (or DNN-parser code) we do not know
  UnsupportedLayer,      ///< a known DNN-parser code we do not build (1-D, recurrent)
  DanglingInput,         ///< a layer input names no layer
  CyclicGraph,           ///< layer inputs form a cycle
  ShapeMismatch,         ///< shapes that cannot be joined or consumed (spatial size, rank)
  ChannelMismatch,       ///< channel counts that do not fit (join, grouped conv, norm)
  ResourceLimit,         ///< the network would exceed a configured limit
  WeightsMismatch,       ///< weights missing, unexpected, or of the wrong shape/dtype
  TorchScriptRefused,    ///< a TorchScript network where the configuration does not allow code
  UnsupportedImage,      ///< an image we cannot decode (compression, photometric, bits, no pixels)
  IncompatibleImage,     ///< a slice the network cannot take (check_tensor_shape)
  MissingGeometry,       ///< a slice without ImagePositionPatient/Orientation/PixelSpacing
  DicomError,            ///< DCMTK reported a failure
  TorchError,            ///< libtorch reported a failure
  Internal,              ///< a bug: an invariant did not hold
};

/// Printable name of an ErrorCode (e.g. "ChecksumMismatch").
[[nodiscard]] std::string_view toString(ErrorCode code) noexcept;

/// Exit code of the command-line tools for an error (see docs/cli.md).
[[nodiscard]] int exitCodeFor(ErrorCode code) noexcept;

/// Exception carrying an ErrorCode and a one-line message that already names the file,
/// UID, layer or tensor concerned.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// An error about one layer of an architecture: @p layer is its id (may be empty), @p pointer
  /// the JSON pointer of the offending value (e.g. "/layers/3/out_channels").
  Error(ErrorCode code, const std::string& message, std::string layer, std::string pointer)
      : std::runtime_error(message), code_(code), layer_(std::move(layer)), pointer_(std::move(pointer)) {}
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  /// Layer id the error is about, or empty.
  [[nodiscard]] const std::string& layer() const noexcept { return layer_; }
  /// JSON pointer the error is about, or empty.
  [[nodiscard]] const std::string& pointer() const noexcept { return pointer_; }

 private:
  ErrorCode code_;
  std::string layer_;
  std::string pointer_;
};

}  // namespace iodeep

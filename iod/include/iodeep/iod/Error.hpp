#pragma once
/// @file Error.hpp
/// The one error type thrown across iodeep module boundaries.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace iodeep {

/// Stable error identifiers: tests assert these, never the wording.
enum class ErrorCode {
  InvalidArgument,          ///< a caller or command-line value is not acceptable
  FileNotFound,             ///< an input file does not exist or cannot be opened
  IoError,                  ///< reading failed for a reason other than the content
  OutputError,              ///< an output file cannot be written (nothing partial is left)
  NotDicom,                 ///< the file is not DICOM (no preamble/"DICM", no parsable data set)
  TruncatedDicom,           ///< DICOM that ends before its declared content
  NotIodeep,                ///< DICOM, but neither an IODeep object nor a legacy one
  MalformedIodeep,          ///< an IODeep object with a missing/invalid attribute
  LegacyIodeep,             ///< an object written by the published reference code (needs conversion)
  ChecksumMismatch,         ///< the embedded weights do not match their SHA-256
  DescriptionMismatch,      ///< an object whose own attributes differ from what the PACS said of it at C-FIND
  InvalidJson,              ///< text that is not JSON (message carries line:column)
  InvalidPythonLiteral,     ///< a legacy architecture that is not a Python literal
  InvalidSafetensors,       ///< a weights payload that breaks the safetensors format
  UnsupportedDtype,         ///< a tensor dtype we do not accept
  NonFiniteWeights,         ///< NaN or Inf in a floating-point tensor
  UnsupportedWeights,       ///< a weights file format we cannot read (with what to do instead)
  InvalidArchitecture,      ///< architecture JSON with a missing or wrongly typed field
  UnknownLayerType,         ///< a layer type (or DNN-parser code) we do not know
  UnsupportedLayer,         ///< a known DNN-parser code we do not build (1-D, recurrent)
  DanglingInput,            ///< a layer input names no layer
  CyclicGraph,              ///< layer inputs form a cycle
  ShapeMismatch,            ///< shapes that cannot be joined or consumed (spatial size, rank)
  ChannelMismatch,          ///< channel counts that do not fit (join, grouped conv, norm)
  ResourceLimit,            ///< the network would exceed a configured limit
  WeightsMismatch,          ///< weights missing, unexpected, or of the wrong shape/dtype
  TorchScriptRefused,       ///< a TorchScript network where the configuration does not allow code
  UnsupportedImage,         ///< an image we cannot decode (compression, photometric, bits, no pixels)
  IncompatibleImage,        ///< a slice the network cannot take (check_tensor_shape)
  MissingGeometry,          ///< a slice without ImagePositionPatient/Orientation/PixelSpacing
  NotRtStructureSet,        ///< DICOM, but not an RT Structure Set (Modality/SOP Class)
  MalformedRtStructureSet,  ///< an RT Structure Set with a missing or invalid attribute
  SignatureInvalid,         ///< a DICOM digital signature that does not verify, is malformed or leaves data unsigned
  UntrustedSigner,          ///< a valid signature whose certificate is not trusted (chain, validity, policy)
  UnsignedObject,           ///< the trust policy requires a signature and the object has none
  SigningFailed,            ///< a key or certificate that cannot sign (unreadable, mismatched, expired)
  PacsUnreachable,          ///< no connection to the peer (refused, no route, timeout)
  AssociationRejected,      ///< the peer rejected or aborted the association, or accepts no service we need
  DimseFailure,             ///< the peer answered a request with a failure status (C-FIND/MOVE/GET/STORE)
  NetworkError,             ///< the network failed during an exchange (timeout, lost connection, port taken)
  TlsFailure,               ///< DICOM TLS could not be set up: handshake, peer certificate, protocol or ciphers
  Cancelled,                ///< the user cancelled the operation (a retrieval, a series of predictions)
  DicomError,               ///< DCMTK reported a failure
  TorchError,               ///< libtorch reported a failure
  NotSegmentation,          ///< DICOM, but not a Segmentation (SOP Class)
  MalformedSegmentation,    ///< a Segmentation with a missing or invalid attribute, or Pixel Data too short
  Internal,                 ///< a bug: an invariant did not hold
};

/// Printable name of an ErrorCode (e.g. "ChecksumMismatch").
[[nodiscard]] std::string_view toString(ErrorCode code) noexcept;

/// Exit codes of the command-line tools (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;    ///< unknown option, missing or invalid argument
inline constexpr int kExitInput = 3;    ///< an input file is missing or unreadable
inline constexpr int kExitContent = 4;  ///< invalid or inconsistent content
inline constexpr int kExitOutput = 5;   ///< an output file cannot be written
/// The PACS: unreachable, association rejected, DIMSE failure, network or TLS failure (exitCodeFor),
/// or an upload/store that failed and a structure set left waiting in the outbox.
inline constexpr int kExitPacs = 6;
/// No IODeep network matches the slice: a selection result, not an error
/// (selector::Selection::exitCode(), the roi workflow).
inline constexpr int kExitNoMatch = 7;
inline constexpr int kExitInternal = 70;  ///< internal or toolkit failure (a bug)

/// Exit code of the command-line tools for an error (see docs/cli.md).
[[nodiscard]] int exitCodeFor(ErrorCode code) noexcept;

/// Where an error happened. The code that throws fills what it knows; callers add what they
/// know while the error propagates (Error::inFile, withUid, withTag, within). Rendered by what().
struct ErrorContext {
  std::string file{};         ///< path of the file concerned
  std::string uid{};          ///< UID of the object concerned (DnnUID, SOP Instance UID)
  std::string dicomTag{};     ///< DICOM element concerned, e.g. "(0017,0016)" or "DnnArchitecture"
  std::string part{};         ///< what was being read, e.g. "architecture", "DnnWeightsPayload"
  std::string layer{};        ///< architecture layer id
  std::string pointer{};      ///< JSON pointer of the offending value, e.g. "/layers/3/out_channels"
  std::string peer{};         ///< the DICOM peer, "AET@host:port"
  std::string dimseStatus{};  ///< the DIMSE status the peer answered with, e.g. "0xA700"
};

/// @p detail with @p context in front, as Error::what() renders it (see Error): "<peer>: <file>:
/// <uid>: <tag>: <part>: layer '<id>' (<pointer>): <detail> (status <dimseStatus>)".
[[nodiscard]] std::string renderWithContext(const ErrorContext& context, std::string_view detail);

/// Exception carrying an ErrorCode, a one-line detail and its context as fields. what() renders
/// "<peer>: <file>: <uid>: <tag>: <part>: layer '<id>' (<pointer>): <detail> (status <dimseStatus>)",
/// leaving out what is empty (a pointer without a layer: "<part> (<pointer>): <detail>").
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string detail, ErrorContext context = {});
  /// An error about one layer of an architecture: @p layer is its id (may be empty), @p pointer
  /// the JSON pointer of the offending value.
  Error(ErrorCode code, std::string detail, std::string layer, std::string pointer);

  [[nodiscard]] const char* what() const noexcept override { return rendered_.c_str(); }
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  /// The message without its context.
  [[nodiscard]] const std::string& detail() const noexcept { return detail_; }
  [[nodiscard]] const ErrorContext& context() const noexcept { return context_; }
  [[nodiscard]] const std::string& file() const noexcept { return context_.file; }
  [[nodiscard]] const std::string& uid() const noexcept { return context_.uid; }
  [[nodiscard]] const std::string& dicomTag() const noexcept { return context_.dicomTag; }
  /// Layer id the error is about, or empty.
  [[nodiscard]] const std::string& layer() const noexcept { return context_.layer; }
  /// JSON pointer the error is about, or empty.
  [[nodiscard]] const std::string& pointer() const noexcept { return context_.pointer; }
  [[nodiscard]] const std::string& peer() const noexcept { return context_.peer; }

  /// Context added while propagating (catch by reference, add, rethrow with `throw;`). Each
  /// sets its field when it is still empty: the innermost, most precise value wins.
  Error& inFile(const std::string& file);
  Error& withUid(const std::string& uid);
  Error& withTag(const std::string& tag);
  /// Prefixes @p part to what was being read ("DnnArchitecture" around "architecture").
  Error& within(const std::string& part);
  /// The DICOM peer ("AET@host:port") the error is about.
  Error& withPeer(const std::string& peer);

 private:
  Error& setOnce(std::string ErrorContext::*field, const std::string& value);
  void render();
  ErrorCode code_;
  std::string detail_;
  ErrorContext context_;
  std::string rendered_;
};

}  // namespace iodeep

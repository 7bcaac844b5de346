#pragma once
/// @file Inspect.hpp
/// Everything there is to know about an IODeep (or legacy) file, and whether it is consistent.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/trust/Signing.hpp"

namespace iodeep::client {

struct InspectReport {
  std::filesystem::path path;
  iod::ObjectKind kind{iod::ObjectKind::Other};
  std::optional<iod::IodeepFile> file;      ///< kind == Iodeep
  std::optional<iod::LegacyObject> legacy;  ///< kind == Legacy
  std::vector<iod::TensorInfo> tensors;
  std::int64_t parameterCount{0};
  std::size_t payloadBytes{0};
  std::vector<iod::Finding> findings;
  std::string architectureFormat;  ///< "iodeep", "DNN-parser", "torchscript", or empty when invalid
  std::string shapeTable;          ///< per-layer output shapes and parameters (graph networks)
  /// How slices of the declared SamplesPerPixel feed the network's input channels ("as is",
  /// "grey replicated into 3 channels", ...); a ChannelMismatch finding when they never can.
  std::string channels;
  /// Every top-level signature, verified, and the trust decision when anchors were given. A
  /// signature that does not verify or leaves attributes unsigned, and (when asked) an
  /// untrusted object, are error findings (SignatureInvalid, UntrustedSigner, UnsignedObject),
  /// listed first; an unsigned object is not an error unless trust was asked.
  SignatureCheck signatures;

  /// True when the file is an IODeep object with no error finding.
  [[nodiscard]] bool ok() const noexcept;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Reads and verifies @p path, its signatures included; with @p trust, also decides whether the
/// object is trusted (iod::evaluateTrust). Content problems are findings; throws iodeep::Error
/// only when the file cannot be read as DICOM at all (FileNotFound, NotDicom, TruncatedDicom),
/// its DigitalSignaturesSequence cannot be parsed (SignatureInvalid), it is not an IODeep/legacy
/// object (NotIodeep), is malformed beyond reporting (MalformedIodeep), or a trust anchor cannot
/// be read (FileNotFound, SignatureInvalid).
[[nodiscard]] InspectReport inspect(const std::filesystem::path& path,
                                    const std::optional<iod::TrustAnchors>& trust = std::nullopt);

}  // namespace iodeep::client

#pragma once
/// @file Pack.hpp
/// The model developer's workflow: architecture JSON + weights -> IODeep .dcm.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"

namespace iodeep::client {

struct PackOptions {
  std::filesystem::path architecture;  ///< JSON file (not with fromLegacy)
  std::filesystem::path weights;       ///< safetensors, torch.save(dict) or TorchScript (not with fromLegacy)
  std::filesystem::path fromLegacy;    ///< a reference-code object to convert
  /// A JSON object in our "preprocessing" schema (docs/prediction.md) that becomes the
  /// architecture's "preprocessing" section, e.g. {"channels": "replicate"} for a DNN-parser
  /// import, which has no such section of its own. Refused when the architecture has one.
  std::filesystem::path preprocessing;
  std::filesystem::path output;
  std::string name;
  std::string modality;
  std::string bodyPart;
  /// Default: 1 when the network takes grey slices (1 channel, or replicate/adapt), else 3 for a
  /// 3-channel network (legacy objects: their own value). A value that can never feed the
  /// network's input channels is refused (ChannelMismatch).
  std::optional<std::uint16_t> samplesPerPixel;
  std::optional<std::string> photometric;
  std::string patientOrientation;
  std::string version;
  std::string description;
  std::string weightsUri;
  std::string studyUid;
  /// Sign the object (iod/Signature.hpp) before it appears at the output path; the credentials
  /// are checked before anything else is done.
  std::optional<iod::SigningCredentials> signing;
};

struct PackResult {
  iod::IodeepModel model;
  std::string weightsSource;  ///< what the weights file was, e.g. "torch.save state dict"
  std::size_t tensorCount{0};
  std::int64_t parameterCount{0};
  bool samplesPerPixelDefaulted{false};         ///< SamplesPerPixel chosen from the network, not given
  std::string channelAdaptation;                ///< what pre-processing does with such slices, or empty
  std::optional<iod::SignatureInfo> signature;  ///< the signature added, when PackOptions::signing
};

/// Packs and writes atomically. Throws iodeep::Error (never leaves a partial output file):
/// ChannelMismatch when the SamplesPerPixel the object declares can never feed the network's
/// input channels under its pre-processing (netparser::fitChannels); InvalidArgument when
/// --preprocessing is given for an architecture that has a "preprocessing" section;
/// FileNotFound or SigningFailed for signing credentials that cannot sign.
[[nodiscard]] PackResult pack(const PackOptions& options);

}  // namespace iodeep::client

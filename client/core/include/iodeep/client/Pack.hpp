#pragma once
/// @file Pack.hpp
/// The model developer's workflow: architecture JSON + weights -> IODeep .dcm.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "iodeep/iod/IodeepObject.hpp"

namespace iodeep::client {

struct PackOptions {
  std::filesystem::path architecture;  ///< JSON file (not with fromLegacy)
  std::filesystem::path weights;       ///< safetensors, torch.save(dict) or TorchScript (not with fromLegacy)
  std::filesystem::path fromLegacy;    ///< a reference-code object to convert
  std::filesystem::path output;
  std::string name;
  std::string modality;
  std::string bodyPart;
  std::optional<std::uint16_t> samplesPerPixel;
  std::optional<std::string> photometric;
  std::string patientOrientation;
  std::string version;
  std::string description;
  std::string weightsUri;
  std::string studyUid;
};

struct PackResult {
  iod::IodeepModel model;
  std::string weightsSource;  ///< what the weights file was, e.g. "torch.save state dict"
  std::size_t tensorCount{0};
  std::int64_t parameterCount{0};
};

/// Packs and writes atomically. Throws iodeep::Error (never leaves a partial output file).
[[nodiscard]] PackResult pack(const PackOptions& options);

}  // namespace iodeep::client

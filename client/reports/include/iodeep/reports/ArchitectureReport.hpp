#pragma once
/// @file ArchitectureReport.hpp
/// What `iodeep arch check` and `iodeep arch init` do, for the model developer: validate an
/// architecture JSON file and report its shapes, or write initial weights that fit it.

#include <cstdint>
#include <filesystem>
#include <string>

namespace iodeep::client {

struct ArchitectureReport {
  std::filesystem::path path;
  std::string format;  ///< "iodeep" or "DNN-parser"
  bool torchScript{false};
  std::int64_t channels{0}, height{0}, width{0};  ///< the input the shapes were inferred for
  std::size_t layers{0};
  std::string shapeTable;  ///< per-layer output shapes and parameters (graph networks)

  [[nodiscard]] std::string toText() const;
};

/// Parses and validates @p path; infers shapes for @p input ("CxHxW", e.g. "1x512x512") or, when
/// empty, for the declared input. Throws iodeep::Error with the file, layer id and JSON pointer.
[[nodiscard]] ArchitectureReport checkArchitecture(const std::filesystem::path& path, const std::string& input = {});

struct InitResult {
  std::size_t tensors{0};
  std::int64_t values{0};
};

/// Writes randomly initialised weights that fit @p architecture to @p output (safetensors,
/// atomically). Throws iodeep::Error (InvalidArgument for a TorchScript network).
InitResult initWeights(const std::filesystem::path& architecture, std::uint64_t seed,
                       const std::filesystem::path& output);

}  // namespace iodeep::client

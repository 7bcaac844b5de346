#pragma once
/// @file Finetune.hpp
/// `iodeep finetune` (docs/finetuning.md): a network fine-tuned in libtorch on a dataset from the
/// PACS (Dataset.hpp), written as a new IODeep object: version + 1, a new DnnUID, its predecessor
/// named, the training's provenance recorded. It never replaces the predecessor.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/netparser/Training.hpp"

namespace iodeep::client {

struct FinetuneOptions {
  std::filesystem::path network;  ///< the IODeep object to start from
  std::filesystem::path dataset;  ///< a directory written by `iodeep dataset` (for this network)
  std::filesystem::path output;   ///< the new IODeep object (written atomically)
  netparser::TrainingOptions training{};
  std::optional<iod::SigningCredentials> signing{};
  std::function<bool(const netparser::EpochReport&)> onEpoch{};
  int threads{0};  ///< libtorch's intra-op threads; 0: as configured (the cores)
};

struct FinetuneReport {
  std::string name, fromVersion, version, fromDnnUid, dnnUid, sopInstanceUid, fromSopInstanceUid;
  std::size_t trainingSlices{0}, validationSlices{0}, corrected{0}, accepted{0}, drawn{0};
  netparser::TrainingResult training;
  std::string signedBy;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// The next version: the last run of digits + 1 ("1" -> "2", "1.0" -> "1.1", "v3-beta" ->
/// "v4-beta"); a version without digits gets ".2" appended, an empty one becomes "2".
[[nodiscard]] std::string nextVersion(const std::string& version);

/// Reads and verifies the network (an object with findings is refused), reads the dataset and
/// refuses one made from another network's proposals, pre-processes every slice as prediction does
/// and maps its masks onto the network's grid, fine-tunes (netparser::train), writes the new object.
/// Throws Error: InvalidArgument (empty dataset, masks of the wrong size, labels the network does
/// not know, a dataset of another network, no trainable layers), the reader's and writer's errors.
[[nodiscard]] FinetuneReport finetune(const FinetuneOptions& options);

}  // namespace iodeep::client

#pragma once
/// @file Predict.hpp
/// The paper's Algorithm 2 on one slice, locally: model file + image file -> ROI proposals.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/trust/Trust.hpp"

namespace iodeep::netparser {
class InferenceEngine;
}

namespace iodeep::client {

/// The trust policy and the audit trail for a run (docs/security.md).
struct RunPolicy {
  /// With require_signed_networks on, a model not judged already (knownTrust empty) has its
  /// signatures verified and judged before anything is built: refused -> Error(UnsignedObject,
  /// SignatureInvalid, UntrustedSigner).
  TrustPolicy trust;
  /// The network's signature as judged already (the model cache's entry: fetchModel).
  std::optional<NetworkTrust> knownTrust;
  /// Where to append the run ("network_run", Audit.hpp); empty: not audited.
  std::filesystem::path auditLog;
  std::string pacs;    ///< the PACS the slices came from ("AET@host:port"), for the audit log
  std::string caller;  ///< the inference service's caller, for the audit log; empty for local work
};

struct PredictOptions {
  std::filesystem::path model;  ///< an IODeep .dcm
  std::filesystem::path image;  ///< the slice
  std::int32_t frame{0};
  /// A TorchScript network is code: run it only when this is set (docs/architecture-json.md).
  bool allowTorchScript{false};
  /// The model was verified when it entered the model cache: do not hash it again.
  bool modelVerified{false};
  /// When non-zero, the in-memory network cache's budget (the configuration's engine_max_mb):
  /// least recently used networks beyond it are dropped (InferenceEngine::setMemoryBudget).
  std::uint64_t engineMaxBytes{0};
  /// The in-memory network cache to build in and reuse from (the workstation's); null: the
  /// process's (netparser::InferenceEngine::shared()).
  netparser::InferenceEngine* engine{nullptr};
  /// Run the warm-up pass when the network is built (netparser::BuildOptions::warmUp). It pays
  /// only when a network is built ahead of its first use; built on the way to a prediction (every
  /// flow today: predict, roi, the viewer's first click) it would be a second pass. Off by default.
  bool warmUpNetwork{false};
  RunPolicy policy{};
};

struct PredictResult {
  iod::SliceImage slice;
  std::string dnnName, dnnVersion, dnnUid, modelSopInstanceUid;
  netparser::ShapeCheck check;
  std::vector<netparser::Proposal> proposals;
  /// The labels the network knows (its architecture's output labels): what a physician may draw.
  /// Empty when the prediction came from elsewhere (the inference service's answer).
  std::vector<netparser::LabelSpec> labels;
  netparser::PredictionTimings timings;
  bool networkFromCache{false};
  /// The model's payload was hashed (SHA-256) and its DnnUID checked by this call: false when the
  /// caller said it was verified already (PredictOptions::modelVerified: the model cache's entry).
  bool modelHashed{false};
  double buildMs{0};   ///< building the network (0 when it came from the in-memory cache)
  NetworkTrust trust;  ///< the network's signature as judged for this run ("not checked" when it was not)

  [[nodiscard]] std::string toText() const;
  /// Proposals with rings in pixel coordinates and, when the slice has geometry, in patient mm.
  [[nodiscard]] std::string toJson() const;
};

/// An audit event (Audit.hpp) about @p predictions of one network: the network, its signature as
/// judged for the run, the slices and the proposals, and @p pacs.
[[nodiscard]] AuditEvent auditEventFor(std::string event, std::span<const PredictResult> predictions, std::string pacs);

/// Starts loading the inference module (libtorch) in the background: for a program that will
/// predict soon (predict and runRoi call it themselves; the viewer at start).
void preloadInference();

/// Waits for a background load to end: programs call it before they exit (netparser's
/// awaitInferenceLoad).
void awaitInferenceLoad();

/// Opens the inference module now (netparser's loadInference); throws Error(TorchError).
void loadInference();

/// Reads and verifies the model (any error finding refuses it), builds the network once per
/// DnnUID (InferenceEngine), decodes the slice, checks and pre-processes it, runs the network
/// and post-processes. Throws iodeep::Error.
[[nodiscard]] PredictResult predict(const PredictOptions& options);

/// The network of @p options.model built in the engine ahead of its first use, warm-up pass
/// included, without a slice (options.image and frame are not used): the inference service does
/// it when a network is first listed. The model is read and judged as predict does. True when it
/// was built now, false when the engine had it. Throws as predict.
bool buildNetworkAhead(const PredictOptions& options);

/// Whole-series proposals: one model, many slices (of one series, in the order given).
struct SeriesPredictOptions {
  std::filesystem::path model;
  std::vector<std::filesystem::path> images;
  bool allowTorchScript{false};
  bool modelVerified{false};
  std::uint64_t engineMaxBytes{0};
  netparser::InferenceEngine* engine{nullptr};  ///< as PredictOptions::engine
  bool keepPixels{false};                       ///< the review needs the geometry, not the pixels: dropped by default
  RunPolicy policy{};                           ///< one "network_run" event for the whole series
  /// Called before each slice with (slices done, total) and once at the end; return false to
  /// cancel (Error(Cancelled)).
  std::function<bool(std::size_t, std::size_t)> onProgress;
};

struct SeriesPredictResult {
  std::vector<PredictResult> slices;  ///< one per image, in the order given
  double wallMs{0}, buildMs{0}, forwardMs{0}, decodeMs{0}, postprocessMs{0};
  [[nodiscard]] std::size_t proposals() const noexcept;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// The model read and verified once, the network built once; a reader thread decodes and
/// pre-processes the next slices while the network runs on the current one (a queue of three).
/// Throws iodeep::Error (the slice's file named) and Error(Cancelled).
[[nodiscard]] SeriesPredictResult predictSeries(const SeriesPredictOptions& options);

}  // namespace iodeep::client

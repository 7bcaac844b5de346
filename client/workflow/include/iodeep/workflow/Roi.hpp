#pragma once
/// @file Roi.hpp
/// AI ROI over DICOM, end to end (docs/pacs-workflow.md): retrieve the slice(s), find the IODeep
/// networks on the PACS, select one (selector), retrieve it once into the model cache (or reuse
/// it), predict, review, write the RT Structure Set into the outbox, C-STORE it, and read back
/// what the PACS holds. The CLI (`iodeep select`, `iodeep roi`) and the viewer call this.

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/network/Query.hpp"
#include "iodeep/selector/Selector.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/trust/Trust.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"

namespace iodeep::client {

struct SliceRequest {
  std::vector<std::string> instances;  ///< SOP Instance UIDs, all of one series
  std::string studyUid, seriesUid;     ///< optional: narrow the search for them
  std::int32_t frame{0};
};

/// Time spent in each step, ms.
struct RoiTimings {
  double locateMs{0}, sliceRetrieveMs{0}, discoveryMs{0}, selectMs{0}, modelRetrieveMs{0};
  /// Waiting for the inference module (libtorch) to finish loading after the model was local:
  /// what of the load's ~0.4 s the retrieval did not hide (a process's first network only).
  double inferenceLoadMs{0};
  double buildMs{0}, inferenceMs{0}, contourMs{0}, rtstructMs{0}, storeMs{0}, totalMs{0};
};

/// The slices and the choice of network for them.
struct SelectionReport {
  std::vector<InstanceInfo> instances;
  std::vector<std::filesystem::path> sliceFiles;  ///< in the run's working directory
  selector::SliceQuery query;
  std::vector<RemoteModel> models;
  std::vector<selector::Candidate> candidates;
  selector::Selection selection;
  double locateMs{0}, sliceRetrieveMs{0}, discoveryMs{0}, selectMs{0};
  /// Candidates whose selection attributes the PACS did not return at C-FIND, described from
  /// the model cache; the bytes retrieved for those not yet in it.
  std::size_t described{0};
  std::uint64_t describeBytes{0};
  /// IMAGE-level C-FINDs for a chosen candidate's SamplesPerPixel (not asked of every model).
  std::size_t attributeQueries{0};
  /// The chosen network's signature under the trust policy (docs/security.md), when it was
  /// known at selection: always with require_signed_networks on (the chosen network is then
  /// retrieved into the cache, if not there, to be judged), else when it was cached.
  std::optional<NetworkTrust> trust;
  /// Candidates judged by the trust policy, and the bytes retrieved to judge them.
  std::size_t trustChecked{0};
  std::uint64_t trustBytes{0};

  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

struct RoiOptions {
  SliceRequest slices;
  std::string approve{"none"};  ///< "all", "none" or "1,3" (1-based over all proposals, as printed)
  std::string reviewer;         ///< ReviewerName; the configuration's when empty
  bool storeRejected{false};    ///< also store the rejected proposals as a REJECTED set
  /// Sign the structure sets (the reviewer's approval) before they enter the outbox: what is
  /// stored, now or by a later outbox flush, is the signed file. Checked before anything moves.
  std::optional<iod::SigningCredentials> signing;
};

/// What happened to one structure set.
struct StoredSet {
  std::string sopInstanceUid, seriesInstanceUid, approvalStatus;
  std::size_t rois{0}, contours{0};
  bool stored{false};                ///< the PACS answered the C-STORE with success
  std::filesystem::path outboxFile;  ///< where it waits when not stored
  std::string storeError;            ///< why the store failed
  bool foundOnPacs{false};           ///< read back by C-FIND under the slices' study
  std::string signedBy;              ///< the signer's certificate subject when signed, else empty
};

struct RoiResult {
  SelectionReport selection;
  std::optional<CachedModel> model;
  bool modelFromCache{false};  ///< no model bytes moved
  std::uint64_t modelBytesMoved{0};
  std::vector<PredictResult> predictions;
  std::vector<std::size_t> approved;  ///< flat proposal indices
  std::optional<StoredSet> approvedSet, rejectedSet;
  RoiTimings timings;

  /// kExitOk; kExitNoMatch when no network matched; kExitPacs when a set waits in the outbox.
  [[nodiscard]] int exitCode() const noexcept;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Retrieves the slices into @p workDir and selects the network (no model bytes move).
/// Throws iodeep::Error for PACS and file problems; "no match" is in the result.
[[nodiscard]] SelectionReport selectForSlices(const ClientConfig& config, const SliceRequest& request,
                                              const std::filesystem::path& workDir);

/// The same for slices already on local disk (the viewer's image cache), all of one series: no
/// slice is retrieved; discovery and the choice as above.
[[nodiscard]] SelectionReport selectForLocalSlices(const ClientConfig& config,
                                                   const std::vector<std::filesystem::path>& sliceFiles,
                                                   const std::filesystem::path& workDir);

/// The chosen network, local: from the model cache (no bytes move, no hash) or retrieved into
/// @p workDir and admitted to the cache (verified once there). Throws Error(UnsignedObject,
/// SignatureInvalid, UntrustedSigner) when the trust policy refuses it.
struct ModelFetch {
  CachedModel model;
  bool fromCache{false};
  std::uint64_t bytesMoved{0};
  double ms{0};
  NetworkTrust trust;  ///< its signature under the trust policy
};
/// @p onRetrieving (optional): Pacs::retrieve's progress handler when the model is retrieved.
[[nodiscard]] ModelFetch fetchModel(const ClientConfig& config, const RemoteModel& chosen,
                                    const std::filesystem::path& workDir,
                                    const RetrieveProgressHandler& onRetrieving = {});

/// The network @p r chose, local (fetchModel). One refused for what it holds when it enters the
/// cache (a payload that does not match its SHA-256, a malformed object or signature, a
/// signature the trust policy refuses: the exit-4 errors) is marked refused on its candidate,
/// with the reason, and the next one is chosen and fetched: a damaged network on the PACS does
/// not stop AI ROI while another fits. std::nullopt when none is left; @p r then says no match,
/// with each candidate's reason. Throws the PACS's errors.
[[nodiscard]] std::optional<ModelFetch> fetchSelectedModel(const ClientConfig& config, SelectionReport& r,
                                                           const std::filesystem::path& workDir,
                                                           const RetrieveProgressHandler& onRetrieving = {});

/// The run policy for a network fetchModel returned (@p trust: its judged signature): the
/// configuration's trust policy and audit log, and its PACS.
[[nodiscard]] RunPolicy runPolicy(const ClientConfig& config, const NetworkTrust& trust);

/// The review, stored: the approved proposals (and, with @p storeRejected, the others) written
/// as RT Structure Sets into the outbox (signed first with @p signing: writeReview), then
/// C-STORE'd, then read back by C-FIND; each set's store (or its wait in the outbox) is appended
/// to the audit log. A failed store leaves the set in the outbox and is reported in the
/// StoredSet, never thrown. Throws Error(InvalidArgument) without a reviewer, and the writer's
/// and signer's errors (FileNotFound, SigningFailed) before anything is stored.
struct StoreReport {
  std::optional<StoredSet> approvedSet, rejectedSet;
  double rtstructMs{0}, storeMs{0};
};
[[nodiscard]] StoreReport storeReview(const ClientConfig& config, std::span<const PredictResult> predictions,
                                      const ReviewDecision& decision, bool storeRejected = false,
                                      const std::optional<iod::SigningCredentials>& signing = std::nullopt);

/// The whole AI ROI. Throws iodeep::Error for PACS and content problems before a structure set
/// exists; once approved proposals exist they are in the outbox before the first store attempt,
/// and a failed store is reported in the result (exit code 6), never lost.
[[nodiscard]] RoiResult runRoi(const ClientConfig& config, const RoiOptions& options);

}  // namespace iodeep::client

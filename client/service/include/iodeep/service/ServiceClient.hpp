#pragma once
/// @file ServiceClient.hpp
/// The workstation's side of the inference service (docs/service.md): `iodeep roi --service URL`
/// and the viewer's "inference service" setting. The slices go to the service by reference; the
/// proposals come back; the review and the store are the workstation's own, as without a service
/// (its outbox, its PACS association, its audit log). Nothing here opens libtorch.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/StoreReview.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::service {

/// An HTTP answer.
struct HttpAnswer {
  unsigned status{0};
  std::string contentType, body;
  std::vector<std::pair<std::string, std::string>> headers;
  [[nodiscard]] std::string header(const std::string& name) const;
};

struct ServiceClientOptions {
  std::string url;                         ///< "http://host:port" or "https://host:port"
  std::string token;                       ///< bearer token; empty: none sent
  std::filesystem::path caFile;            ///< verifies an https service (PEM); empty: the system's CAs
  std::filesystem::path certificate, key;  ///< a client certificate for the service, when it takes them
  std::chrono::milliseconds timeout{120000};
  unsigned retries{3};  ///< predict by reference only: on 503, 502, 504 and lost connections
};

/// The options for the configuration's "inference_service": its token read from its file.
/// Throws Error(FileNotFound) for a token file that cannot be read, Error(InvalidArgument) for an
/// empty one.
[[nodiscard]] ServiceClientOptions clientOptionsFor(const client::InferenceServiceSettings& settings);

class ServiceClient {
 public:
  /// Throws Error(InvalidArgument) for a URL that is not http(s)://host:port[/].
  explicit ServiceClient(ServiceClientOptions options);
  /// One request on a new connection. Throws Error(PacsUnreachable) when the service cannot be
  /// reached, Error(NetworkError, TlsFailure) when the exchange fails.
  [[nodiscard]] HttpAnswer send(const std::string& method, const std::string& target, const std::string& body = {},
                                const std::string& contentType = {},
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) const;
  [[nodiscard]] const ServiceClientOptions& options() const noexcept { return options_; }

 private:
  ServiceClientOptions options_;
  std::string host_, port_;
  bool https_{false};
};

/// AI ROI through the service: the slices located (C-FIND) and retrieved for the structure set
/// (the workstation's PACS), each predicted by the service by reference, the proposals reviewed
/// (options.approve) and stored as runRoi stores them. Throws Error for what the service or the
/// PACS refuses (the service's problem detail in the message).
struct ServiceRoiResult {
  std::string service;  ///< the URL
  std::vector<client::PredictResult> predictions;
  std::vector<std::string> serverTimings;  ///< each slice's server-side breakdown (JSON object text)
  bool matched{true};                      ///< false: no network on the PACS matches (exit 7)
  std::string noMatchDetail;
  std::vector<std::size_t> approved;
  std::optional<client::StoredSet> approvedSet, rejectedSet, originalSet;
  std::optional<client::StoredSet> approvedSeg, rejectedSeg, originalSeg;  ///< --format seg or both
  double locateMs{0}, sliceRetrieveMs{0}, serviceMs{0}, rtstructMs{0}, storeMs{0}, totalMs{0};

  [[nodiscard]] int exitCode() const noexcept;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};
[[nodiscard]] ServiceRoiResult runRoiViaService(client::Workstation& ws, const ServiceClient& service,
                                                const client::RoiOptions& options);

/// One slice predicted by the service.
struct ServicePrediction {
  bool matched{true};            ///< false: no network on the PACS matches the slice (result empty)
  client::PredictResult result;  ///< as predict() gives it; the geometry from the local copy
  std::string server;            ///< the server's timings (JSON object text)
  std::string selection;         ///< the service's selection (JSON object text; "{}" when a network was named)
};
/// One slice predicted by the service by reference (the slice already local as @p sliceFile, for
/// its geometry), retried on 502/503/504 and lost connections. Throws Error for what the service
/// refuses (its problem detail in the message) and for an answer that does not fit the slice.
[[nodiscard]] ServicePrediction predictViaService(const ServiceClient& service, const client::InstanceInfo& slice,
                                                  const std::filesystem::path& sliceFile, std::int32_t frame);

}  // namespace iodeep::service

#pragma once
/// @file Selection.hpp
/// The first half of AI ROI (docs/pacs-workflow.md): the slices located and retrieved (or taken
/// from the image cache), the IODeep networks on the PACS found, described and judged, one
/// chosen (selector). No model bytes move unless the trust policy or a PACS that does not
/// describe its networks needs them.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iodeep/network/Query.hpp"
#include "iodeep/selector/Selector.hpp"
#include "iodeep/trust/Trust.hpp"
#include "iodeep/workflow/Discovery.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

struct SliceRequest {
  std::vector<std::string> instances;  ///< SOP Instance UIDs, all of one series
  std::string studyUid, seriesUid;     ///< optional: narrow the search for them
  std::int32_t frame{0};
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
  /// How the networks were found (workflow/Discovery.hpp): from the discovery cache or the PACS,
  /// the C-FINDs sent for that (and to confirm a choice made from a cached listing).
  DiscoveryStats discovery;
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
  /// The report as JSON, with the selection's own step times (timingsMs).
  [[nodiscard]] std::string toJson() const;
  /// The same with @p timingsMs (name, milliseconds) in place of them (the service's steps),
  /// indented by @p indent spaces (compact, on one line, when negative).
  [[nodiscard]] std::string toJson(const std::vector<std::pair<std::string, double>>& timingsMs, int indent = 2) const;
};

/// Retrieves the slices into @p workDir and selects the network (no model bytes move).
/// Throws iodeep::Error for PACS and file problems; "no match" is in the result.
[[nodiscard]] SelectionReport selectForSlices(Workstation& ws, const SliceRequest& request,
                                              const std::filesystem::path& workDir);

/// The same for slices already on local disk (the viewer's image cache), all of one series: no
/// slice is retrieved; discovery and the choice as above.
[[nodiscard]] SelectionReport selectForLocalSlices(Workstation& ws,
                                                   const std::vector<std::filesystem::path>& sliceFiles,
                                                   const std::filesystem::path& workDir);

/// The choice for a slice known only by its selection attributes (the service's /v1/select): no
/// slice, no instance; discovery, description, the trust policy and the choice as above. Throws
/// Error(InvalidArgument) without a Modality or with SamplesPerPixel other than 1 or 3.
[[nodiscard]] SelectionReport selectForAttributes(Workstation& ws, const selector::SliceQuery& query,
                                                  const std::filesystem::path& workDir);

}  // namespace iodeep::client

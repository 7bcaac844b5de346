// Selection: the slices located and retrieved, the networks on the PACS found, described, judged, one chosen.
#include "iodeep/workflow/Selection.hpp"

#include <algorithm>
#include <array>
#include <future>

#include "Timing.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/workflow/Discovery.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;
using detail::Clock;
using detail::ms;

namespace {

selector::Candidate candidateOf(const RemoteModel& m, const std::string& peer) {
  selector::Candidate c;
  c.sopInstanceUid = m.sopInstanceUid;
  c.seriesInstanceUid = m.seriesInstanceUid;
  c.studyInstanceUid = m.studyInstanceUid;
  std::tie(c.name, c.version) = nameAndVersion(m.seriesDescription);
  c.modality = m.modality;
  c.bodyPartExamined = m.bodyPartExamined;
  if (m.samplesPerPixel != 0) c.samplesPerPixel = m.samplesPerPixel;
  c.photometricInterpretation = m.photometricInterpretation;
  c.contentDate = m.contentDate;
  c.contentTime = m.contentTime;
  c.source = peer;
  return c;
}

void chooseNetwork(Workstation& ws, SelectionReport& r, std::future<DiscoveryResult>& early, const fs::path& workDir);
selector::SliceQuery queryOf(const fs::path& slice) {
  return selector::SliceQuery::from(iod::readSliceAttributes(slice));
}
void applyTrustPolicy(Workstation& ws, ModelCache& cache, SelectionReport& r, const fs::path& workDir);

}  // namespace

SelectionReport selectForSlices(Workstation& ws, const SliceRequest& request, const fs::path& workDir) {
  if (request.instances.empty()) throw Error(ErrorCode::InvalidArgument, "no instance given (--instance UID)");
  const Pacs& pacs = ws.pacs();
  SelectionReport r;
  auto t = Clock::now();
  // where the slices live: the first by search, the others must be in its series
  r.instances.push_back(locateInstance(pacs, request.instances.front(), request.studyUid, request.seriesUid));
  const auto& first = r.instances.front();
  if (request.instances.size() > 1) {
    const auto inSeries = findInstances(pacs, first.studyInstanceUid, first.seriesInstanceUid);
    for (std::size_t i = 1; i < request.instances.size(); ++i) {
      const auto it = std::find_if(inSeries.begin(), inSeries.end(),
                                   [&](const InstanceInfo& x) { return x.sopInstanceUid == request.instances[i]; });
      if (it == inSeries.end()) {
        throw Error(ErrorCode::InvalidArgument,
                    "the instance is not in the series of " + first.sopInstanceUid +
                        " (one structure set covers the slices of one series)",
                    ErrorContext{.uid = request.instances[i]});
      }
      r.instances.push_back(*it);
    }
  }
  r.locateMs = ms(t, Clock::now());
  // Model discovery does not need the slice's pixels, only its modality, which the PACS returned
  // with the instance: it runs on its own association while the slices are retrieved.
  t = Clock::now();
  std::future<DiscoveryResult> early;  // its own time is in its stats (it overlaps the slice retrieval)
  if (!first.modality.empty()) {
    early = std::async(std::launch::async, [&ws, modality = first.modality] {
      return discoverNetworks(ws, modality, DiscoveryMode::Auto);
    });
  }
  for (const auto& inst : r.instances) {
    const std::vector<std::string> classes =
        inst.sopClassUid.empty() ? std::vector<std::string>{} : std::vector<std::string>{inst.sopClassUid};
    const auto got = pacs.retrieve(QueryLevel::Image, inst.studyInstanceUid, inst.seriesInstanceUid,
                                   inst.sopInstanceUid, workDir, classes);
    r.sliceFiles.push_back(got.files.front());
  }
  r.sliceRetrieveMs = ms(t, Clock::now());
  r.query = queryOf(r.sliceFiles.front());
  chooseNetwork(ws, r, early, workDir);
  return r;
}

namespace {

// The choice among @p found for r.query: description of the candidates the PACS did not
// describe, the choice, SamplesPerPixel of the matching candidates.
void chooseAmong(Workstation& ws, SelectionReport& r, DiscoveryResult found, const fs::path& workDir) {
  const Pacs& pacs = ws.pacs();
  r.models = std::move(found.models);
  r.discovery = found.stats;
  r.candidates.clear();
  r.described = 0;
  // A PACS that does not return BodyPartExamined or SeriesDescription at C-FIND (dcmqrscp): those
  // candidates are described by the model cache, or retrieved into it once (verified) to be.
  const auto t1 = Clock::now();
  ModelCache& cache = ws.models();
  for (auto& m : r.models) {
    if (!m.bodyPartExamined.empty() && !m.seriesDescription.empty()) continue;
    auto cached = cache.findBySopInstance(m.sopInstanceUid, false);
    if (!cached) {
      const auto got = pacs.retrieve(QueryLevel::Image, m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid,
                                     workDir / "described", {std::string(iod::kRawDataStorageUid)});
      r.describeBytes += got.bytes;
      cached = cache.admit(got.files.front());
    }
    // the object's own values for the two the PACS left out (one of them may have come back)
    m.bodyPartExamined = cached->bodyPartExamined;
    m.seriesDescription = cached->seriesDescription;
    fillBlanksFromCache(m, *cached);
    ++r.described;
  }
  r.discoveryMs += found.stats.ms + ms(t1, Clock::now());
  const auto t = Clock::now();
  const std::string peer = ws.pacsName();
  for (const auto& m : r.models) r.candidates.push_back(candidateOf(m, peer));
  r.selection = selector::select(r.query, r.candidates);
  // SamplesPerPixel is a criterion a PACS answers only by reading the stored object (Orthanc):
  // it is asked only for the candidates that match on everything else (the cache knows it for
  // cached ones), on one association, and the choice is made again with it known.
  // Only those candidates change: they alone are described and judged again.
  std::vector<RemoteModel*> ask;
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < r.models.size(); ++i) {
    if (!r.selection.verdicts[i].matched || r.candidates[i].samplesPerPixel.has_value()) continue;
    RemoteModel& m = r.models[i];
    changed.push_back(i);
    if (const auto cached = cache.findBySopInstance(m.sopInstanceUid, false)) {
      fillBlanksFromCache(m, *cached);
    } else {
      ask.push_back(&m);
    }
  }
  queryImageAttributes(pacs, ask);
  r.attributeQueries += ask.size();
  // what the PACS told is kept with the listing: the next selection does not ask it again
  std::vector<RemoteModel> told;
  for (const RemoteModel* m : ask) {
    if (m->samplesPerPixel != 0) told.push_back(*m);
  }
  if (!told.empty()) {
    try {
      ws.discovery().learn(discoveryPeer(ws), r.query.modality, told);
    } catch (const Error& e) {
      iod::warn(std::string("the discovery cache was not updated: ") + e.what());
    }
  }
  if (!changed.empty()) {
    for (const std::size_t i : changed) r.candidates[i] = candidateOf(r.models[i], peer);
    r.selection = selector::reselect(r.query, r.candidates, std::move(r.selection), changed);
  }
  r.selectMs += ms(t, Clock::now());
}

// Selection for r.query: discovery (unless @p early has it for the right modality), the choice,
// the trust policy. A choice made from a cached listing is confirmed by one C-FIND: a network
// gone from the PACS is never chosen (the listing is then refreshed and the choice made again).
void chooseNetwork(Workstation& ws, SelectionReport& r, std::future<DiscoveryResult>& early, const fs::path& workDir) {
  DiscoveryResult found;
  bool discovered = false;
  if (early.valid()) {
    found = early.get();
    discovered = !r.instances.empty() && r.instances.front().modality == r.query.modality;
  }
  if (!discovered) found = discoverNetworks(ws, r.query.modality, DiscoveryMode::Auto);
  chooseAmong(ws, r, std::move(found), workDir);
  if (r.discovery.source == DiscoverySource::Cache && r.selection.matched()) {
    const auto t = Clock::now();
    const bool there = isOnPacs(ws.pacs(), r.models.at(*r.selection.chosen));
    r.discoveryMs += ms(t, Clock::now());
    if (there) {
      r.discovery.confirmed = true;
      ++r.discovery.queries;
      ++r.discovery.associations;
    } else {
      const DiscoveryStats before = r.discovery;
      chooseAmong(ws, r, discoverNetworks(ws, r.query.modality, DiscoveryMode::Refresh), workDir);
      r.discovery.queries += before.queries + 1;
      r.discovery.associations += before.associations + 1;
    }
  }
  const auto t = Clock::now();
  applyTrustPolicy(ws, ws.models(), r, workDir);
  r.selectMs += ms(t, Clock::now());
}

// The trust policy: a signature lives in the object, not in C-FIND answers, so with
// require_signed_networks on the chosen network is taken from the cache (its signature verified
// when it entered) or retrieved into it, and judged; a refused one is marked on its candidate
// (the selection lists it with the reason) and the choice is made again without it.
void applyTrustPolicy(Workstation& ws, ModelCache& cache, SelectionReport& r, const fs::path& workDir) {
  const Pacs& pacs = ws.pacs();
  while (r.selection.matched()) {
    const std::size_t index = *r.selection.chosen;
    const RemoteModel& m = r.models.at(index);
    auto cached = cache.findBySopInstance(m.sopInstanceUid, false);
    if (!cached) {
      if (!ws.trust().requireSignedNetworks) return;  // nothing known yet; fetchModel judges it
      const auto got = pacs.retrieve(QueryLevel::Image, m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid,
                                     workDir / "trust", {std::string(iod::kRawDataStorageUid)});
      r.trustBytes += got.bytes;
      try {
        cached = cache.admit(got.files.front());
      } catch (const Error& e) {
        if (exitCodeFor(e.code()) != kExitContent) throw;
        // a damaged object (checksum, malformed signature): refused, the next one is judged
        r.candidates[index].refusal = "not trusted: " + e.detail();
        r.selection = selector::reselect(r.query, r.candidates, std::move(r.selection), std::array{index});
        continue;
      }
    }
    ++r.trustChecked;
    auto trust = decideNetworkTrust(ws.trust(), cached->signatures);
    if (trust.trusted) {
      r.trust = std::move(trust);
      return;
    }
    r.candidates[index].refusal = "not trusted: " + trust.reason;
    r.selection = selector::reselect(r.query, r.candidates, std::move(r.selection), std::array{index});
  }
}

}  // namespace

SelectionReport selectForLocalSlices(Workstation& ws, const std::vector<fs::path>& sliceFiles,
                                     const fs::path& workDir) {
  if (sliceFiles.empty()) throw Error(ErrorCode::InvalidArgument, "no slice given");
  SelectionReport r;
  r.sliceFiles = sliceFiles;
  for (const auto& f : sliceFiles) {
    const auto a = iod::readSliceAttributes(f);
    if (r.instances.empty()) r.query = selector::SliceQuery::from(a);
    InstanceInfo i;
    i.studyInstanceUid = a.studyInstanceUid;
    i.seriesInstanceUid = a.seriesInstanceUid;
    i.sopInstanceUid = a.sopInstanceUid;
    i.sopClassUid = a.sopClassUid;
    i.instanceNumber = a.instanceNumber;
    i.modality = a.modality;
    i.rows = std::to_string(a.rows);
    i.columns = std::to_string(a.columns);
    i.samplesPerPixel = std::to_string(a.samplesPerPixel);
    if (!r.instances.empty() && i.seriesInstanceUid != r.instances.front().seriesInstanceUid) {
      throw Error(ErrorCode::InvalidArgument, "the slices are not all of one series", ErrorContext{.file = f.string()});
    }
    r.instances.push_back(std::move(i));
  }
  std::future<DiscoveryResult> none;
  chooseNetwork(ws, r, none, workDir);
  return r;
}

SelectionReport selectForAttributes(Workstation& ws, const selector::SliceQuery& query, const fs::path& workDir) {
  if (query.modality.empty()) {
    throw Error(ErrorCode::InvalidArgument, "no Modality given: the selection needs the slice's modality");
  }
  if (query.samplesPerPixel != 1 && query.samplesPerPixel != 3) {
    throw Error(ErrorCode::InvalidArgument,
                "SamplesPerPixel " + std::to_string(query.samplesPerPixel) + " is neither 1 nor 3");
  }
  SelectionReport r;
  r.query = query;
  std::future<DiscoveryResult> none;
  chooseNetwork(ws, r, none, workDir);
  return r;
}

}  // namespace iodeep::client

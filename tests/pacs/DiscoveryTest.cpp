// Network discovery against a real Orthanc and a real dcmqrscp, each private to the test
// (scripts/orthanc.sh, scripts/dcmqrscp.sh in a temporary directory): the number of C-FINDs does
// not grow with the number of networks, the discovery cache sees new networks after a refresh and
// loses deleted ones, expires, survives a corrupt file; a choice made from a cached listing is
// confirmed on the PACS (docs/selection.md, "Discovery").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../iod/TestSupport.hpp"
#include "OrthancSupport.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/workflow/Discovery.hpp"
#include "iodeep/workflow/ModelFetch.hpp"
#include "iodeep/workflow/Selection.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";

// A peer started by one of our scripts (orthanc.sh or dcmqrscp.sh) in a directory of its own,
// stopped when the object goes.
class ScriptPeer {
 public:
  explicit ScriptPeer(std::string script) : script_(std::move(script)) {
    run("start");
    env_ = test::readEnv(tmp_ / "peer" / "env");
  }
  ~ScriptPeer() {
    try {
      run("stop");
    } catch (const std::exception&) {
      // reported by the test
    }
  }
  ScriptPeer(const ScriptPeer&) = delete;
  ScriptPeer& operator=(const ScriptPeer&) = delete;

  [[nodiscard]] client::NetworkOptions options() const {
    if (script_ == "orthanc.sh") return test::optionsFrom(env_);
    client::NetworkOptions o;
    o.pacs = client::Peer::parse(env_.at("DCMQR_AET") + "@127.0.0.1:" + env_.at("DCMQR_PORT"));
    o.callingAeTitle = env_.at("CLIENT_AET");
    o.movePort = static_cast<std::uint16_t>(std::stoi(env_.at("CLIENT_PORT")));
    o.connectTimeoutSeconds = 5;
    o.dimseTimeoutSeconds = 30;
    return o;
  }
  [[nodiscard]] const std::map<std::string, std::string>& env() const { return env_; }

 private:
  void run(const std::string& command) {
    const std::string cmd = "bash '" + (kSource / "scripts" / script_).string() + "' " + command + " '" +
                            (tmp_ / "peer").string() + "' >>'" + (tmp_ / "script.log").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error(script_ + " " + command + " failed");
  }
  std::string script_;
  test::TempDir tmp_;
  std::map<std::string, std::string> env_;
};

// Standard output of a shell command.
std::string capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  if (!pipe) return out;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) out.append(buffer.data(), n);
  return out;
}

// Deletes an instance from Orthanc through its REST API (the way an administrator withdraws one).
void deleteFromOrthanc(const ScriptPeer& orthanc, const std::string& sopInstanceUid) {
  const std::string base = "http://127.0.0.1:" + orthanc.env().at("ORTHANC_HTTP_PORT");
  const auto found = nlohmann::json::parse(capture("curl -sf -X POST " + base + "/tools/lookup -d " + sopInstanceUid));
  ASSERT_EQ(found.size(), 1U) << found.dump();
  const std::string id = found.at(0).at("ID").get<std::string>();
  ASSERT_EQ(std::system(("curl -sf -o /dev/null -X DELETE " + base + "/instances/" + id).c_str()), 0);
}

// @p n small IODeep networks (MR KNEE unless told otherwise), written under @p dir.
std::vector<fs::path> networks(const fs::path& dir, std::uint32_t first, std::uint32_t n,
                               const std::string& modality = "MR", const std::string& bodyPart = "KNEE") {
  std::vector<fs::path> files;
  for (std::uint32_t i = first; i < first + n; ++i) {
    auto in = test::samplePackInput(5000 + i);
    in.name = "Net " + std::to_string(i);
    in.version = "1." + std::to_string(i);
    in.target.modality = modality;
    in.target.bodyPartExamined = bodyPart;
    files.push_back(dir / ("n" + std::to_string(i) + ".dcm"));
    iod::writeIodeep(iod::buildModel(std::move(in)), files.back());
  }
  return files;
}

client::ClientConfig configFor(const client::NetworkOptions& options, const test::TempDir& dir) {
  client::ClientConfig c;
  c.network = options;
  c.cacheDir = dir / "cache" / "models";
  c.outboxDir = dir / "outbox";
  return c;
}

std::vector<std::string> sops(const std::vector<client::RemoteModel>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.sopInstanceUid);
  std::sort(out.begin(), out.end());
  return out;
}

std::string sopOf(const fs::path& file) {
  return iod::readIodeep(file).model.sopInstanceUid;
}

// The C-FINDs a call sends, counted by the process's counter (independently of its own stats).
template <typename F>
std::uint64_t findsOf(F&& f) {
  const auto before = client::Pacs::findsSent();
  f();
  return client::Pacs::findsSent() - before;
}

}  // namespace

// One network, then 40 more of the slice's modality and 20 of another: discovery from scratch
// sends the same number of C-FINDs (one: Orthanc matches SeriesDescription and Modality at
// IMAGE level), and the process's counter agrees with the stats.
TEST(DiscoveryScale, OrthancQueriesDoNotGrowWithTheNetworks) {
  ScriptPeer orthanc("orthanc.sh");
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  ASSERT_EQ(pacs.store(networks(dir.path(), 0, 1)).size(), 1U);
  client::Workstation ws(configFor(orthanc.options(), dir));
  client::DiscoveryResult one;
  const auto sentOne = findsOf([&] { one = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Rebuild); });
  EXPECT_EQ(one.models.size(), 1U);
  EXPECT_EQ(one.stats.path, "relational");
  EXPECT_EQ(one.stats.queries, 1U);
  EXPECT_EQ(sentOne, one.stats.queries);

  auto more = networks(dir.path(), 1, 40);
  for (auto& f : networks(dir.path(), 41, 20, "CT", "CHEST")) more.push_back(f);
  ASSERT_EQ(pacs.store(more).size(), 60U);
  client::DiscoveryResult many;
  const auto sentMany = findsOf([&] { many = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Rebuild); });
  EXPECT_EQ(many.models.size(), 41U);
  EXPECT_EQ(many.stats.queries, one.stats.queries);
  EXPECT_EQ(sentMany, sentOne);
  for (const auto& m : many.models) {
    EXPECT_EQ(m.modality, "MR");
    EXPECT_EQ(m.bodyPartExamined, "KNEE");  // returned at IMAGE level
    EXPECT_EQ(m.seriesDescription.rfind("IODEEP Net ", 0), 0U) << m.seriesDescription;
  }
  // every modality, with the full detail of `iodeep models`: one C-FIND too, Raw Data only
  std::vector<client::RemoteModel> all;
  EXPECT_EQ(findsOf([&] { all = client::findModels(pacs, {}, client::ModelDetail::Full); }), 1U);
  EXPECT_EQ(all.size(), 61U);
  for (const auto& m : all) EXPECT_EQ(m.sopClassUid, iod::kRawDataStorageUid);
  // none of a modality no network is for: the PACS's answers still prove the path (two C-FINDs)
  const auto none = client::discoverNetworks(ws, "US", client::DiscoveryMode::Rebuild);
  EXPECT_TRUE(none.models.empty());
  EXPECT_EQ(none.stats.path, "relational");
  EXPECT_EQ(none.stats.queries, 2U);
}

// The cache: a listing younger than discovery_max_age is used without a C-FIND (a network stored
// since is not seen), a refresh sees it, a deleted network disappears after a refresh, an
// expired listing is refreshed, an old one rebuilt, a corrupt file ignored and rewritten.
TEST(DiscoveryScale, CacheRefreshExpiryAndCorruptFile) {
  ScriptPeer orthanc("orthanc.sh");
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  const auto first = networks(dir.path(), 0, 3);
  ASSERT_EQ(pacs.store(first).size(), 3U);
  auto config = configFor(orthanc.options(), dir);
  config.discoveryMaxAgeSeconds = 3600;
  client::Workstation ws(config);
  const auto built = client::discoverNetworks(ws, "MR");
  EXPECT_EQ(built.stats.source, client::DiscoverySource::Rebuilt);
  EXPECT_EQ(built.models.size(), 3U);
  EXPECT_TRUE(fs::exists(client::discoveryCacheDirectory(config)));
  EXPECT_EQ(client::discoveryCacheDirectory(config), dir / "cache" / "discovery");

  // a new network: not seen from the fresh cache (no C-FIND), seen after a refresh
  const auto added = networks(dir.path(), 10, 1);
  ASSERT_EQ(pacs.store(added).size(), 1U);
  client::DiscoveryResult cached;
  EXPECT_EQ(findsOf([&] { cached = client::discoverNetworks(ws, "MR"); }), 0U);
  EXPECT_EQ(cached.stats.source, client::DiscoverySource::Cache);
  EXPECT_EQ(cached.models.size(), 3U);
  const auto refreshed = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Refresh);
  EXPECT_EQ(refreshed.stats.source, client::DiscoverySource::Refreshed);
  EXPECT_EQ(refreshed.stats.queries, 1U);
  EXPECT_EQ(refreshed.models.size(), 4U);
  EXPECT_NE(std::find(sops(refreshed.models).begin(), sops(refreshed.models).end(), sopOf(added[0])),
            sops(refreshed.models).end());
  // another process (a second workstation on the same directory) reads what this one learnt
  client::Workstation other(config);
  EXPECT_EQ(sops(client::discoverNetworks(other, "MR").models), sops(refreshed.models));

  // a deleted network disappears after a refresh
  deleteFromOrthanc(orthanc, sopOf(first[1]));
  const auto afterDelete = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Refresh);
  EXPECT_EQ(afterDelete.models.size(), 3U);
  for (const auto& m : afterDelete.models) EXPECT_NE(m.sopInstanceUid, sopOf(first[1]));

  // expiry: with discovery_max_age 1 a listing of two seconds ago is refreshed, with
  // discovery_rebuild_age 1 made again from scratch
  ASSERT_EQ(pacs.store(networks(dir.path(), 20, 1)).size(), 1U);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto expiring = config;
  expiring.discoveryMaxAgeSeconds = 1;
  client::Workstation expiringWs(expiring);
  const auto expired = client::discoverNetworks(expiringWs, "MR");
  EXPECT_EQ(expired.stats.source, client::DiscoverySource::Refreshed);
  EXPECT_EQ(expired.models.size(), 4U);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  expiring.discoveryRebuildAgeSeconds = 1;
  client::Workstation rebuildingWs(expiring);
  EXPECT_EQ(client::discoverNetworks(rebuildingWs, "MR").stats.source, client::DiscoverySource::Rebuilt);

  // a corrupt file: ignored (no exception), rebuilt, rewritten readable
  const auto file = ws.discovery().fileOf(client::discoveryPeer(ws));
  ASSERT_TRUE(fs::exists(file));
  for (const std::string& garbage : {std::string("iodeep-discovery-2\npeer\t"), std::string("\x01\x02"),
                                     std::string("iodeep-discovery-2\npeer\tx\n"),
                                     std::string(R"({"format": "iodeep-discovery-1", "peer": "x", "entries": {}})")}) {
    std::ofstream(file, std::ios::trunc) << garbage;
    client::DiscoveryResult rebuilt;
    ASSERT_NO_THROW(rebuilt = client::discoverNetworks(ws, "MR"));
    EXPECT_TRUE(rebuilt.stats.corruptCacheIgnored);
    EXPECT_EQ(rebuilt.stats.source, client::DiscoverySource::Rebuilt);
    EXPECT_EQ(rebuilt.models.size(), 4U);
    const auto again = client::discoverNetworks(ws, "MR");
    EXPECT_FALSE(again.stats.corruptCacheIgnored);
    EXPECT_EQ(again.stats.source, client::DiscoverySource::Cache);
    EXPECT_EQ(sops(again.models), sops(rebuilt.models));
  }
  // a model line whose SamplesPerPixel is not a number: the same
  {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    in.close();
    const auto listing =
        std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("listing\tMR\t", 0) == 0; });
    ASSERT_NE(listing, lines.end());
    ASSERT_NE(listing + 1, lines.end());
    auto& modelLine = *(listing + 1);
    modelLine = modelLine.substr(0, modelLine.rfind('\t') + 1) + "three";
    std::ofstream out(file, std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
  }
  const auto wrongType = client::discoverNetworks(ws, "MR");
  EXPECT_TRUE(wrongType.stats.corruptCacheIgnored);
  EXPECT_EQ(wrongType.models.size(), 4U);
}

// Selection from a cached listing confirms its choice on the PACS: a network deleted since the
// listing is never chosen (the listing is refreshed and the choice made again), and one that is
// still there costs one C-FIND.
TEST(DiscoveryScale, SelectionFromTheCacheConfirmsItsChoice) {
  ScriptPeer orthanc("orthanc.sh");
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  const auto older = networks(dir.path(), 0, 1, "MR", "HEAD");
  const auto newer = networks(dir.path(), 1, 1, "MR", "HEAD");  // version 1.1 > 1.0: preferred
  ASSERT_EQ(pacs.store({older[0], newer[0]}).size(), 2U);
  auto config = configFor(orthanc.options(), dir);
  config.discoveryMaxAgeSeconds = 3600;
  client::Workstation ws(config);
  const auto first = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(first.selection.matched()) << first.toText();
  EXPECT_EQ(first.candidates.at(*first.selection.chosen).sopInstanceUid, sopOf(newer[0]));
  EXPECT_EQ(first.discovery.source, client::DiscoverySource::Rebuilt);
  // the chosen network in the model cache: its bytes stay usable locally after it leaves the PACS
  const auto fetched = client::fetchModel(ws, first.models.at(*first.selection.chosen), dir / "work");
  EXPECT_FALSE(fetched.fromCache);

  const auto second = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(second.selection.matched());
  EXPECT_EQ(second.discovery.source, client::DiscoverySource::Cache);
  EXPECT_TRUE(second.discovery.confirmed);
  EXPECT_EQ(second.discovery.queries, 1U);  // the confirmation
  EXPECT_EQ(second.candidates.at(*second.selection.chosen).sopInstanceUid, sopOf(newer[0]));
  const auto json = nlohmann::json::parse(second.toJson());
  EXPECT_EQ(json.at("discovery").at("source"), "cache");
  EXPECT_EQ(json.at("discovery").at("queries"), 1);

  // withdrawn from the PACS: the cached listing still names it and the model cache holds it, but
  // the confirmation finds it gone and the older network is chosen from a refreshed listing
  deleteFromOrthanc(orthanc, sopOf(newer[0]));
  const auto third = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(third.selection.matched()) << third.toText();
  EXPECT_EQ(third.candidates.at(*third.selection.chosen).sopInstanceUid, sopOf(older[0]));
  EXPECT_EQ(third.discovery.source, client::DiscoverySource::Refreshed);
  EXPECT_EQ(third.models.size(), 1U);
}

// SamplesPerPixel, which Orthanc answers only to an IMAGE-level query on one instance (reading the
// stored file), is asked once per network: what it told is kept with the cached listing, and a
// selection from that listing sends only its confirmation; a process started later knows it too.
TEST(DiscoveryScale, WhatThePacsToldIsNotAskedAgain) {
  ScriptPeer orthanc("orthanc.sh");
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  const auto two = networks(dir.path(), 0, 2, "MR", "HEAD");
  ASSERT_EQ(pacs.store(two).size(), 2U);
  auto config = configFor(orthanc.options(), dir);
  config.discoveryMaxAgeSeconds = 3600;
  client::Workstation ws(config);
  const auto first = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(first.selection.matched()) << first.toText();
  EXPECT_EQ(first.attributeQueries, 2U);  // both match on everything else
  const auto listed = ws.discovery().find(client::discoveryPeer(ws), "MR");
  ASSERT_EQ(listed.state, client::DiscoveryLookup::State::Found);
  for (const auto& m : listed.entry->models) EXPECT_EQ(m.samplesPerPixel, 1) << m.sopInstanceUid;

  const auto second = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(second.selection.matched());
  EXPECT_EQ(second.discovery.source, client::DiscoverySource::Cache);
  EXPECT_EQ(second.attributeQueries, 0U);
  EXPECT_EQ(second.discovery.queries, 1U);  // the confirmation only
  EXPECT_EQ(second.candidates.at(*second.selection.chosen).sopInstanceUid,
            first.candidates.at(*first.selection.chosen).sopInstanceUid);
  client::Workstation later(config);
  EXPECT_EQ(client::selectForLocalSlices(later, {kSlice22}, dir / "work").attributeQueries, 0U);
}

// dcmqrscp matches neither SeriesDescription nor returns it, but answers relational IMAGE
// queries on lists of study UIDs: the convention's studies, then their instances; a constant
// number of C-FINDs up to kStudiesPerQuery studies. The networks found are the same as by
// walking the hierarchy.
TEST(DiscoveryScale, DcmqrscpByStudyList) {
  ScriptPeer qr("dcmqrscp.sh");
  const client::Pacs pacs(qr.options());
  test::TempDir dir;
  ASSERT_EQ(pacs.store(networks(dir.path(), 0, 1)).size(), 1U);
  ASSERT_EQ(pacs.store({kSlice22}).size(), 1U);  // an MR image that is not a network
  client::Workstation ws(configFor(qr.options(), dir));
  const auto one = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Rebuild);
  EXPECT_EQ(one.stats.path, "study-list");
  EXPECT_EQ(one.models.size(), 1U);
  // the relational attempt (cancelled at its first answer), the studies, their instances
  EXPECT_EQ(one.stats.queries, 3U);
  const auto refreshed = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Refresh);
  EXPECT_EQ(refreshed.stats.queries, 2U);  // the path is known: no attempt

  ASSERT_EQ(pacs.store(networks(dir.path(), 1, 11)).size(), 11U);
  ASSERT_EQ(pacs.store(networks(dir.path(), 12, 5, "CT", "CHEST")).size(), 5U);
  const auto many = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Refresh);
  EXPECT_EQ(many.models.size(), 12U);
  EXPECT_EQ(many.stats.queries, refreshed.stats.queries);
  const auto rebuilt = client::discoverNetworks(ws, "MR", client::DiscoveryMode::Rebuild);
  EXPECT_EQ(rebuilt.stats.queries, one.stats.queries);
  // the hierarchical walk finds the same networks (and reuses the series it knows on a refresh)
  const auto walked =
      client::discoverModels(pacs, "MR", client::ModelDetail::Index, client::DiscoveryPath::Hierarchical);
  EXPECT_EQ(sops(walked.models), sops(many.models));
  const auto walkedAgain = client::discoverModels(pacs, "MR", client::ModelDetail::Index,
                                                  client::DiscoveryPath::Hierarchical, walked.models);
  EXPECT_EQ(sops(walkedAgain.models), sops(many.models));
  EXPECT_EQ(walkedAgain.reused, walked.models.size());
  EXPECT_LT(walkedAgain.queries, walked.queries);
}

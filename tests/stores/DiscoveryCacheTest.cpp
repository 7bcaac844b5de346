// The discovery cache without a PACS: round trip, modalities and paths, corrupt files, memory
// mode, private files; the configuration keys that steer it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/stores/DiscoveryCache.hpp"
#include "iodeep/workflow/ClientConfig.hpp"

using namespace iodeep;
namespace fs = std::filesystem;
using State = client::DiscoveryLookup::State;

namespace {

client::RemoteModel model(const std::string& n) {
  client::RemoteModel m;
  m.studyInstanceUid = "1.2." + n;
  m.seriesInstanceUid = "1.3." + n;
  m.sopInstanceUid = "1.4." + n;
  m.seriesDescription = "IODEEP Net " + n + " 1.0";
  m.modality = "MR";
  m.bodyPartExamined = "HEAD";
  m.contentDate = "20260101";
  m.samplesPerPixel = 1;
  return m;
}

client::DiscoveryEntry entry(const std::string& modality, std::int64_t at, std::vector<client::RemoteModel> models) {
  return {modality, at, at, std::move(models)};
}

}  // namespace

TEST(DiscoveryCache, RoundTripPerPeerAndModality) {
  test::TempDir dir;
  const client::DiscoveryCache cache(dir / "discovery");
  EXPECT_FALSE(fs::exists(dir / "discovery"));  // nothing on disk before the first put
  EXPECT_EQ(cache.find("IODEEP A@h:1", "MR").state, State::Absent);
  cache.put("IODEEP A@h:1", entry("MR", 100, {model("1"), model("2")}), client::DiscoveryPath::Relational);
  cache.put("IODEEP A@h:1", entry("CT", 200, {}), client::DiscoveryPath::Relational);
  cache.put("IODEEP B@h:2", entry("MR", 300, {model("3")}), client::DiscoveryPath::StudyList);
  const auto mr = cache.find("IODEEP A@h:1", "MR");
  ASSERT_EQ(mr.state, State::Found);
  ASSERT_TRUE(mr.entry && mr.path);
  EXPECT_EQ(*mr.path, client::DiscoveryPath::Relational);
  EXPECT_EQ(mr.entry->builtAt, 100);
  ASSERT_EQ(mr.entry->models.size(), 2U);
  const auto& m = mr.entry->models[1];
  EXPECT_EQ(m.sopInstanceUid, "1.4.2");
  EXPECT_EQ(m.seriesDescription, "IODEEP Net 2 1.0");
  EXPECT_EQ(m.bodyPartExamined, "HEAD");
  EXPECT_EQ(m.samplesPerPixel, 1);
  EXPECT_EQ(cache.find("IODEEP A@h:1", "CT").state, State::Found);
  EXPECT_EQ(cache.find("IODEEP A@h:1", "US").state, State::Absent);
  EXPECT_EQ(cache.find("IODEEP B@h:2", "MR").entry->models.size(), 1U);
  // another path for a PACS drops its other listings (they were made the other way)
  cache.put("IODEEP A@h:1", entry("MR", 400, {model("1")}), client::DiscoveryPath::Hierarchical);
  EXPECT_EQ(cache.find("IODEEP A@h:1", "CT").state, State::Absent);
  EXPECT_EQ(*cache.find("IODEEP A@h:1", "MR").path, client::DiscoveryPath::Hierarchical);
  // private: the directory 0700, the files 0600
  struct stat st {};
  ASSERT_EQ(::stat((dir / "discovery").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0700U);
  ASSERT_EQ(::stat(cache.fileOf("IODEEP A@h:1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  cache.forget("IODEEP A@h:1");
  EXPECT_EQ(cache.find("IODEEP A@h:1", "MR").state, State::Absent);
  EXPECT_EQ(cache.find("IODEEP B@h:2", "MR").state, State::Found);
}

TEST(DiscoveryCache, FieldsWithSeparatorsAndAnyBytesRoundTrip) {
  test::TempDir dir;
  const client::DiscoveryCache cache(dir / "discovery");
  const std::string peer = "IODEEP\tA@h:1\n";  // a peer's name is text too
  auto m = model("1");
  m.seriesDescription = "IODEEP a\tb\\c\nd\re \\t 1.0";
  m.bodyPartExamined = std::string(
      "HE\xff\x01"
      "AD",
      6);  // not UTF-8: kept byte for byte
  m.contentTime = "\\";
  m.samplesPerPixel = 65535;
  auto other = model("2");
  other.modality = "C\tT";
  cache.put(peer, entry("C\tT", 5, {other}), client::DiscoveryPath::StudyList);
  // the JSON file of the format before is replaced by the first put
  std::ofstream(fs::path(cache.fileOf(peer)).replace_extension(".json")) << "{}";
  cache.put(peer, entry("MR", 7, {m, model("2")}), client::DiscoveryPath::StudyList);
  EXPECT_FALSE(fs::exists(fs::path(cache.fileOf(peer)).replace_extension(".json")));
  const auto found = cache.find(peer, "MR");
  ASSERT_EQ(found.state, State::Found);
  ASSERT_EQ(found.entry->models.size(), 2U);
  const auto& back = found.entry->models[0];
  EXPECT_EQ(back.seriesDescription, m.seriesDescription);
  EXPECT_EQ(back.bodyPartExamined, m.bodyPartExamined);
  EXPECT_EQ(back.contentTime, "\\");
  EXPECT_EQ(back.samplesPerPixel, 65535);
  EXPECT_EQ(back.studyInstanceUid, m.studyInstanceUid);
  EXPECT_EQ(found.entry->models[1].sopInstanceUid, "1.4.2");
  EXPECT_EQ(found.entry->refreshedAt, 7);
  const auto ct = cache.find(peer, "C\tT");  // the other listing kept, unchanged
  ASSERT_EQ(ct.state, State::Found);
  EXPECT_EQ(ct.entry->builtAt, 5);
  EXPECT_EQ(ct.entry->models.at(0).modality, "C\tT");
  EXPECT_EQ(*ct.path, client::DiscoveryPath::StudyList);
  // 3,000 models (one modality of the 10,000-network bench) read back whole
  std::vector<client::RemoteModel> many;
  for (int i = 0; i < 3000; ++i) many.push_back(model(std::to_string(i)));
  cache.put(peer, entry("MR", 9, many), client::DiscoveryPath::StudyList);
  const auto all = cache.find(peer, "MR");
  ASSERT_EQ(all.state, State::Found);
  ASSERT_EQ(all.entry->models.size(), 3000U);
  EXPECT_EQ(all.entry->models[2999].sopInstanceUid, "1.4.2999");
}

TEST(DiscoveryCache, CorruptFilesAreIgnoredThenReplaced) {
  test::TempDir dir;
  const client::DiscoveryCache cache(dir / "discovery");
  const std::string peer = "IODEEP A@h:1";
  cache.put(peer, entry("MR", 100, {model("1")}), client::DiscoveryPath::Relational);
  const auto file = cache.fileOf(peer);
  const std::string head = "iodeep-discovery-2\npeer\tIODEEP A@h:1\n";
  const std::string good = "1.2\t1.3\t1.4\t\tIODEEP Net 1.0\tMR\tHEAD\t\t\t\t1\n";
  for (const std::string& text :
       {std::string("not a listing"), std::string("[1, 2]\n"),
        std::string("iodeep-discovery-1\npeer\tIODEEP A@h:1\n"),                          // another format
        std::string("iodeep-discovery-2\npeer\tsomeone else\n"),                          // another PACS
        head + "path\tsideways\n",                                                        // an unknown path
        head + "listing\tMR\t1\t1\t1\n1.2\t1.3\t\t\t\t\t\t\t\t\t0\n",                     // no SOP Instance UID
        head + "listing\tMR\t1\t1\t1\n1.2\t1.3\t1.4\n",                                   // fields missing
        head + "listing\tMR\tx\t1\t1\n" + good,                                           // built is not a number
        head + "listing\tMR\t1\t1\t2\n" + good,                                           // a line short
        head + "listing\tMR\t1\t1\t1\n" + good.substr(0, good.size() - 1),                // cut inside a line
        head + "listing\tMR\t1\t1\t1\n" + good + "listing\tMR\t1\t1\t1\n" + good,         // MR twice
        head + "listing\tMR\t1\t1\t1\n1.2\t1.3\t1.4\t\tIODEEP \\q\tMR\tHEAD\t\t\t\t1\n",  // unknown escape
        head + "listing\tMR\t1\t1\t1\n1.2\t1.3\t1.4\t\tIODEEP\tMR\tHEAD\t\t\t\t70000\n",  // SamplesPerPixel
        std::string(1U << 16U, '[')}) {
    std::ofstream(file, std::ios::trunc) << text;
    client::DiscoveryLookup found;
    ASSERT_NO_THROW(found = cache.find(peer, "MR")) << text.substr(0, 80);
    EXPECT_EQ(found.state, State::Corrupt) << text.substr(0, 80);
    EXPECT_FALSE(found.entry);
    ASSERT_NO_THROW(cache.put(peer, entry("MR", 200, {model("2")}), client::DiscoveryPath::Relational));
    const auto again = cache.find(peer, "MR");
    ASSERT_EQ(again.state, State::Found);
    EXPECT_EQ(again.entry->models.at(0).sopInstanceUid, "1.4.2");
  }
}

// A long-lived process keeps what it read while the file is unchanged (the same entry is given
// again, not parsed again) and sees every change: another process's put, an edit in place that
// puts the modification time back; a file modified or changed within the last second is read
// again each time (two waits of 2.1 s).
TEST(DiscoveryCache, ListingsAreKeptWhileTheFileIsUnchanged) {
  test::TempDir dir;
  const client::DiscoveryCache cache(dir / "discovery");
  const std::string peer = "IODEEP A@h:1";
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2100)); };
  cache.put(peer, entry("MR", 100, {model("1"), model("2")}), client::DiscoveryPath::Relational);
  const auto file = cache.fileOf(peer);
  const auto fresh1 = cache.find(peer, "MR");
  const auto fresh2 = cache.find(peer, "MR");
  ASSERT_EQ(fresh2.state, State::Found);
  EXPECT_NE(fresh1.entry.get(), fresh2.entry.get());  // written just now: read each time
  settle();
  const auto first = cache.find(peer, "MR");
  const auto second = cache.find(peer, "MR");
  ASSERT_EQ(second.state, State::Found);
  EXPECT_EQ(first.entry.get(), second.entry.get());
  EXPECT_EQ(second.path, client::DiscoveryPath::Relational);
  EXPECT_EQ(second.entry->models.size(), 2U);
  EXPECT_NE(cache.find(peer, "CT").state, State::Found);  // kept per modality

  // another process (another object on the directory) writes a new listing: seen at once
  const client::DiscoveryCache other(dir / "discovery");
  other.put(peer, entry("MR", 200, {model("3")}), client::DiscoveryPath::Relational);
  const auto changed = cache.find(peer, "MR");
  ASSERT_EQ(changed.state, State::Found);
  ASSERT_EQ(changed.entry->models.size(), 1U);
  EXPECT_EQ(changed.entry->models[0].sopInstanceUid, "1.4.3");

  // kept again once settled; edited in place to the same size with the modification time put
  // back: the change time tells it
  settle();
  const auto kept = cache.find(peer, "MR");
  EXPECT_EQ(cache.find(peer, "MR").entry.get(), kept.entry.get());
  const auto modified = fs::last_write_time(file);
  auto text = iod::readTextFile(file);
  const auto at = text.find("1.4.3");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 5, "1.4.9");
  std::ofstream(file, std::ios::trunc | std::ios::binary) << text;
  fs::last_write_time(file, modified);
  const auto edited = cache.find(peer, "MR");
  ASSERT_EQ(edited.state, State::Found);
  EXPECT_EQ(edited.entry->models[0].sopInstanceUid, "1.4.9");

  // removed: absent
  fs::remove(file);
  EXPECT_EQ(cache.find(peer, "MR").state, State::Absent);
}

// learn() adds what a later query told (SamplesPerPixel, PhotometricInterpretation) to the models
// of a listing, keeps its times and its other models, never overwrites a known value, and does
// nothing without a listing or without news (the file is then not rewritten).
TEST(DiscoveryCache, LearnAddsWhatALaterQueryTold) {
  test::TempDir dir;
  for (const bool onDisk : {true, false}) {
    const client::DiscoveryCache cache(onDisk ? dir / "discovery" : fs::path());
    const std::string peer = "IODEEP A@h:1";
    cache.learn(peer, "MR", {model("1")});  // no listing yet: nothing, no file
    if (onDisk) {
      EXPECT_FALSE(fs::exists(dir / "discovery"));
    }
    auto unknown = model("1");
    unknown.samplesPerPixel = 0;
    auto known = model("2");
    known.samplesPerPixel = 3;
    known.photometricInterpretation = "RGB";
    cache.put(peer, {"MR", 100, 200, {unknown, known, model("3")}}, client::DiscoveryPath::Relational);
    cache.put(peer, entry("CT", 300, {model("9")}), std::nullopt);

    auto told = unknown;
    told.samplesPerPixel = 1;
    told.photometricInterpretation = "MONOCHROME2";
    auto other = known;
    other.samplesPerPixel = 1;  // a known value is not overwritten
    other.photometricInterpretation = "MONOCHROME1";
    auto stranger = model("77");  // not in the listing
    stranger.samplesPerPixel = 3;
    cache.learn(peer, "MR", {told, other, stranger});
    const auto found = cache.find(peer, "MR");
    ASSERT_EQ(found.state, State::Found);
    EXPECT_EQ(found.entry->builtAt, 100);
    EXPECT_EQ(found.entry->refreshedAt, 200);
    ASSERT_EQ(found.entry->models.size(), 3U);
    EXPECT_EQ(found.entry->models[0].samplesPerPixel, 1);
    EXPECT_EQ(found.entry->models[0].photometricInterpretation, "MONOCHROME2");
    EXPECT_EQ(found.entry->models[1].samplesPerPixel, 3);
    EXPECT_EQ(found.entry->models[1].photometricInterpretation, "RGB");
    EXPECT_EQ(found.entry->models[2].sopInstanceUid, "1.4.3");
    EXPECT_EQ(found.path, client::DiscoveryPath::Relational);
    EXPECT_EQ(cache.find(peer, "CT").entry->models.at(0).sopInstanceUid, "1.4.9");  // other listings kept
    if (onDisk) {
      const auto inode = [&] {
        struct stat st {};
        EXPECT_EQ(::stat(cache.fileOf(peer).c_str(), &st), 0);
        return st.st_ino;
      };
      const auto before = inode();
      cache.learn(peer, "MR", {told});  // nothing new: the file stays as it is
      EXPECT_EQ(inode(), before);
    }
    cache.learn(peer, "US", {told});  // no such listing: nothing
    EXPECT_EQ(cache.find(peer, "US").state, State::Absent);
  }
}

TEST(DiscoveryCache, InMemoryWithoutADirectory) {
  const client::DiscoveryCache cache({});
  EXPECT_TRUE(cache.fileOf("p").empty());
  EXPECT_EQ(cache.find("p", "MR").state, State::Absent);
  cache.put("p", entry("MR", 1, {model("1")}), std::nullopt);
  const auto found = cache.find("p", "MR");
  ASSERT_EQ(found.state, State::Found);
  EXPECT_FALSE(found.path);
  cache.forget("p");
  EXPECT_EQ(cache.find("p", "MR").state, State::Absent);
}

TEST(DiscoveryCache, ConfigurationKeys) {
  const auto c = client::parseClientConfig(
      R"({"cache_dir": "/x/models", "discovery_cache_dir": "/y/disc", "discovery_max_age": 60,
          "discovery_rebuild_age": 600, "outbox_dir": "/o", "image_cache_dir": "/i", "audit_log": "/a"})",
      "test.json");
  EXPECT_EQ(c.discoveryCacheDir, "/y/disc");
  EXPECT_EQ(c.discoveryMaxAgeSeconds, 60U);
  EXPECT_EQ(c.discoveryRebuildAgeSeconds, 600U);
  EXPECT_EQ(client::discoveryCacheDirectory(c), "/y/disc");
  const auto back = client::parseClientConfig(client::toJson(c), "back.json");
  EXPECT_EQ(back.discoveryCacheDir, c.discoveryCacheDir);
  EXPECT_EQ(back.discoveryMaxAgeSeconds, 60U);
  EXPECT_EQ(back.discoveryRebuildAgeSeconds, 600U);
  // the defaults: refreshed on every use, rebuilt daily, beside the model cache
  const auto d = client::parseClientConfig(R"({"cache_dir": "/x/models/", "outbox_dir": "/o", "image_cache_dir": "/i",
                                               "audit_log": "/a"})",
                                           "d.json");
  EXPECT_EQ(d.discoveryMaxAgeSeconds, 0U);
  EXPECT_EQ(d.discoveryRebuildAgeSeconds, 86400U);
  EXPECT_EQ(client::discoveryCacheDirectory(d), "/x/discovery");
  EXPECT_EQ(client::toJson(d).find("discovery_cache_dir"), std::string::npos);
  client::ClientConfig none;
  EXPECT_TRUE(client::discoveryCacheDirectory(none).empty());  // in memory
  for (const auto& [text, pointer] :
       std::vector<std::pair<std::string, std::string>>{{R"({"discovery_max_age": -1})", "/discovery_max_age"},
                                                        {R"({"discovery_max_age": "soon"})", "/discovery_max_age"},
                                                        {R"({"discovery_rebuild_age": 0})", "/discovery_rebuild_age"},
                                                        {R"({"discovery_cache_dir": ""})", "/discovery_cache_dir"},
                                                        {R"({"discovery_cache_dir": 3})", "/discovery_cache_dir"},
                                                        {R"({"discovery_cache": true})", "/discovery_cache"}}) {
    try {
      (void)client::parseClientConfig(text, "bad.json");
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << text;
      EXPECT_EQ(e.pointer(), pointer) << text << ": " << e.what();
    }
  }
}

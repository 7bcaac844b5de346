// The inference service in this process against a private Orthanc, over real sockets: the same
// proposals as a local prediction, bounded queues (503), deadlines (504), the body limit (413),
// tokens (401) and their identity in the audit log, client certificates over HTTPS, concurrent
// predictions, idempotent structure sets and the drain.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "../pacs/OrthancSupport.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/service/Service.hpp"
#include "iodeep/service/ServiceClient.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace iodeep {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kSource{IODEEP_SOURCE_DIR};
const fs::path kModel = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice = kSource / "examples/brain-unet/series/slice_022.dcm";

// One Orthanc for the suite, holding the brain network and one slice.
class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    orthanc_ = new test::PrivateOrthanc();  // NOLINT(cppcoreguidelines-owning-memory): the suite's
    const client::Pacs pacs(orthanc_->options());
    const auto stored = pacs.store({kModel, kSlice});
    for (const auto& s : stored) ASSERT_EQ(s.status, 0U) << s.file;
    const auto a = iod::readSliceAttributes(kSlice);
    study_ = a.studyInstanceUid;
    series_ = a.seriesInstanceUid;
    instance_ = a.sopInstanceUid;
  }
  static void TearDownTestSuite() {
    delete orthanc_;  // NOLINT(cppcoreguidelines-owning-memory)
    orthanc_ = nullptr;
  }

  service::ServiceConfig config(const std::string& name) const {
    service::ServiceConfig c;
    c.client.network = orthanc_->options();
    c.client.network.retrieve = client::RetrieveMode::Get;
    c.client.cacheDir = tmp_ / name / "cache";
    c.client.outboxDir = tmp_ / name / "outbox";
    c.client.imageCacheDir = tmp_ / name / "images";
    c.client.auditLog = tmp_ / name / "audit.log";
    c.service.listenPort = 0;
    c.service.allowAnonymous = true;
    c.service.workDir = tmp_ / name / "work";
    return c;
  }

  [[nodiscard]] std::string reference(const std::string& network = {}) const {
    Json j = {{"study", study_}, {"series", series_}, {"instance", instance_}};
    if (!network.empty()) j["network"] = network;
    return j.dump();
  }

  static test::PrivateOrthanc* orthanc_;
  static std::string study_, series_, instance_;
  test::TempDir tmp_;
};

test::PrivateOrthanc* ServiceTest::orthanc_ = nullptr;
std::string ServiceTest::study_;
std::string ServiceTest::series_;
std::string ServiceTest::instance_;

// A service running on its own thread until the object goes (stop(): the drain, then join).
class Running {
 public:
  explicit Running(service::ServiceConfig c) : service_(std::move(c)), thread_([this] { service_.run(false); }) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    service_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(service_.port()); }
  [[nodiscard]] service::ServiceClient client(const std::string& token = {}) const {
    service::ServiceClientOptions o;
    o.url = url();
    o.token = token;
    o.timeout = std::chrono::seconds(60);
    return service::ServiceClient(o);
  }
  /// Waits (at most 30 s) for /readyz 200: the PACS answered C-ECHO and libtorch is loaded.
  void waitReady() const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      if (client().send("GET", "/readyz").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the service never became ready";
  }
  void stop() { service_.stop(); }
  void join() { thread_.join(); }

 private:
  service::Service service_;
  std::thread thread_;
};

// The proposals of a local predict() on the same slice and network, as JSON.
Json localProposals() {
  client::PredictOptions o;
  o.model = kModel;
  o.image = kSlice;
  return Json::parse(client::predict(o).toJson()).at("proposals");
}

std::uint64_t residentBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST_F(ServiceTest, PredictByReferenceAndByValueGiveTheLocalProposals) {
  Running s(config("predict"));
  s.waitReady();
  const auto expected = localProposals();
  ASSERT_FALSE(expected.empty());
  const auto byRef = s.client().send("POST", "/v1/predict", reference(), "application/json");
  ASSERT_EQ(byRef.status, 200U) << byRef.body;
  const auto j = Json::parse(byRef.body);
  EXPECT_EQ(j.at("proposals"), expected);
  EXPECT_EQ(j.at("slice").at("sopInstanceUid"), instance_);
  EXPECT_TRUE(j.at("selection").at("matched").get<bool>());
  for (const char* key : {"queue", "slice", "network", "inferenceQueue", "forward", "contours", "total"}) {
    EXPECT_TRUE(j.at("server").at("timingsMs").contains(key)) << key;
  }
  // by value: the Part 10 slice in the body
  const auto body = iod::readTextFile(kSlice);
  const auto byValue = s.client().send("POST", "/v1/predict", body, "application/dicom");
  ASSERT_EQ(byValue.status, 200U) << byValue.body;
  EXPECT_EQ(Json::parse(byValue.body).at("proposals"), expected);
  // the network by DnnUID, no selection
  const std::string dnnUid = j.at("network").at("dnnUid");
  const auto named = s.client().send("POST", "/v1/predict", reference(dnnUid), "application/json");
  ASSERT_EQ(named.status, 200U) << named.body;
  EXPECT_FALSE(Json::parse(named.body).contains("selection"));
  EXPECT_EQ(Json::parse(named.body).at("proposals"), expected);
  // an unknown network: 404 naming the field
  const auto unknown = s.client().send("POST", "/v1/predict", reference("1.2.3.4"), "application/json");
  EXPECT_EQ(unknown.status, 404U);
  EXPECT_EQ(Json::parse(unknown.body).at("field"), "network");
  // the second prediction by reference took the slice from the service's store
  EXPECT_TRUE(Json::parse(named.body).at("server").at("sliceFromCache").get<bool>());
}

TEST_F(ServiceTest, BadRequestsNameTheFieldAndNothingCrashes) {
  Running s(config("bad"));
  s.waitReady();
  const auto c = s.client();
  struct Case {
    const char* route;
    std::string body, type;
    unsigned status;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"/v1/select", "{", "application/json", 400, "body"},
      {"/v1/select", "[]", "application/json", 400, "body"},
      {"/v1/select", R"({"Modality": 1e400})", "application/json", 400, "body"},  // a number JSON cannot hold
      {"/v1/select", R"({"Modality": 7})", "application/json", 400, "Modality"},
      {"/v1/select", R"({"BodyPartExamined": "HEAD"})", "application/json", 400, "Modality"},
      {"/v1/select", R"({"Modality": "MR", "SamplesPerPixel": 2})", "application/json", 400, "SamplesPerPixel"},
      {"/v1/select", R"({"Modality": "MR", "Modaliti": "CT"})", "application/json", 400, "Modaliti"},
      {"/v1/predict", R"({"study": "1.2", "series": "1.3"})", "application/json", 400, "instance"},
      {"/v1/predict", R"({"study": "1.2", "series": "1.3", "instance": "x'; DROP"})", "application/json", 400,
       "instance"},
      {"/v1/predict", R"({"study": "1.2", "series": "1.3", "instance": "1.4", "frame": -1})", "application/json", 400,
       "frame"},
      {"/v1/predict", "not DICOM at all", "application/dicom", 422, "body"},
      {"/v1/predict", "{}", "text/plain", 415, "Content-Type"},
      {"/v1/structure-sets", R"({"slice": {}})", "application/json", 400, "slice/study"},
  };
  for (const auto& k : cases) {
    const auto a = c.send("POST", k.route, k.body, k.type);
    EXPECT_EQ(a.status, k.status) << k.route << " " << k.body << ": " << a.body;
    EXPECT_EQ(a.contentType, "application/problem+json") << k.body;
    const auto j = Json::parse(a.body);
    EXPECT_EQ(j.at("status"), k.status);
    EXPECT_EQ(j.value("field", ""), k.field) << k.body;
  }
  EXPECT_EQ(c.send("GET", "/v2/nothing").status, 404U);
  EXPECT_EQ(c.send("GET", "/v1/predict").status, 405U);
  // an instance the PACS does not have: 404 from the PACS's answer
  const auto missing =
      c.send("POST", "/v1/predict", R"({"study": "1.2", "series": "1.3", "instance": "1.4"})", "application/json");
  EXPECT_EQ(missing.status, 404U) << missing.body;
  // still serving
  EXPECT_EQ(c.send("GET", "/livez").status, 200U);
}

TEST_F(ServiceTest, ABodyOverTheLimitIs413) {
  auto cfg = config("limit");
  cfg.service.maxBodyBytes = 1U << 20U;
  Running s(std::move(cfg));
  s.waitReady();
  const std::string big(2U << 20U, 'x');
  const auto a = s.client().send("POST", "/v1/predict", big, "application/dicom");
  EXPECT_EQ(a.status, 413U) << a.body;
  EXPECT_EQ(Json::parse(a.body).at("field"), "body");
  EXPECT_EQ(s.client().send("GET", "/livez").status, 200U);
}

TEST_F(ServiceTest, TokensAreRequiredAndTheCallerIsAudited) {
  auto cfg = config("tokens");
  cfg.service.allowAnonymous = false;
  const auto alice = service::makeToken("alice@radiology");
  const auto bob = service::makeToken("bob");
  fs::create_directories(tmp_ / "tokens");
  cfg.service.tokensFile = tmp_ / "tokens" / "tokens.txt";
  std::ofstream(cfg.service.tokensFile) << "# test tokens\n" << alice.line << "\n" << bob.line << "\n";
  const auto audit = cfg.client.auditLog;
  Running s(std::move(cfg));
  s.waitReady();  // /readyz needs no token
  const auto none = s.client().send("POST", "/v1/predict", reference(), "application/json");
  EXPECT_EQ(none.status, 401U);
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer realm=\"iodeep\"");
  EXPECT_EQ(s.client("wrong").send("POST", "/v1/predict", reference(), "application/json").status, 401U);
  const auto ok = s.client(alice.token).send("POST", "/v1/predict", reference(), "application/json");
  ASSERT_EQ(ok.status, 200U) << ok.body;
  const auto events = client::readAudit(audit);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "network_run");
  EXPECT_EQ(events.back().caller, "token:alice@radiology");
  // the token file keeps digests only
  EXPECT_EQ(alice.line.find(alice.token), std::string::npos);
}

TEST_F(ServiceTest, AFullQueueAnswers503AtOnceAndTheRestAreServed) {
  auto cfg = config("queue");
  cfg.service.inferenceThreads = 1;
  cfg.service.queueLimit = 1;
  Running s(std::move(cfg));
  s.waitReady();
  std::vector<std::future<service::HttpAnswer>> answers;
  answers.reserve(12);
  for (int i = 0; i < 12; ++i) {
    answers.push_back(std::async(
        std::launch::async, [&] { return s.client().send("POST", "/v1/predict", reference(), "application/json"); }));
  }
  std::size_t refused = 0;
  std::size_t served = 0;
  for (auto& f : answers) {
    const auto a = f.get();
    if (a.status == 503) {
      ++refused;
      EXPECT_EQ(a.header("Retry-After"), "1");
    } else {
      EXPECT_EQ(a.status, 200U) << a.body;
      ++served;
    }
  }
  EXPECT_GE(refused, 1U);
  EXPECT_GE(served, 1U);
  const auto metrics = s.client().send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("iodeep_rejected_queue_full_total " + std::to_string(refused)), std::string::npos) << metrics;
}

TEST_F(ServiceTest, PastTheDeadlineIs504) {
  auto cfg = config("deadline");
  cfg.service.inferenceThreads = 1;
  cfg.service.queueLimit = 64;
  cfg.service.deadline = std::chrono::milliseconds(100);
  Running s(std::move(cfg));
  s.waitReady();
  std::vector<std::future<service::HttpAnswer>> answers;
  answers.reserve(16);
  for (int i = 0; i < 16; ++i) {
    answers.push_back(std::async(
        std::launch::async, [&] { return s.client().send("POST", "/v1/predict", reference(), "application/json"); }));
  }
  std::size_t late = 0;
  for (auto& f : answers) {
    const auto a = f.get();
    EXPECT_TRUE(a.status == 200 || a.status == 504) << a.status << " " << a.body;
    late += a.status == 504 ? 1 : 0;
  }
  EXPECT_GE(late, 1U);  // 16 forward passes of ~20-50 ms on one thread cannot all end within 100 ms
  EXPECT_NE(s.client().send("GET", "/metrics").body.find("iodeep_deadline_exceeded_total " + std::to_string(late)),
            std::string::npos);
}

TEST_F(ServiceTest, SixtyFourConcurrentPredictionsAllMatchWithBoundedMemory) {
  auto cfg = config("load");
  cfg.service.inferenceThreads = 2;
  cfg.service.queueLimit = 64;
  cfg.service.ioThreads = 4;
  Running s(std::move(cfg));
  s.waitReady();
  const auto expected = localProposals();
  ASSERT_EQ(s.client().send("POST", "/v1/predict", reference(), "application/json").status, 200U);  // warm
  const auto before = residentBytes();
  std::vector<std::future<service::HttpAnswer>> answers;
  answers.reserve(64);
  for (int i = 0; i < 64; ++i) {
    answers.push_back(std::async(
        std::launch::async, [&] { return s.client().send("POST", "/v1/predict", reference(), "application/json"); }));
  }
  for (auto& f : answers) {
    const auto a = f.get();
    ASSERT_EQ(a.status, 200U) << a.body;
    EXPECT_EQ(Json::parse(a.body).at("proposals"), expected);
  }
  const auto after = residentBytes();
  // 64 requests of a 128x128 slice: far below this bound unless something is kept per request
  EXPECT_LT(after, before + (256ULL << 20U)) << "RSS " << before << " -> " << after;
}

TEST_F(ServiceTest, AStructureSetIsStoredOncePerIdempotencyKey) {
  Running s(config("review"));
  s.waitReady();
  const auto p = s.client().send("POST", "/v1/predict", reference(), "application/json");
  ASSERT_EQ(p.status, 200U) << p.body;
  const auto pj = Json::parse(p.body);
  const Json review = {{"slice", {{"study", study_}, {"series", series_}, {"instance", instance_}}},
                       {"network", {{"dnnUid", pj.at("network").at("dnnUid")}}},
                       {"proposals", pj.at("proposals")},
                       {"approved", {0}},
                       {"reviewer", "Doe^Jane"}};
  const std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", "review-1"}};
  const auto first = s.client().send("POST", "/v1/structure-sets", review.dump(), "application/json", key);
  ASSERT_EQ(first.status, 201U) << first.body;
  const auto set = Json::parse(first.body).at("structureSet");
  EXPECT_TRUE(set.at("stored").get<bool>());
  EXPECT_TRUE(set.at("foundOnPacs").get<bool>());
  const auto again = s.client().send("POST", "/v1/structure-sets", review.dump(), "application/json", key);
  EXPECT_EQ(again.status, 201U);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  Json other = review;
  other["reviewer"] = "Roe^Richard";
  EXPECT_EQ(s.client().send("POST", "/v1/structure-sets", other.dump(), "application/json", key).status, 422U);
  // one set on the PACS for the slice's series... of structure sets: the one stored
  const client::Pacs pacs(orthanc_->options());
  std::size_t sets = 0;
  for (const auto& series : client::findSeries(pacs, study_)) {
    if (series.seriesInstanceUid == set.at("seriesInstanceUid")) {
      sets += client::findInstances(pacs, study_, series.seriesInstanceUid).size();
    }
  }
  EXPECT_EQ(sets, 1U);
  // a ring along the slice's outer edges is on the slice (pixel-edge rings of a region touching
  // row 0 lie at -0.5); a point beyond is refused before anything is written
  Json edges = review;
  edges["proposals"][0]["rings"] =
      Json::array({{{"hole", false}, {"pixels", {{-0.5, -0.5}, {127.5, -0.5}, {127.5, 127.5}, {-0.5, 127.5}}}}});
  const std::vector<std::pair<std::string, std::string>> key2 = {{"Idempotency-Key", "review-edges"}};
  const auto onEdges = s.client().send("POST", "/v1/structure-sets", edges.dump(), "application/json", key2);
  EXPECT_EQ(onEdges.status, 201U) << onEdges.body;
  Json beyond = edges;
  beyond["proposals"][0]["rings"][0]["pixels"][1] = {127.6, -0.5};
  EXPECT_EQ(s.client().send("POST", "/v1/structure-sets", beyond.dump(), "application/json").status, 422U);
  // a point outside the slice is refused before anything is written
  Json outside = review;
  outside["proposals"][0]["rings"][0]["pixels"][0] = {5000, 1};
  const auto refused = s.client().send("POST", "/v1/structure-sets", outside.dump(), "application/json");
  EXPECT_EQ(refused.status, 422U) << refused.body;
}

TEST_F(ServiceTest, StopFinishesWhatIsInFlightAndRefusesNewWork) {
  auto cfg = config("drain");
  cfg.service.inferenceThreads = 1;
  auto s = std::make_unique<Running>(std::move(cfg));
  s->waitReady();
  std::vector<std::future<service::HttpAnswer>> inFlight;
  inFlight.reserve(4);
  for (int i = 0; i < 4; ++i) {
    inFlight.push_back(std::async(
        std::launch::async, [&] { return s->client().send("POST", "/v1/predict", reference(), "application/json"); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  s->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // new work is refused while the drain runs (or the port is closed once it has ended)
  try {
    const auto late = s->client().send("POST", "/v1/select", R"({"Modality": "MR"})", "application/json");
    EXPECT_EQ(late.status, 503U) << late.body;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PacsUnreachable) << e.what();
  }
  for (auto& f : inFlight) EXPECT_EQ(f.get().status, 200U);
  s.reset();  // run() returned: the destructor's join ends
}

TEST_F(ServiceTest, HttpsWithClientCertificates) {
  const auto pki = test::pkiDir();
  auto cfg = config("https");
  cfg.service.allowAnonymous = false;
  cfg.service.tlsCertificate = pki / "server.pem";
  cfg.service.tlsKey = pki / "server.key";
  cfg.service.tlsClientCa = pki / "ca.pem";
  const auto audit = cfg.client.auditLog;
  service::Service server(std::move(cfg));
  std::thread t([&] { server.run(false); });
  service::ServiceClientOptions o;
  o.url = "https://127.0.0.1:" + std::to_string(server.port());
  o.caFile = pki / "ca.pem";
  o.certificate = pki / "client.pem";
  o.key = pki / "client.key";
  const service::ServiceClient withCert(o);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (withCert.send("GET", "/readyz").status != 200 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto ok = withCert.send("POST", "/v1/predict", reference(), "application/json");
  EXPECT_EQ(ok.status, 200U) << ok.body;
  const auto events = client::readAudit(audit);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().caller, "cert:IODEEP client");
  // without a certificate (and no token): 401
  o.certificate.clear();
  o.key.clear();
  EXPECT_EQ(service::ServiceClient(o).send("POST", "/v1/predict", reference(), "application/json").status, 401U);
  // a client that does not trust the server's CA does not talk to it
  o.caFile = pki / "rogue-ca.pem";
  EXPECT_THROW((void)service::ServiceClient(o).send("GET", "/livez"), Error);
  server.stop();
  t.join();
}

// Build-ahead is bounded by what it tries, not by what it builds: six copies of one network (one
// DnnUID, six SOP Instance UIDs) on the PACS and build_ahead_max 2 cost two retrievals, one build.
TEST_F(ServiceTest, BuildAheadTriesAtMostItsLimitOfCopies) {
  const test::PrivateOrthanc own;
  const auto arch = kSource / "examples/brain-unet/architecture.json";
  const auto weights = kSource / "examples/brain-unet/weights.safetensors";
  std::vector<fs::path> copies;
  for (int i = 0; i < 6; ++i) {
    iod::PackInput in;
    in.architectureJson = iod::readTextFile(arch);
    in.weights = iod::ByteBuffer::mapFile(weights);
    in.name = "Copy";
    in.version = std::to_string(i);
    in.target.modality = "MR";
    in.target.bodyPartExamined = "HEAD";
    copies.push_back(tmp_ / ("copy" + std::to_string(i) + ".dcm"));
    iod::writeIodeep(iod::buildModel(std::move(in)), copies.back());
  }
  EXPECT_EQ(iod::readIodeep(copies.front()).model.dnnUid, iod::readIodeep(copies.back()).model.dnnUid);
  for (const auto& stored : client::Pacs(own.options()).store(copies)) ASSERT_EQ(stored.status, 0U);
  auto c = config("ahead");
  c.client.network = own.options();
  c.client.network.retrieve = client::RetrieveMode::Get;
  c.service.buildAheadMax = 2;
  const Running s(std::move(c));
  s.waitReady();
  const auto metric = [&](const std::string& name) {
    const auto text = s.client().send("GET", "/metrics").body;
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (metric("iodeep_networks_built_ahead_total") < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(metric("iodeep_networks_built_ahead_total"), 1);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // time for more retrievals, were they made
  const double one = static_cast<double>(fs::file_size(copies.front()));
  const double retrieved = metric("iodeep_retrieved_bytes_total");
  EXPECT_GT(retrieved, 1.5 * one);
  EXPECT_LT(retrieved, 2.5 * one);
  EXPECT_EQ(metric("iodeep_networks_listed"), 6);
  EXPECT_EQ(metric("iodeep_network_builds_total"), 1);
}

// The network list is refreshed in the background only while GET /v1/networks uses it: an idle
// service sends the PACS no listing queries (networks_ttl_s 1, so a refresh would be due every
// half second).
TEST_F(ServiceTest, AnIdleServiceDoesNotListTheNetworksAgain) {
  auto c = config("idle");
  c.service.networksTtl = std::chrono::seconds(1);
  const Running s(std::move(c));
  s.waitReady();
  const auto listings = [&] {
    const auto text = s.client().send("GET", "/metrics").body;
    const std::string name = "\niodeep_network_listings_total ";
    const auto at = text.find(name);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + name.size()));
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (listings() < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(listings(), 1);  // the one at start
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(listings(), 1);
  // used: refreshed again in the background (at least once in 2.5 s, without another GET)
  ASSERT_EQ(s.client().send("GET", "/v1/networks").status, 200);
  const int afterGet = listings();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_GT(listings(), afterGet);
}

TEST_F(ServiceTest, ConfigurationIsChecked) {
  const auto bad = [](const std::string& service) {
    try {
      (void)service::parseServiceConfig(
          R"({"cache_dir": "/tmp/x", "outbox_dir": "/tmp/y", "service": )" + service + "}", "test.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(bad(R"({"listen": "nowhere"})").find("service.listen"), std::string::npos);
  EXPECT_NE(bad(R"({"queue_limit": 0})").find("service.queue_limit"), std::string::npos);
  EXPECT_NE(bad(R"({"unknown": 1})").find("service.unknown"), std::string::npos);
  EXPECT_NE(bad(R"({"tls_certificate": "a.pem"})").find("service.tls_key"), std::string::npos);
  const auto c = service::parseServiceConfig(
      R"({"cache_dir": "/tmp/x", "outbox_dir": "/tmp/y", "service": {"listen": "0.0.0.0:9000", "queue_limit": 3}})",
      "test.json");
  EXPECT_EQ(c.service.listenHost, "0.0.0.0");
  EXPECT_EQ(c.service.listenPort, 9000);
  EXPECT_EQ(c.service.queueLimit, 3U);
  // the workstation's "inference_service", written and read back; "service" kept for `iodeep serve`
  const auto ws = client::parseClientConfig(
      R"({"cache_dir": "/tmp/x", "outbox_dir": "/tmp/y", "inference_service": {"url": "https://ai.example:8443",
          "token_file": "/etc/iodeep/token", "ca": "/etc/iodeep/ca.pem"}, "service": {"queue_limit": 3}})",
      "ws.json");
  EXPECT_EQ(ws.inferenceService.url, "https://ai.example:8443");
  const auto again = client::parseClientConfig(client::toJson(ws), "again");
  EXPECT_EQ(again.inferenceService.url, ws.inferenceService.url);
  EXPECT_EQ(again.inferenceService.tokenFile, fs::path("/etc/iodeep/token"));
  EXPECT_EQ(again.inferenceService.caFile, fs::path("/etc/iodeep/ca.pem"));
  EXPECT_EQ(service::parseServiceConfig(client::toJson(again), "again").service.queueLimit, 3U);
  EXPECT_THROW((void)client::parseClientConfig(R"({"inference_service": {"url": "ftp://x"}})", "bad.json"), Error);
  EXPECT_THROW((void)client::parseClientConfig(R"({"inference_service": {"uri": "http://x:1"}})", "bad.json"), Error);
  // anonymous callers only on loopback
  auto anonymous = config("anonymous");
  anonymous.service.listenHost = "0.0.0.0";
  EXPECT_THROW(service::Service{std::move(anonymous)}, Error);
}

}  // namespace
}  // namespace iodeep

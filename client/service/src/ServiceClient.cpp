// The workstation's side of the inference service: HTTP(S) requests, and AI ROI through it.
#include "iodeep/service/ServiceClient.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "Requests.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/workflow/Review.hpp"

namespace iodeep::service {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

template <typename Stream>
HttpAnswer exchange(Stream& stream, const http::request<http::string_body>& request,
                    std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256ULL << 20U);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  HttpAnswer a;
  a.status = res.result_int();
  a.contentType = std::string(res[http::field::content_type]);
  for (const auto& f : res) a.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  a.body = std::move(res.body());
  return a;
}

// The problem detail of an error answer, or its status line.
std::string problemText(const HttpAnswer& a) {
  try {
    const auto j = Json::parse(a.body);
    std::string t = j.value("detail", "");
    if (j.contains("field")) t += " (field " + j.at("field").get<std::string>() + ")";
    if (!t.empty()) return "HTTP " + std::to_string(a.status) + ": " + t;
  } catch (const Json::exception&) {
  }
  return "HTTP " + std::to_string(a.status);
}

}  // namespace

ServiceClientOptions clientOptionsFor(const client::InferenceServiceSettings& settings) {
  ServiceClientOptions o;
  o.url = settings.url;
  o.caFile = settings.caFile;
  if (!settings.tokenFile.empty()) {
    o.token = iod::readTextFile(settings.tokenFile, 4096);
    while (!o.token.empty() && std::isspace(static_cast<unsigned char>(o.token.back())) != 0) o.token.pop_back();
    if (o.token.empty()) {
      throw Error(ErrorCode::InvalidArgument, "the service's token file is empty",
                  ErrorContext{.file = settings.tokenFile.string()});
    }
  }
  return o;
}

std::string HttpAnswer::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
        })) {
      return v;
    }
  }
  return {};
}

ServiceClient::ServiceClient(ServiceClientOptions options) : options_(std::move(options)) {
  std::string rest;
  if (options_.url.rfind("http://", 0) == 0) {
    rest = options_.url.substr(7);
  } else if (options_.url.rfind("https://", 0) == 0) {
    rest = options_.url.substr(8);
    https_ = true;
  } else {
    throw Error(ErrorCode::InvalidArgument, "the service URL must start with http:// or https://: " + options_.url);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (rest.empty() || rest.find('/') != std::string::npos || colon == std::string::npos || colon == 0 ||
      colon + 1 == rest.size() || rest.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "the service URL must be http(s)://host:port: " + options_.url);
  }
  host_ = rest.substr(0, colon);
  if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
  port_ = rest.substr(colon + 1);
}

HttpAnswer ServiceClient::send(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& contentType,
                               const std::vector<std::pair<std::string, std::string>>& headers) const {
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "iodeep");
  if (!options_.token.empty()) req.set(http::field::authorization, "Bearer " + options_.token);
  if (!contentType.empty()) req.set(http::field::content_type, contentType);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  req.keep_alive(false);
  const std::string where = options_.url + target;
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) throw Error(ErrorCode::PacsUnreachable, "the inference service " + options_.url + ": " + ec.message());
  try {
    if (!https_) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(options_.timeout);
      stream.connect(endpoints, ec);
      if (ec) {
        throw Error(ErrorCode::PacsUnreachable,
                    "the inference service " + options_.url + " cannot be reached: " + ec.message());
      }
      auto a = exchange(stream, req, options_.timeout);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      return a;
    }
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (options_.caFile.empty()) {
      ctx.set_default_verify_paths();
    } else {
      ctx.load_verify_file(options_.caFile.string(), ec);
      if (ec) {
        throw Error(ErrorCode::FileNotFound, "cannot read the service's CA: " + ec.message(),
                    ErrorContext{.file = options_.caFile.string()});
      }
    }
    if (!options_.certificate.empty()) {
      ctx.use_certificate_chain_file(options_.certificate.string(), ec);
      if (!ec) ctx.use_private_key_file(options_.key.string(), ssl::context::pem, ec);
      if (ec) {
        throw Error(ErrorCode::FileNotFound, "cannot use the client certificate for the service: " + ec.message(),
                    ErrorContext{.file = options_.certificate.string()});
      }
    }
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    stream.set_verify_callback(ssl::host_name_verification(host_));
    // SNI (SSL_set_tlsext_host_name without its C cast)
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host_.c_str())) != 1) {
      throw Error(ErrorCode::TlsFailure, "cannot set the service's host name for TLS");
    }
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    beast::get_lowest_layer(stream).connect(endpoints, ec);
    if (ec) {
      throw Error(ErrorCode::PacsUnreachable,
                  "the inference service " + options_.url + " cannot be reached: " + ec.message());
    }
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) throw Error(ErrorCode::TlsFailure, "TLS with the inference service " + options_.url + ": " + ec.message());
    auto a = exchange(stream, req, options_.timeout);
    stream.shutdown(ec);
    return a;
  } catch (const beast::system_error& e) {
    throw Error(ErrorCode::NetworkError, "the inference service " + where + ": " + e.code().message());
  }
}

namespace {

// POST /v1/predict by reference, retried while the service is busy or a worker is lost.
HttpAnswer requestPrediction(const ServiceClient& service, const client::InstanceInfo& slice, std::int32_t frame) {
  const Json body = {{"study", slice.studyInstanceUid},
                     {"series", slice.seriesInstanceUid},
                     {"instance", slice.sopInstanceUid},
                     {"frame", frame}};
  HttpAnswer a;
  // by reference, a prediction is safe to send again: a busy or lost worker is retried
  for (unsigned attempt = 0;; ++attempt) {
    bool retry = false;
    try {
      a = service.send("POST", "/v1/predict", body.dump(), "application/json");
      retry = a.status == 503 || a.status == 502 || a.status == 504;
    } catch (const Error& e) {
      if (attempt >= service.options().retries || e.code() == ErrorCode::TlsFailure) throw;
      retry = true;
    }
    if (!retry || attempt >= service.options().retries) break;
    const auto after = a.header("Retry-After");
    const int seconds = after.empty() || after.find_first_not_of("0123456789") != std::string::npos || after.size() > 2
                            ? 1
                            : std::stoi(after);
    std::this_thread::sleep_for(std::chrono::milliseconds(250) * (attempt + 1) + std::chrono::seconds(seconds - 1));
  }
  return a;
}

// The answer as predict() would give it, the geometry from the workstation's own copy of the slice.
ServicePrediction parsePrediction(const ServiceClient& service, const HttpAnswer& a, const client::InstanceInfo& slice,
                                  const fs::path& sliceFile, std::int32_t frame) {
  if (a.status == 422) {
    const auto j = Json::parse(a.body, nullptr, false);
    if (j.is_object() && j.value("code", "") == "NoMatch") {
      ServicePrediction none;
      none.matched = false;
      none.selection = j.contains("selection") ? j.at("selection").dump() : "{}";
      return none;
    }
  }
  if (a.status != 200) {
    throw Error(a.status == 401 || a.status == 403 ? ErrorCode::NetworkError
                : a.status == 404                  ? ErrorCode::DimseFailure
                                                   : ErrorCode::NetworkError,
                "the inference service refused the prediction: " + problemText(a),
                ErrorContext{.uid = slice.sopInstanceUid, .peer = service.options().url});
  }
  client::PredictResult r;
  Json j;
  try {
    j = Json::parse(a.body);
    r.proposals = detail::proposalsOf(a.body);
    const auto& n = j.at("network");
    r.dnnName = n.at("name").get<std::string>();
    r.dnnVersion = n.value("version", "");
    r.dnnUid = n.at("dnnUid").get<std::string>();
    r.modelSopInstanceUid = n.value("sopInstanceUid", "");
    r.networkFromCache = n.value("fromCache", false);
    if (n.contains("signature")) {
      const auto& s = n.at("signature");
      r.trust.status = s.value("status", "");
      r.trust.signer = s.value("signer", "");
      r.trust.signerFingerprint = s.value("fingerprint", "");
      r.trust.reason = s.value("reason", "");
      r.trust.trusted = true;  // the service ran it under its trust policy
    }
    const auto& t = j.at("timingsMs");
    r.timings.decodeMs = t.value("decode", 0.0);
    r.timings.preprocessMs = t.value("preprocess", 0.0);
    r.timings.forwardMs = t.value("forward", 0.0);
    r.timings.postprocessMs = t.value("postprocess", 0.0);
    r.timings.contourMs = t.value("contours", 0.0);
    if (j.at("slice").at("sopInstanceUid").get<std::string>() != slice.sopInstanceUid) {
      throw Error(ErrorCode::NetworkError, "the inference service answered for another slice",
                  ErrorContext{.uid = slice.sopInstanceUid, .peer = service.options().url});
    }
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::NetworkError, std::string("the inference service's answer is malformed: ") + e.what(),
                ErrorContext{.peer = service.options().url});
  } catch (const detail::RequestError& e) {
    throw Error(ErrorCode::NetworkError,
                std::string("the inference service's answer is malformed: ") + e.what() + " (" + e.field + ")",
                ErrorContext{.peer = service.options().url});
  }
  // the geometry for the structure set: the workstation's own copy of the slice
  r.slice = iod::readSlice(sliceFile, frame);
  const auto rows = static_cast<std::int64_t>(r.slice.attributes.rows);
  const auto columns = static_cast<std::int64_t>(r.slice.attributes.columns);
  try {
    detail::checkProposals(r.proposals, rows, columns);
  } catch (const detail::RequestError& e) {
    throw Error(
        ErrorCode::NetworkError,
        std::string("the inference service's proposals do not fit the slice: ") + e.what() + " (" + e.field + ")",
        ErrorContext{.peer = service.options().url});
  }
  ServicePrediction out;
  out.result = std::move(r);
  out.server = j.contains("server") ? j.at("server").dump() : "{}";
  out.selection = j.contains("selection") ? j.at("selection").dump() : "{}";
  return out;
}

}  // namespace

ServicePrediction predictViaService(const ServiceClient& service, const client::InstanceInfo& slice,
                                    const fs::path& sliceFile, std::int32_t frame) {
  return parsePrediction(service, requestPrediction(service, slice, frame), slice, sliceFile, frame);
}

ServiceRoiResult runRoiViaService(client::Workstation& ws, const ServiceClient& service,
                                  const client::RoiOptions& options) {
  const auto start = Clock::now();
  if (options.slices.instances.empty()) throw Error(ErrorCode::InvalidArgument, "no instance given (--instance UID)");
  if (options.signing) iod::checkSigningCredentials(*options.signing);  // before anything moves, as runRoi
  ServiceRoiResult r;
  r.service = service.options().url;
  const client::Pacs& pacs = ws.pacs();
  auto t = Clock::now();
  std::vector<client::InstanceInfo> instances;
  for (const auto& uid : options.slices.instances) {
    instances.push_back(client::locateInstance(pacs, uid, options.slices.studyUid, options.slices.seriesUid));
    if (instances.back().seriesInstanceUid != instances.front().seriesInstanceUid) {
      throw Error(ErrorCode::InvalidArgument,
                  "the instance is not in the series of " + instances.front().sopInstanceUid +
                      " (one structure set covers the slices of one series)",
                  ErrorContext{.uid = uid});
    }
  }
  r.locateMs = msSince(t);
  const iod::TemporaryDirectory work(ws.config().cacheDir.parent_path(), "roi-service-");
  // the service predicts while the workstation retrieves its own copy of each slice (the
  // structure set's geometry and references)
  t = Clock::now();
  std::vector<std::future<HttpAnswer>> answers;
  answers.reserve(instances.size());
  for (const auto& inst : instances) {
    answers.push_back(std::async(std::launch::async, [&service, &inst, frame = options.slices.frame] {
      return requestPrediction(service, inst, frame);
    }));
  }
  const auto t0 = Clock::now();
  std::vector<fs::path> files;
  std::exception_ptr retrieveError;
  try {
    for (const auto& inst : instances) {
      const std::vector<std::string> classes =
          inst.sopClassUid.empty() ? std::vector<std::string>{} : std::vector<std::string>{inst.sopClassUid};
      files.push_back(pacs.retrieve(client::QueryLevel::Image, inst.studyInstanceUid, inst.seriesInstanceUid,
                                    inst.sopInstanceUid, work.path(), classes)
                          .files.front());
    }
  } catch (...) {
    retrieveError = std::current_exception();
  }
  r.sliceRetrieveMs = msSince(t0);
  for (auto& a : answers) a.wait();  // no request outlives what it refers to
  if (retrieveError) std::rethrow_exception(retrieveError);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    auto p = parsePrediction(service, answers[i].get(), instances[i], files[i], options.slices.frame);
    if (!p.matched) {
      r.matched = false;
      r.noMatchDetail =
          "no IODeep network on the PACS matches the slice (the service's selection: " + p.selection + ")";
      continue;
    }
    r.predictions.push_back(std::move(p.result));
    r.serverTimings.push_back(std::move(p.server));
  }
  r.serviceMs = msSince(t);
  if (!r.matched) {
    r.predictions.clear();
    r.totalMs = msSince(start);
    return r;
  }
  const std::string reviewer = options.reviewer.empty() ? ws.config().reviewer : options.reviewer;
  auto decision = client::reviewDecisionFor(r.predictions, options, reviewer);
  decision.format = options.format;
  r.approved = decision.approved;
  if (!r.approved.empty() || !decision.drawn.empty() || options.storeRejected) {
    const auto stored = client::storeReview(ws, r.predictions, decision, options.storeRejected, options.signing);
    r.approvedSet = stored.approvedSet;
    r.rejectedSet = stored.rejectedSet;
    r.originalSet = stored.originalSet;
    r.approvedSeg = stored.approvedSeg;
    r.rejectedSeg = stored.rejectedSeg;
    r.originalSeg = stored.originalSeg;
    r.rtstructMs = stored.rtstructMs;
    r.storeMs = stored.storeMs;
  }
  r.totalMs = msSince(start);
  return r;
}

int ServiceRoiResult::exitCode() const noexcept {
  if (!matched) return kExitNoMatch;
  for (const auto* s : {&originalSet, &approvedSet, &rejectedSet, &originalSeg, &approvedSeg, &rejectedSeg}) {
    if (*s && !(*s)->stored) return kExitPacs;
  }
  return kExitOk;
}

std::string ServiceRoiResult::toText() const {
  std::ostringstream o;
  o << "service:   " << service << "\n";
  if (!matched) {
    o << noMatchDetail << "\n";
    return o.str();
  }
  const auto& first = predictions.front();
  o << "network:   " << first.dnnName << (first.dnnVersion.empty() ? "" : " " + first.dnnVersion) << " (DnnUID "
    << first.dnnUid << "), run by the service\n";
  std::size_t n = 0;
  for (const auto& p : predictions) {
    o << "slice:     " << p.slice.attributes.sopInstanceUid << ": " << p.proposals.size() << " proposal(s)\n";
    for (const auto& prop : p.proposals) {
      const bool yes = std::find(approved.begin(), approved.end(), n) != approved.end();
      o << "  " << ++n << ". " << prop.label.name << ": " << prop.areaPixels << " px"
        << (yes ? ", approved" : ", not approved") << "\n";
    }
  }
  for (const auto* s : {&originalSet, &approvedSet, &rejectedSet, &originalSeg, &approvedSeg, &rejectedSeg}) {
    if (!*s) continue;
    const auto& set = **s;
    const bool seg = s == &originalSeg || s == &approvedSeg || s == &rejectedSeg;
    o << "stored:    " << set.approvalStatus << (seg ? " Segmentation " : " RT Structure Set ") << set.sopInstanceUid
      << ": "
      << (set.stored ? "stored on the PACS" + std::string(set.foundOnPacs ? ", found there by C-FIND" : "")
                     : "NOT stored (" + set.storeError + "), waiting in the outbox: " + set.outboxFile.string())
      << "\n";
  }
  o << "timings:   locate " << std::llround(locateMs) << " ms, slice retrieval " << std::llround(sliceRetrieveMs)
    << " ms, service " << std::llround(serviceMs) << " ms, RT Structure Set " << std::llround(rtstructMs)
    << " ms, store " << std::llround(storeMs) << " ms, total " << std::llround(totalMs) << " ms\n";
  return o.str();
}

std::string ServiceRoiResult::toJson() const {
  Json j;
  j["service"] = service;
  j["matched"] = matched;
  Json slices = Json::array();
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    Json s = Json::parse(predictions[i].toJson());
    s["server"] = Json::parse(serverTimings.at(i));
    slices.push_back(std::move(s));
  }
  j["predictions"] = slices;
  j["approved"] = approved;
  const auto set = [](const std::optional<client::StoredSet>& s) -> Json {
    if (!s) return nullptr;
    Json x = {{"sopInstanceUid", s->sopInstanceUid},
              {"seriesInstanceUid", s->seriesInstanceUid},
              {"approvalStatus", s->approvalStatus},
              {"stored", s->stored},
              {"foundOnPacs", s->foundOnPacs}};
    if (!s->stored) {
      x["storeError"] = s->storeError;
      x["outboxFile"] = s->outboxFile.string();
    }
    return x;
  };
  j["approvedSet"] = set(approvedSet);
  j["rejectedSet"] = set(rejectedSet);
  j["originalSet"] = set(originalSet);
  for (const auto& [key, s] : {std::pair{"approvedSeg", &approvedSeg}, std::pair{"rejectedSeg", &rejectedSeg},
                               std::pair{"originalSeg", &originalSeg}}) {
    if (*s) j[key] = set(*s);
  }
  j["timingsMs"] = {{"locate", locateMs},   {"sliceRetrieve", sliceRetrieveMs},
                    {"service", serviceMs}, {"rtstruct", rtstructMs},
                    {"store", storeMs},     {"total", totalMs}};
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::service

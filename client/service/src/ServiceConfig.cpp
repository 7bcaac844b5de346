// The client configuration with its "service" object (docs/service.md, "Configuration").
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/service/Service.hpp"

namespace iodeep::service {

namespace {

using Json = nlohmann::json;

// "host:port" (IPv6 in brackets); port 0 allowed (a free one).
void parseListen(const std::string& text, ServiceOptions& o, const std::function<Error(std::string)>& fail) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw fail("'" + text + "' is not [address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) throw fail("'" + text + "' is not host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    throw fail("the port of '" + text + "' is not 0-65535");
  }
  o.listenHost = host;
  o.listenPort = static_cast<std::uint16_t>(std::stoul(port));
}

ServiceOptions parseOptions(const Json& s, const std::string& source) {
  ServiceOptions o;
  const auto fail = [&](const std::string& key) {
    return [&source, key](const std::string& what) {
      return Error(ErrorCode::InvalidArgument, "service." + key + ": " + what, ErrorContext{.file = source});
    };
  };
  if (!s.is_object()) throw fail("")("is not an object");
  const auto count = [&](const char* key, std::uint64_t min, std::uint64_t max) -> std::uint64_t {
    const auto& v = s.at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > max) {
      throw fail(key)("must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return v.get<std::uint64_t>();
  };
  const auto text = [&](const char* key) -> std::string {
    const auto& v = s.at(key);
    if (!v.is_string()) throw fail(key)("must be a string");
    return v.get<std::string>();
  };
  const auto flag = [&](const char* key) -> bool {
    const auto& v = s.at(key);
    if (!v.is_boolean()) throw fail(key)("must be true or false");
    return v.get<bool>();
  };
  for (const auto& [key, value] : s.items()) {
    if (key == "listen") {
      parseListen(text("listen"), o, fail("listen"));
    } else if (key == "io_threads") {
      o.ioThreads = static_cast<unsigned>(count("io_threads", 1, 256));
    } else if (key == "inference_threads") {
      o.inferenceThreads = static_cast<unsigned>(count("inference_threads", 1, 64));
    } else if (key == "queue_limit") {
      o.queueLimit = count("queue_limit", 1, 100000);
    } else if (key == "deadline_ms") {
      o.deadline = std::chrono::milliseconds(count("deadline_ms", 100, 3600000));
    } else if (key == "max_body_mb") {
      o.maxBodyBytes = count("max_body_mb", 1, 4096) << 20U;
    } else if (key == "idle_timeout_ms") {
      o.idleTimeout = std::chrono::milliseconds(count("idle_timeout_ms", 100, 3600000));
    } else if (key == "tokens_file") {
      o.tokensFile = text("tokens_file");
    } else if (key == "tls_certificate") {
      o.tlsCertificate = text("tls_certificate");
    } else if (key == "tls_key") {
      o.tlsKey = text("tls_key");
    } else if (key == "tls_client_ca") {
      o.tlsClientCa = text("tls_client_ca");
    } else if (key == "allow_anonymous") {
      o.allowAnonymous = flag("allow_anonymous");
    } else if (key == "work_dir") {
      o.workDir = text("work_dir");
    } else if (key == "idempotency_dir") {
      o.idempotencyDir = text("idempotency_dir");
    } else if (key == "networks_ttl_s") {
      o.networksTtl = std::chrono::seconds(count("networks_ttl_s", 1, 86400));
    } else if (key == "build_ahead") {
      o.buildAhead = flag("build_ahead");
    } else if (key == "build_ahead_max") {
      o.buildAheadMax = count("build_ahead_max", 0, 1000);
    } else {
      throw fail(key)("unknown key (docs/service.md lists the keys)");
    }
    (void)value;
  }
  if (o.tlsCertificate.empty() != o.tlsKey.empty()) {
    throw fail("tls_key")("HTTPS needs both tls_certificate and tls_key");
  }
  if (!o.tlsClientCa.empty() && o.tlsCertificate.empty()) {
    throw fail("tls_client_ca")("client certificates need HTTPS (tls_certificate, tls_key)");
  }
  return o;
}

}  // namespace

ServiceConfig parseServiceConfig(const std::string& json, const std::string& source) {
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number too large
    throw Error(ErrorCode::InvalidJson, e.what(), ErrorContext{.file = source});
  }
  if (!j.is_object())
    throw Error(ErrorCode::InvalidJson, "the configuration is not a JSON object", ErrorContext{.file = source});
  ServiceConfig c;
  c.client = client::parseClientConfig(j.dump(), source);
  if (j.contains("service")) c.service = parseOptions(j.at("service"), source);
  if (const char* p = std::getenv("IODEEP_TLS_KEY_PASSPHRASE")) c.client.network.tls.privateKeyPassphrase = p;
  return c;
}

ServiceConfig loadServiceConfig(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  if (file.empty()) {
    if (const char* env = std::getenv("IODEEP_CONFIG"); env != nullptr && *env != '\0') file = env;
  }
  if (file.empty()) {
    ServiceConfig c;
    c.client = client::loadClientConfig();  // the standard file, when there is one
    if (!c.client.serviceSection.empty())
      c.service = parseOptions(Json::parse(c.client.serviceSection), c.client.source.string());
    return c;
  }
  return parseServiceConfig(iod::readTextFile(file), file.string());
}

}  // namespace iodeep::service

#include "iodeep/workflow/ClientConfig.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"

namespace iodeep::client {

namespace {

std::filesystem::path envPath(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::filesystem::path(v) : std::filesystem::path();
}

// $<variable>, else $HOME/<fallback>; nothing when neither is set (never a shared directory
// such as /tmp in their place).
std::filesystem::path xdg(const char* variable, const char* fallback) {
  auto p = envPath(variable);
  if (!p.empty()) return p;
  const auto home = envPath("HOME");
  return home.empty() ? std::filesystem::path() : home / fallback;
}

// A default location, asked for only when nothing names it (@p what; @p instead: what would).
std::filesystem::path placeDefault(const char* variable, const char* fallback, const char* what, const char* instead) {
  auto p = xdg(variable, fallback);
  if (p.empty()) {
    throw Error(ErrorCode::InvalidArgument, std::string("no place for ") + what + ": neither $" + variable +
                                                " nor $HOME is set (set one of them, or " + instead + ")");
  }
  return p;
}

// A secret on the first line of @p file (the line end and trailing blanks removed).
std::string readSecret(const std::filesystem::path& file, const std::string& key) {
  std::string text;
  try {
    text = iod::readTextFile(file);
  } catch (Error& e) {
    throw Error(e.code(), "'dicomweb." + key + "' cannot be read", ErrorContext{.file = file.string()});
  }
  text = text.substr(0, text.find_first_of("\r\n"));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  if (text.empty())
    throw Error(ErrorCode::InvalidArgument, "'dicomweb." + key + "' is empty", ErrorContext{.file = file.string()});
  return text;
}

// DICOMweb secrets from the environment win over the files'.
void webSecretsFromEnvironment(NetworkOptions& n) {
  if (const char* p = std::getenv("IODEEP_DICOMWEB_PASSWORD"); p != nullptr && *p != '\0')
    n.web.password = p;  // NOLINT(concurrency-mt-unsafe)
  if (const char* t = std::getenv("IODEEP_DICOMWEB_TOKEN"); t != nullptr && *t != '\0')
    n.web.bearerToken = t;  // NOLINT(concurrency-mt-unsafe)
}

// The passphrase of an encrypted TLS key comes from the environment, never from the file.
std::string passphrase() {
  const char* v = std::getenv("IODEEP_TLS_KEY_PASSPHRASE");
  return v != nullptr ? std::string(v) : std::string();
}

// The default directories of what @p given (the configuration's JSON object) does not name.
// Throws Error(InvalidArgument) naming the key when one is needed and has no place.
void placeDefaults(ClientConfig& c, const nlohmann::json& given) {
  if (!given.contains("cache_dir")) {
    c.cacheDir = placeDefault("XDG_CACHE_HOME", ".cache", "the model cache", "'cache_dir' in the configuration") /
                 "iodeep" / "models";
  }
  if (!given.contains("outbox_dir")) {
    c.outboxDir = placeDefault("XDG_DATA_HOME", ".local/share", "the outbox", "'outbox_dir' in the configuration") /
                  "iodeep" / "outbox";
  }
  if (!given.contains("image_cache_dir")) {
    c.imageCacheDir =
        placeDefault("XDG_CACHE_HOME", ".cache", "the image cache", "'image_cache_dir' in the configuration") /
        "iodeep" / "images";
  }
  if (!given.contains("audit_log")) {
    c.auditLog = placeDefault("XDG_DATA_HOME", ".local/share", "the audit log", "'audit_log' in the configuration") /
                 "iodeep" / "audit.log";
  }
}

// The "tls" object (docs/pacs-workflow.md): the same rules as the top level, keys under /tls/.
template <typename Fail>
TlsOptions parseTls(const nlohmann::json& j, const Fail& fail) {
  if (!j.is_object()) throw fail("tls", "'tls' must be an object");
  static const std::set<std::string> known = {"enabled", "certificate", "private_key", "trusted_certificates",
                                              "verify_peer"};
  for (const auto& [key, value] : j.items()) {
    if (known.count(key) == 0) throw fail("tls/" + key, "unknown key 'tls." + key + "'");
  }
  const auto boolean = [&](const char* key) {
    if (!j.at(key).is_boolean())
      throw fail(std::string("tls/") + key, std::string("'tls.") + key + "' must be true or false");
    return j.at(key).get<bool>();
  };
  const auto path = [&](const nlohmann::json& v, const std::string& pointer) -> std::filesystem::path {
    if (!v.is_string() || v.get<std::string>().empty()) throw fail(pointer, "'" + pointer + "' must be a file path");
    return v.get<std::string>();
  };
  TlsOptions t;
  if (j.contains("enabled")) t.enabled = boolean("enabled");
  if (j.contains("certificate")) t.certificate = path(j.at("certificate"), "tls/certificate");
  if (j.contains("private_key")) t.privateKey = path(j.at("private_key"), "tls/private_key");
  if (j.contains("trusted_certificates")) {
    const auto& list = j.at("trusted_certificates");
    if (!list.is_array())
      throw fail("tls/trusted_certificates", "'tls.trusted_certificates' must be an array of paths");
    for (std::size_t i = 0; i < list.size(); ++i) {
      t.trustedCertificates.push_back(path(list[i], "tls/trusted_certificates/" + std::to_string(i)));
    }
  }
  if (j.contains("verify_peer")) t.verifyPeer = boolean("verify_peer");
  return t;
}

}  // namespace

ClientConfig parseClientConfig(const std::string& text, const std::string& source) {
  ClientConfig c;
  const nlohmann::json j = iod::parseJson(text, source);
  const auto fail = [&](const std::string& key, const std::string& what) -> Error {
    return Error(ErrorCode::InvalidArgument, what, ErrorContext{.file = source, .pointer = "/" + key});
  };
  if (!j.is_object()) throw fail("", "the configuration must be a JSON object");
  static const std::set<std::string> known = {"pacs",
                                              "aet",
                                              "retrieve",
                                              "move_port",
                                              "move_aet",
                                              "max_pdu",
                                              "connect_timeout",
                                              "dimse_timeout",
                                              "find_deadline",
                                              "max_find_results",
                                              "move_from_host",
                                              "allow_torchscript",
                                              "cache_dir",
                                              "cache_max_mb",
                                              "outbox_dir",
                                              "engine_max_mb",
                                              "image_cache_dir",
                                              "image_cache_max_mb",
                                              "reviewer",
                                              "require_signed_networks",
                                              "trusted_signers",
                                              "audit_log",
                                              "discovery_cache_dir",
                                              "discovery_max_age",
                                              "discovery_rebuild_age",
                                              "tls",
                                              "dicomweb",
                                              "result_format",
                                              "inference_service",
                                              "signing",
                                              "service",
                                              "comment"};
  for (const auto& [key, value] : j.items()) {
    if (known.count(key) == 0) throw fail(key, "unknown key '" + key + "'");
  }
  const auto str = [&](const char* key) -> std::string {
    const auto& v = j.at(key);
    if (!v.is_string()) throw fail(key, std::string("'") + key + "' must be a string");
    return v.get<std::string>();
  };
  const auto integer = [&](const char* key, std::uint64_t min, std::uint64_t max) -> std::uint64_t {
    const auto& v = j.at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > max) {
      throw fail(key, std::string("'") + key + "' must be an integer in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
    }
    return v.get<std::uint64_t>();
  };
  try {
    if (j.contains("pacs")) c.network.pacs = Peer::parse(str("pacs"));
    if (j.contains("aet")) c.network.callingAeTitle = str("aet");
    if (j.contains("retrieve")) {
      const auto r = str("retrieve");
      if (r != "move" && r != "get") throw fail("retrieve", "'retrieve' must be \"move\" or \"get\"");
      c.network.retrieve = r == "move" ? RetrieveMode::Move : RetrieveMode::Get;
    }
    if (j.contains("move_port")) c.network.movePort = static_cast<std::uint16_t>(integer("move_port", 1, 65535));
    if (j.contains("move_aet")) c.network.moveAeTitle = str("move_aet");
    if (j.contains("max_pdu")) c.network.maxPdu = static_cast<std::uint32_t>(integer("max_pdu", 4096, 131072));
    if (j.contains("connect_timeout")) {
      c.network.connectTimeoutSeconds = static_cast<std::uint32_t>(integer("connect_timeout", 1, 3600));
    }
    if (j.contains("dimse_timeout")) {
      c.network.dimseTimeoutSeconds = static_cast<std::uint32_t>(integer("dimse_timeout", 1, 86400));
    }
    if (j.contains("find_deadline")) {
      c.network.findDeadlineSeconds = static_cast<std::uint32_t>(integer("find_deadline", 1, 86400));
    }
    if (j.contains("max_find_results")) {
      c.network.maxFindResults = static_cast<std::uint32_t>(integer("max_find_results", 1, 10000000));
    }
    if (j.contains("move_from_host")) c.network.moveFromHost = str("move_from_host");
    if (j.contains("allow_torchscript")) {
      if (!j.at("allow_torchscript").is_boolean()) throw fail("allow_torchscript", "must be true or false");
      c.allowTorchScript = j.at("allow_torchscript").get<bool>();
    }
    if (j.contains("cache_dir")) c.cacheDir = str("cache_dir");
    if (j.contains("cache_max_mb")) c.cacheMaxBytes = integer("cache_max_mb", 1, 1U << 24U) << 20U;
    if (j.contains("outbox_dir")) c.outboxDir = str("outbox_dir");
    if (j.contains("engine_max_mb")) c.engineMaxBytes = integer("engine_max_mb", 1, 1U << 24U) << 20U;
    if (j.contains("image_cache_dir")) c.imageCacheDir = str("image_cache_dir");
    if (j.contains("image_cache_max_mb")) {
      c.imageCacheMaxBytes = integer("image_cache_max_mb", 1, 1U << 24U) << 20U;
    }
    if (j.contains("reviewer")) c.reviewer = str("reviewer");
    if (j.contains("require_signed_networks")) {
      if (!j.at("require_signed_networks").is_boolean()) throw fail("require_signed_networks", "must be true or false");
      c.trust.requireSignedNetworks = j.at("require_signed_networks").get<bool>();
    }
    if (j.contains("trusted_signers")) {
      const auto& list = j.at("trusted_signers");
      if (!list.is_array()) throw fail("trusted_signers", "'trusted_signers' must be an array of paths");
      for (const auto& item : list) {
        if (!item.is_string() || item.get<std::string>().empty()) {
          throw fail("trusted_signers", "'trusted_signers' must be an array of paths (PEM files or directories)");
        }
        c.trust.anchors.certificates.emplace_back(item.get<std::string>());
      }
    }
    if (c.trust.requireSignedNetworks && c.trust.anchors.certificates.empty()) {
      throw fail("trusted_signers",
                 "'require_signed_networks' needs 'trusted_signers' (the signer or CA certificates to trust)");
    }
    if (j.contains("audit_log")) c.auditLog = str("audit_log");
    if (j.contains("inference_service")) {
      const auto& s = j.at("inference_service");
      if (!s.is_object()) throw fail("inference_service", "'inference_service' must be an object");
      for (const auto& [key, value] : s.items()) {
        if (key != "url" && key != "token_file" && key != "ca") {
          throw fail("inference_service/" + key, "unknown key 'inference_service." + key + "'");
        }
        if (!value.is_string())
          throw fail("inference_service/" + key, "'inference_service." + key + "' must be a string");
      }
      c.inferenceService.url = s.value("url", "");
      c.inferenceService.tokenFile = s.value("token_file", "");
      c.inferenceService.caFile = s.value("ca", "");
      if (!c.inferenceService.url.empty() && c.inferenceService.url.rfind("http://", 0) != 0 &&
          c.inferenceService.url.rfind("https://", 0) != 0) {
        throw fail("inference_service/url", "'inference_service.url' must start with http:// or https://");
      }
    }
    if (j.contains("signing")) {
      const auto& s = j.at("signing");
      if (!s.is_object()) throw fail("signing", "'signing' must be an object");
      for (const auto& [key, value] : s.items()) {
        if (key != "key" && key != "certificate" && key != "passphrase_file") {
          throw fail("signing/" + key, "unknown key 'signing." + key + "'");
        }
        if (!value.is_string()) throw fail("signing/" + key, "'signing." + key + "' must be a string");
      }
      c.signing.key = s.value("key", "");
      c.signing.certificate = s.value("certificate", "");
      c.signing.passphraseFile = s.value("passphrase_file", "");
      if (c.signing.key.empty() != c.signing.certificate.empty()) {
        throw fail("signing", "'signing' needs both 'key' and 'certificate'");
      }
    }
    if (j.contains("service")) {
      if (!j.at("service").is_object()) throw fail("service", "'service' must be an object (docs/service.md)");
      c.serviceSection = j.at("service").dump();
    }
    if (j.contains("discovery_cache_dir")) {
      c.discoveryCacheDir = str("discovery_cache_dir");
      if (c.discoveryCacheDir.empty())
        throw fail("discovery_cache_dir", "'discovery_cache_dir' must be a directory path");
    }
    if (j.contains("discovery_max_age")) {
      c.discoveryMaxAgeSeconds = static_cast<std::uint32_t>(integer("discovery_max_age", 0, 31536000));
    }
    if (j.contains("discovery_rebuild_age")) {
      c.discoveryRebuildAgeSeconds = static_cast<std::uint32_t>(integer("discovery_rebuild_age", 1, 31536000));
    }
    if (j.contains("tls")) c.network.tls = parseTls(j.at("tls"), fail);
    if (j.contains("result_format")) {
      c.resultFormat = str("result_format");
      if (c.resultFormat != "rtstruct" && c.resultFormat != "seg" && c.resultFormat != "both") {
        throw fail("result_format", "'result_format' must be \"rtstruct\", \"seg\" or \"both\"");
      }
    }
    if (j.contains("dicomweb")) {
      const auto& w = j.at("dicomweb");
      if (!w.is_object()) throw fail("dicomweb", "'dicomweb' must be an object");
      for (const auto& [key, value] : w.items()) {
        if (key == "max_retrieve_mb") {
          if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
              value.get<std::uint64_t>() > (1U << 24U)) {
            throw fail("dicomweb/max_retrieve_mb", "'dicomweb.max_retrieve_mb' must be an integer in [1, 16777216]");
          }
          c.network.web.maxRetrieveBytes = value.get<std::uint64_t>() << 20U;
          continue;
        }
        if (key != "user" && key != "password_file" && key != "token_file") {
          throw fail("dicomweb/" + key,
                     "unknown key 'dicomweb." + key + "' (secrets go in files: password_file, token_file)");
        }
        if (!value.is_string()) throw fail("dicomweb/" + key, "'dicomweb." + key + "' must be a string");
      }
      c.dicomweb.user = w.value("user", "");
      c.dicomweb.passwordFile = w.value("password_file", "");
      c.dicomweb.tokenFile = w.value("token_file", "");
      c.network.web.user = c.dicomweb.user;
      if (!c.dicomweb.passwordFile.empty())
        c.network.web.password = readSecret(c.dicomweb.passwordFile, "password_file");
      if (!c.dicomweb.tokenFile.empty()) c.network.web.bearerToken = readSecret(c.dicomweb.tokenFile, "token_file");
    }
    placeDefaults(c, j);
  } catch (Error& e) {
    e.inFile(source);
    throw;
  }
  c.source = source;
  return c;
}

ClientConfig loadClientConfig(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  if (file.empty()) file = envPath("IODEEP_CONFIG");
  if (file.empty()) {
    // without $XDG_CONFIG_HOME and $HOME there is no standard file: the defaults
    const auto config = xdg("XDG_CONFIG_HOME", ".config");
    const auto standard = config.empty() ? config : config / "iodeep" / "client.json";
    std::error_code ec;
    if (standard.empty() || !std::filesystem::exists(standard, ec)) {
      ClientConfig c;
      placeDefaults(c, nlohmann::json::object());
      c.network.tls.privateKeyPassphrase = passphrase();
      webSecretsFromEnvironment(c.network);
      return c;
    }
    file = standard;
  }
  auto c = parseClientConfig(iod::readTextFile(file), file.string());
  c.network.tls.privateKeyPassphrase = passphrase();
  webSecretsFromEnvironment(c.network);
  return c;
}

std::string toJson(const ClientConfig& config, const std::string& comment) {
  const auto& n = config.network;
  nlohmann::ordered_json j;
  if (!comment.empty()) j["comment"] = comment;
  if (!n.pacs.aeTitle.empty() || n.pacs.isWeb()) j["pacs"] = n.pacs.toString();
  j["aet"] = n.callingAeTitle;
  j["retrieve"] = n.retrieve == RetrieveMode::Move ? "move" : "get";
  j["move_port"] = n.movePort;
  if (!n.moveAeTitle.empty()) j["move_aet"] = n.moveAeTitle;
  j["max_pdu"] = n.maxPdu;
  j["connect_timeout"] = n.connectTimeoutSeconds;
  j["dimse_timeout"] = n.dimseTimeoutSeconds;
  j["allow_torchscript"] = config.allowTorchScript;
  j["cache_dir"] = config.cacheDir.string();
  j["cache_max_mb"] = config.cacheMaxBytes >> 20U;
  j["outbox_dir"] = config.outboxDir.string();
  j["engine_max_mb"] = config.engineMaxBytes >> 20U;
  j["image_cache_dir"] = config.imageCacheDir.string();
  j["image_cache_max_mb"] = config.imageCacheMaxBytes >> 20U;
  if (!config.reviewer.empty()) j["reviewer"] = config.reviewer;
  j["result_format"] = config.resultFormat;
  j["require_signed_networks"] = config.trust.requireSignedNetworks;
  j["trusted_signers"] = nlohmann::ordered_json::array();
  for (const auto& p : config.trust.anchors.certificates) j["trusted_signers"].push_back(p.string());
  j["audit_log"] = config.auditLog.string();
  if (!config.signing.key.empty()) {
    j["signing"] = {{"key", config.signing.key.string()}, {"certificate", config.signing.certificate.string()}};
    if (!config.signing.passphraseFile.empty())
      j["signing"]["passphrase_file"] = config.signing.passphraseFile.string();
  }
  if (!config.dicomweb.user.empty() || !config.dicomweb.passwordFile.empty() || !config.dicomweb.tokenFile.empty() ||
      n.web.maxRetrieveBytes != WebOptions{}.maxRetrieveBytes) {
    nlohmann::ordered_json w;  // (never the secrets themselves)
    if (!config.dicomweb.user.empty()) w["user"] = config.dicomweb.user;
    if (!config.dicomweb.passwordFile.empty()) w["password_file"] = config.dicomweb.passwordFile.string();
    if (!config.dicomweb.tokenFile.empty()) w["token_file"] = config.dicomweb.tokenFile.string();
    w["max_retrieve_mb"] = n.web.maxRetrieveBytes >> 20U;
    j["dicomweb"] = std::move(w);
  }
  if (!config.inferenceService.url.empty()) {
    j["inference_service"] = {{"url", config.inferenceService.url},
                              {"token_file", config.inferenceService.tokenFile.string()},
                              {"ca", config.inferenceService.caFile.string()}};
  }
  if (!config.serviceSection.empty()) j["service"] = nlohmann::ordered_json::parse(config.serviceSection);
  if (!config.discoveryCacheDir.empty()) j["discovery_cache_dir"] = config.discoveryCacheDir.string();
  j["discovery_max_age"] = config.discoveryMaxAgeSeconds;
  j["discovery_rebuild_age"] = config.discoveryRebuildAgeSeconds;
  const auto& t = n.tls;
  if (t.enabled || !t.certificate.empty() || !t.privateKey.empty() || !t.trustedCertificates.empty() || !t.verifyPeer) {
    nlohmann::ordered_json tls;
    tls["enabled"] = t.enabled;
    if (!t.certificate.empty()) tls["certificate"] = t.certificate.string();
    if (!t.privateKey.empty()) tls["private_key"] = t.privateKey.string();
    tls["trusted_certificates"] = nlohmann::ordered_json::array();
    for (const auto& p : t.trustedCertificates) tls["trusted_certificates"].push_back(p.string());
    tls["verify_peer"] = t.verifyPeer;
    j["tls"] = std::move(tls);  // (never the key's passphrase)
  }
  return j.dump(2) + "\n";
}

void saveClientConfig(const ClientConfig& config, const std::filesystem::path& path, const std::string& comment) {
  const std::string text = toJson(config, comment);
  (void)parseClientConfig(text, path.string());  // never write what we would refuse to read
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  iod::writeFileAtomically(path, std::string_view(text));
}

std::filesystem::path discoveryCacheDirectory(const ClientConfig& config) {
  if (!config.discoveryCacheDir.empty()) return config.discoveryCacheDir;
  auto models = config.cacheDir.lexically_normal();
  if (!models.has_filename()) models = models.parent_path();  // "cache/" -> "cache"
  if (models.empty() || !models.has_filename()) return {};
  return models.parent_path() / "discovery";
}

std::filesystem::path configSavePath(const ClientConfig& config) {
  if (!config.source.empty()) return config.source;
  auto env = envPath("IODEEP_CONFIG");
  if (!env.empty()) return env;
  return placeDefault("XDG_CONFIG_HOME", ".config", "the configuration file", "$IODEEP_CONFIG") / "iodeep" /
         "client.json";
}

}  // namespace iodeep::client

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/workflow/ClientConfig.hpp"

using namespace iodeep;

namespace {

// Sets (or unsets, with nullopt) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

Error parseError(const std::string& json) {
  try {
    (void)client::parseClientConfig(json, "client.json");
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << json;
  return Error(ErrorCode::Internal, "none");
}

void writeText(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST(ClientConfig, EveryKey) {
  const auto c = client::parseClientConfig(R"({
    "pacs": "HOSPITAL@pacs.example.org:11112", "aet": "WS1", "retrieve": "get", "move_port": 11200,
    "move_aet": "WS1MOVE", "max_pdu": 65536, "connect_timeout": 7, "dimse_timeout": 90,
    "allow_torchscript": true, "cache_dir": "/var/cache/m", "cache_max_mb": 100, "outbox_dir": "/var/lib/o",
    "engine_max_mb": 50, "reviewer": "Doe^Jane", "comment": "anything", "require_signed_networks": true,
    "trusted_signers": ["/etc/iodeep/ca.pem", "/etc/iodeep/signers"], "audit_log": "/var/log/iodeep/audit.log",
    "signing": {"key": "/etc/iodeep/me.key", "certificate": "/etc/iodeep/me.pem", "passphrase_file": "/run/pass"}})",
                                           "client.json");
  EXPECT_EQ(c.network.pacs.aeTitle, "HOSPITAL");
  EXPECT_EQ(c.network.pacs.host, "pacs.example.org");
  EXPECT_EQ(c.network.pacs.port, 11112);
  EXPECT_EQ(c.network.callingAeTitle, "WS1");
  EXPECT_EQ(c.network.retrieve, client::RetrieveMode::Get);
  EXPECT_EQ(c.network.movePort, 11200);
  EXPECT_EQ(c.network.moveAeTitle, "WS1MOVE");
  EXPECT_EQ(c.network.maxPdu, 65536U);
  EXPECT_EQ(c.network.connectTimeoutSeconds, 7U);
  EXPECT_EQ(c.network.dimseTimeoutSeconds, 90U);
  EXPECT_TRUE(c.allowTorchScript);
  EXPECT_EQ(c.cacheDir, "/var/cache/m");
  EXPECT_EQ(c.cacheMaxBytes, 100ULL << 20U);
  EXPECT_EQ(c.outboxDir, "/var/lib/o");
  EXPECT_EQ(c.engineMaxBytes, 50ULL << 20U);
  EXPECT_EQ(c.reviewer, "Doe^Jane");
  EXPECT_TRUE(c.trust.requireSignedNetworks);
  EXPECT_EQ(c.trust.anchors.certificates,
            (std::vector<std::filesystem::path>{"/etc/iodeep/ca.pem", "/etc/iodeep/signers"}));
  EXPECT_EQ(c.auditLog, "/var/log/iodeep/audit.log");
  EXPECT_EQ(c.signing.key, "/etc/iodeep/me.key");
  EXPECT_EQ(c.signing.certificate, "/etc/iodeep/me.pem");
  EXPECT_EQ(c.signing.passphraseFile, "/run/pass");
  // written and read back the same
  const auto again = client::parseClientConfig(client::toJson(c), "again.json");
  EXPECT_EQ(again.signing.key, c.signing.key);
  EXPECT_EQ(again.signing.certificate, c.signing.certificate);
  EXPECT_EQ(again.signing.passphraseFile, c.signing.passphraseFile);
  EXPECT_EQ(c.source, "client.json");
  EXPECT_NO_THROW(c.network.validate());
  // a key without its certificate is refused by name
  const auto e = test::errorOf([] { (void)client::parseClientConfig(R"({"signing": {"key": "k.pem"}})", "c.json"); });
  EXPECT_NE(std::string(e.what()).find("'signing' needs both 'key' and 'certificate'"), std::string::npos) << e.what();
}

TEST(ClientConfig, Defaults) {
  const ScopedEnv cache("XDG_CACHE_HOME", "/xdg/cache");
  const ScopedEnv data("XDG_DATA_HOME", "/xdg/data");
  const auto c = client::parseClientConfig("{}", "empty.json");
  EXPECT_EQ(c.network.callingAeTitle, "IODEEP");
  EXPECT_EQ(c.network.retrieve, client::RetrieveMode::Move);
  EXPECT_EQ(c.network.movePort, 11113);
  EXPECT_TRUE(c.network.moveAeTitle.empty());
  EXPECT_EQ(c.network.connectTimeoutSeconds, 5U);
  EXPECT_EQ(c.network.dimseTimeoutSeconds, 60U);
  EXPECT_EQ(c.network.maxPdu, 131072U);
  EXPECT_TRUE(c.network.pacs.aeTitle.empty());
  EXPECT_FALSE(c.allowTorchScript);  // code from the PACS: off unless asked for
  EXPECT_EQ(c.cacheMaxBytes, 4ULL << 30U);
  EXPECT_EQ(c.engineMaxBytes, 2ULL << 30U);
  EXPECT_EQ(c.cacheDir, std::filesystem::path("/xdg/cache/iodeep/models"));
  EXPECT_EQ(c.outboxDir, std::filesystem::path("/xdg/data/iodeep/outbox"));
  EXPECT_EQ(c.auditLog, std::filesystem::path("/xdg/data/iodeep/audit.log"));  // always kept
  EXPECT_FALSE(c.trust.requireSignedNetworks);                                 // the demo's networks are unsigned
  EXPECT_TRUE(c.trust.anchors.certificates.empty());
  EXPECT_TRUE(c.reviewer.empty());
  // no PACS: the options are not usable yet
  EXPECT_THROW(c.network.validate(), Error);
}

TEST(ClientConfig, XdgFallbacksToHome) {
  const ScopedEnv cache("XDG_CACHE_HOME", std::nullopt);
  const ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  const ScopedEnv home("HOME", "/home/jane");
  const auto c = client::parseClientConfig("{}", "x");
  EXPECT_EQ(c.cacheDir, std::filesystem::path("/home/jane/.cache/iodeep/models"));
  EXPECT_EQ(c.outboxDir, std::filesystem::path("/home/jane/.local/share/iodeep/outbox"));
}

// Without $HOME and the XDG variables there is no default place: a clear error naming the key
// (never a shared directory such as /tmp), but only when a default is needed.
TEST(ClientConfig, NoHomeIsAnErrorOnlyWhereADefaultIsNeeded) {
  test::TempDir dir;
  const ScopedEnv noHome("HOME", std::nullopt);
  const ScopedEnv noCache("XDG_CACHE_HOME", std::nullopt);
  const ScopedEnv noData("XDG_DATA_HOME", std::nullopt);
  const ScopedEnv noConfigHome("XDG_CONFIG_HOME", std::nullopt);
  const ScopedEnv noConfig("IODEEP_CONFIG", std::nullopt);
  const auto missing = parseError("{}");
  EXPECT_EQ(missing.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(missing.file(), "client.json");
  EXPECT_NE(std::string(missing.what()).find("HOME"), std::string::npos) << missing.what();
  EXPECT_EQ(std::string(missing.what()).find(std::filesystem::temp_directory_path().string()), std::string::npos)
      << missing.what();
  // one key left to its default is enough to need a place for it
  const auto noAudit = parseError(R"({"cache_dir": "/c", "outbox_dir": "/o", "image_cache_dir": "/i"})");
  EXPECT_EQ(noAudit.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(std::string(noAudit.what()).find("audit_log"), std::string::npos) << noAudit.what();
  // no file at all: the defaults are needed, the same error
  EXPECT_EQ(test::codeOf([] { (void)client::loadClientConfig(); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(test::codeOf([] { (void)client::configSavePath(client::ClientConfig{}); }), ErrorCode::InvalidArgument);
  // every place named: no HOME needed, from text or from a file
  const std::string explicitDirs = R"({"cache_dir": ")" + (dir / "models").string() + R"(", "outbox_dir": ")" +
                                   (dir / "outbox").string() + R"(", "image_cache_dir": ")" +
                                   (dir / "images").string() + R"(", "audit_log": ")" + (dir / "audit.log").string() +
                                   R"("})";
  const auto c = client::parseClientConfig(explicitDirs, "client.json");
  EXPECT_EQ(c.cacheDir, dir / "models");
  EXPECT_EQ(c.outboxDir, dir / "outbox");
  EXPECT_EQ(c.imageCacheDir, dir / "images");
  EXPECT_EQ(c.auditLog, dir / "audit.log");
  writeText(dir / "client.json", explicitDirs);
  EXPECT_EQ(client::loadClientConfig(dir / "client.json").cacheDir, dir / "models");
  // the XDG variables alone are enough for the defaults
  const ScopedEnv cache("XDG_CACHE_HOME", (dir / "xdg-cache").string());
  const ScopedEnv data("XDG_DATA_HOME", (dir / "xdg-data").string());
  const auto d = client::loadClientConfig();
  EXPECT_EQ(d.cacheDir, dir / "xdg-cache" / "iodeep" / "models");
  EXPECT_EQ(d.imageCacheDir, dir / "xdg-cache" / "iodeep" / "images");
  EXPECT_EQ(d.outboxDir, dir / "xdg-data" / "iodeep" / "outbox");
  EXPECT_EQ(d.auditLog, dir / "xdg-data" / "iodeep" / "audit.log");
}

TEST(ClientConfig, UnknownKeyIsRefusedByName) {
  const auto e = parseError(R"({"pacs": "A@h:104", "move_prot": 11113})");
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(e.pointer(), "/move_prot");
  EXPECT_EQ(e.file(), "client.json");
  EXPECT_NE(std::string(e.what()).find("move_prot"), std::string::npos);
}

TEST(ClientConfig, WrongTypesAndValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"pacs": 104})", "/pacs"},
      {R"({"aet": ["A"]})", "/aet"},
      {R"({"retrieve": "post"})", "/retrieve"},
      {R"({"retrieve": true})", "/retrieve"},
      {R"({"move_port": 0})", "/move_port"},
      {R"({"move_port": 70000})", "/move_port"},
      {R"({"move_port": "11113"})", "/move_port"},
      {R"({"move_port": -1})", "/move_port"},
      {R"({"move_port": 11113.5})", "/move_port"},
      {R"({"max_pdu": 1024})", "/max_pdu"},
      {R"({"connect_timeout": 0})", "/connect_timeout"},
      {R"({"dimse_timeout": 100000})", "/dimse_timeout"},
      {R"({"allow_torchscript": "yes"})", "/allow_torchscript"},
      {R"({"allow_torchscript": 1})", "/allow_torchscript"},
      {R"({"cache_dir": 5})", "/cache_dir"},
      {R"({"cache_max_mb": 0})", "/cache_max_mb"},
      {R"({"outbox_dir": null})", "/outbox_dir"},
      {R"({"engine_max_mb": "big"})", "/engine_max_mb"},
      {R"({"reviewer": 1})", "/reviewer"},
      {R"({"require_signed_networks": "yes"})", "/require_signed_networks"},
      {R"({"trusted_signers": "/etc/ca.pem"})", "/trusted_signers"},
      {R"({"trusted_signers": [1]})", "/trusted_signers"},
      {R"({"trusted_signers": [""]})", "/trusted_signers"},
      // requiring signatures without saying whose: refused, not a policy that refuses everything
      {R"({"require_signed_networks": true})", "/trusted_signers"},
      {R"({"require_signed_networks": true, "trusted_signers": []})", "/trusted_signers"},
      {R"({"audit_log": false})", "/audit_log"},
  };
  for (const auto& [json, pointer] : cases) {
    const auto e = parseError(json);
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << json;
    EXPECT_EQ(e.pointer(), pointer) << json;
    EXPECT_EQ(e.file(), "client.json") << json;
  }
  // a PACS string that is not AET@host:port: InvalidArgument in the file
  const auto bad = parseError(R"({"pacs": "pacs.example.org"})");
  EXPECT_EQ(bad.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(bad.file(), "client.json");
}

TEST(ClientConfig, NotAnObjectOrNotJson) {
  EXPECT_EQ(parseError("[1, 2]").code(), ErrorCode::InvalidArgument);
  const auto e = parseError("{\"pacs\": ");
  EXPECT_EQ(e.code(), ErrorCode::InvalidJson);
}

TEST(ClientConfig, LoadFromPathEnvironmentAndXdgConfig) {
  test::TempDir dir;
  const ScopedEnv noConfig("IODEEP_CONFIG", std::nullopt);
  const ScopedEnv xdg("XDG_CONFIG_HOME", (dir / "xdg").string());
  // no file anywhere: the defaults, no source
  EXPECT_TRUE(client::loadClientConfig().source.empty());
  // the XDG location
  writeText(dir / "xdg" / "iodeep" / "client.json", R"({"aet": "FROMXDG"})");
  auto c = client::loadClientConfig();
  EXPECT_EQ(c.network.callingAeTitle, "FROMXDG");
  EXPECT_EQ(c.source, (dir / "xdg" / "iodeep" / "client.json").string());
  // $IODEEP_CONFIG before XDG
  writeText(dir / "env.json", R"({"aet": "FROMENV"})");
  {
    const ScopedEnv env("IODEEP_CONFIG", (dir / "env.json").string());
    EXPECT_EQ(client::loadClientConfig().network.callingAeTitle, "FROMENV");
    // an explicit path before both
    writeText(dir / "explicit.json", R"({"aet": "EXPLICIT"})");
    EXPECT_EQ(client::loadClientConfig(dir / "explicit.json").network.callingAeTitle, "EXPLICIT");
  }
  // a path that does not exist
  try {
    (void)client::loadClientConfig(dir / "absent.json");
    FAIL() << "no error for a missing configuration file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    EXPECT_NE(std::string(e.what()).find("absent.json"), std::string::npos);
  }
  {
    const ScopedEnv env("IODEEP_CONFIG", (dir / "absent-too.json").string());
    try {
      (void)client::loadClientConfig();
      FAIL() << "no error for a missing $IODEEP_CONFIG";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    }
  }
  // an error in the file names the file
  writeText(dir / "bad.json", R"({"colour": "blue"})");
  try {
    (void)client::loadClientConfig(dir / "bad.json");
    FAIL() << "no error for an unknown key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(e.file(), (dir / "bad.json").string());
    EXPECT_EQ(e.pointer(), "/colour");
  }
}

// ---- Peer and NetworkOptions -------------------------------------------------------------------

TEST(Peer, Parse) {
  const auto p = client::Peer::parse("ORTHANC@127.0.0.1:4242");
  EXPECT_EQ(p.aeTitle, "ORTHANC");
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 4242);
  EXPECT_EQ(p.toString(), "ORTHANC@127.0.0.1:4242");
  EXPECT_EQ(client::Peer::parse("A@pacs.example.org:65535").port, 65535);
  EXPECT_EQ(client::Peer::parse("SIXTEENCHARSAETX@h:1").aeTitle, "SIXTEENCHARSAETX");
}

TEST(Peer, ParseErrors) {
  for (const char* text : {"", "ORTHANC", "127.0.0.1:4242", "ORTHANC@127.0.0.1", "@127.0.0.1:4242", "ORTHANC@:4242",
                           "ORTHANC@h:", "ORTHANC@h:0", "ORTHANC@h:65536", "ORTHANC@h:42x", "ORTHANC@h:-1",
                           "ORTHANC@h: 42", "SEVENTEENCHARSAET@h:4242", "h:4242@ORTHANC"}) {
    try {
      (void)client::Peer::parse(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << text;
    }
  }
}

TEST(NetworkOptions, Validate) {
  client::NetworkOptions o;
  o.pacs = client::Peer::parse("ORTHANC@127.0.0.1:4242");
  EXPECT_NO_THROW(o.validate());
  const auto refused = [](const client::NetworkOptions& x, const char* what) {
    try {
      x.validate();
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << what;
    }
  };
  refused(client::NetworkOptions{}, "no PACS");
  auto x = o;
  x.callingAeTitle.clear();
  refused(x, "empty calling AE");
  x = o;
  x.callingAeTitle = "SEVENTEENCHARSAET";
  refused(x, "calling AE of 17 characters");
  x = o;
  x.moveAeTitle = "SEVENTEENCHARSAET";
  refused(x, "move AE of 17 characters");
  x = o;
  x.movePort = 0;
  refused(x, "C-MOVE without a port");
  x.retrieve = client::RetrieveMode::Get;
  EXPECT_NO_THROW(x.validate());  // C-GET needs no port
  x = o;
  x.maxPdu = 4095;
  refused(x, "PDU below 4096");
  x.maxPdu = 131073;
  refused(x, "PDU above 131072");
  x = o;
  x.connectTimeoutSeconds = 0;
  refused(x, "connect timeout 0");
  x = o;
  x.dimseTimeoutSeconds = 0;
  refused(x, "DIMSE timeout 0");
  // Pacs validates on construction
  EXPECT_THROW(client::Pacs(client::NetworkOptions{}), Error);
}

// The settings dialog writes the configuration; what it writes reads back to the same values.
TEST(ClientConfig, SavedConfigurationReadsBackToTheSameValues) {
  test::TempDir dir;
  client::ClientConfig c;
  c.network.pacs = client::Peer::parse("ORTHANC@127.0.0.1:4242");
  c.network.callingAeTitle = "VIEWER";
  c.network.retrieve = client::RetrieveMode::Get;
  c.network.movePort = 11999;
  c.network.moveAeTitle = "VIEWERSCP";
  c.network.maxPdu = 65536;
  c.network.connectTimeoutSeconds = 7;
  c.network.dimseTimeoutSeconds = 90;
  c.allowTorchScript = true;
  c.cacheDir = dir / "models";
  c.cacheMaxBytes = 123ULL << 20U;
  c.outboxDir = dir / "outbox";
  c.engineMaxBytes = 456ULL << 20U;
  c.imageCacheDir = dir / "images";
  c.imageCacheMaxBytes = 789ULL << 20U;
  c.reviewer = "Doe^Jane";
  c.trust.requireSignedNetworks = true;
  c.trust.anchors.certificates = {dir / "ca.pem", dir / "signers"};
  c.auditLog = dir / "audit.log";
  const auto path = dir / "sub" / "client.json";
  client::saveClientConfig(c, path, "written by the test");
  const auto back = client::loadClientConfig(path);
  EXPECT_EQ(back.network.pacs.toString(), "ORTHANC@127.0.0.1:4242");
  EXPECT_EQ(back.network.callingAeTitle, "VIEWER");
  EXPECT_EQ(back.network.retrieve, client::RetrieveMode::Get);
  EXPECT_EQ(back.network.movePort, 11999);
  EXPECT_EQ(back.network.moveAeTitle, "VIEWERSCP");
  EXPECT_EQ(back.network.maxPdu, 65536U);
  EXPECT_EQ(back.network.connectTimeoutSeconds, 7U);
  EXPECT_EQ(back.network.dimseTimeoutSeconds, 90U);
  EXPECT_TRUE(back.allowTorchScript);
  EXPECT_EQ(back.cacheDir, c.cacheDir);
  EXPECT_EQ(back.cacheMaxBytes, c.cacheMaxBytes);
  EXPECT_EQ(back.outboxDir, c.outboxDir);
  EXPECT_EQ(back.engineMaxBytes, c.engineMaxBytes);
  EXPECT_EQ(back.imageCacheDir, c.imageCacheDir);
  EXPECT_EQ(back.imageCacheMaxBytes, c.imageCacheMaxBytes);
  EXPECT_EQ(back.reviewer, "Doe^Jane");
  EXPECT_TRUE(back.trust.requireSignedNetworks);
  EXPECT_EQ(back.trust.anchors.certificates, c.trust.anchors.certificates);
  EXPECT_EQ(back.auditLog, c.auditLog);
  EXPECT_EQ(back.source, path);
  EXPECT_EQ(client::configSavePath(back), path);  // saved again where it came from
  // nothing but the file itself is left in its directory (written through a temporary file)
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1U);
}

TEST(ClientConfig, DefaultsSaveAndReadBack) {
  test::TempDir dir;
  const ScopedEnv cache("XDG_CACHE_HOME", (dir / "c").string());
  const ScopedEnv data("XDG_DATA_HOME", (dir / "d").string());
  const auto c = client::parseClientConfig("{}", "inline");
  EXPECT_EQ(c.imageCacheDir, dir / "c" / "iodeep" / "images");
  client::saveClientConfig(c, dir / "defaults.json");
  const auto back = client::loadClientConfig(dir / "defaults.json");
  EXPECT_EQ(back.cacheDir, c.cacheDir);
  EXPECT_EQ(back.imageCacheDir, c.imageCacheDir);
  EXPECT_EQ(back.network.pacs.aeTitle, "");  // no PACS configured stays unconfigured
}

// ---- DICOM TLS settings ---------------------------------------------------------------------------

TEST(ClientConfig, TlsKeysReadAndSaveBack) {
  test::TempDir dir;
  const ScopedEnv noPassphrase("IODEEP_TLS_KEY_PASSPHRASE", std::nullopt);
  const auto c = client::parseClientConfig(R"({"pacs": "A@h:104", "tls": {"enabled": true,
    "certificate": "/etc/iodeep/ws1.pem", "private_key": "/etc/iodeep/ws1.key",
    "trusted_certificates": ["/etc/iodeep/hospital-ca.pem", "/etc/iodeep/trusted"], "verify_peer": false}})",
                                           "client.json");
  const auto& t = c.network.tls;
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.certificate, "/etc/iodeep/ws1.pem");
  EXPECT_EQ(t.privateKey, "/etc/iodeep/ws1.key");
  EXPECT_EQ(t.trustedCertificates,
            (std::vector<std::filesystem::path>{"/etc/iodeep/hospital-ca.pem", "/etc/iodeep/trusted"}));
  EXPECT_FALSE(t.verifyPeer);
  EXPECT_TRUE(t.privateKeyPassphrase.empty());
  // without "tls": off, and peer verification on by default
  const auto d = client::parseClientConfig("{}", "x");
  EXPECT_FALSE(d.network.tls.enabled);
  EXPECT_TRUE(d.network.tls.verifyPeer);
  EXPECT_EQ(client::toJson(d).find("\"tls\""), std::string::npos);
  // saved and read back the same; the key's passphrase is never written
  auto withPassphrase = c;
  withPassphrase.network.tls.privateKeyPassphrase = "s3cret";
  const auto path = dir / "client.json";
  client::saveClientConfig(withPassphrase, path);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  const auto back = client::loadClientConfig(path);
  EXPECT_TRUE(back.network.tls.enabled);
  EXPECT_EQ(back.network.tls.certificate, t.certificate);
  EXPECT_EQ(back.network.tls.privateKey, t.privateKey);
  EXPECT_EQ(back.network.tls.trustedCertificates, t.trustedCertificates);
  EXPECT_FALSE(back.network.tls.verifyPeer);
  // the passphrase comes from the environment
  const ScopedEnv passphrase("IODEEP_TLS_KEY_PASSPHRASE", "from-env");
  EXPECT_EQ(client::loadClientConfig(path).network.tls.privateKeyPassphrase, "from-env");
}

TEST(ClientConfig, TlsWrongTypesAndUnknownKeys) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"tls": true})", "/tls"},
      {R"({"tls": {"enabled": "yes"}})", "/tls/enabled"},
      {R"({"tls": {"enabled": 1}})", "/tls/enabled"},
      {R"({"tls": {"certificate": 5}})", "/tls/certificate"},
      {R"({"tls": {"certificate": ""}})", "/tls/certificate"},
      {R"({"tls": {"private_key": ["k"]}})", "/tls/private_key"},
      {R"({"tls": {"trusted_certificates": "/ca.pem"}})", "/tls/trusted_certificates"},
      {R"({"tls": {"trusted_certificates": ["/ca.pem", 3]}})", "/tls/trusted_certificates/1"},
      {R"({"tls": {"verify_peer": "no"}})", "/tls/verify_peer"},
      {R"({"tls": {"verify": false}})", "/tls/verify"},
      {R"({"tls": {"private_key_passphrase": "x"}})", "/tls/private_key_passphrase"},
  };
  for (const auto& [json, pointer] : cases) {
    const auto e = parseError(json);
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << json;
    EXPECT_EQ(e.pointer(), pointer) << json;
    EXPECT_EQ(e.file(), "client.json") << json;
  }
}

TEST(NetworkOptions, ValidateTls) {
  test::TempDir dir;
  writeText(dir / "ws.pem", "certificate");
  writeText(dir / "ws.key", "key");
  writeText(dir / "ca.pem", "ca");
  std::filesystem::create_directories(dir / "trusted");
  client::NetworkOptions o;
  o.pacs = client::Peer::parse("ORTHANC@127.0.0.1:4242");
  o.tls.certificate = dir / "absent.pem";  // not looked at while TLS is off
  EXPECT_NO_THROW(o.validate());
  EXPECT_TRUE(o.warnings().empty());
  o.tls = {};
  o.tls.enabled = true;
  const auto codeOf = [](const client::NetworkOptions& x) {
    try {
      x.validate();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::Internal;
  };
  EXPECT_EQ(codeOf(o), ErrorCode::InvalidArgument);  // no certificate or key
  o.tls.certificate = dir / "ws.pem";
  o.tls.privateKey = dir / "ws.key";
  EXPECT_EQ(codeOf(o), ErrorCode::InvalidArgument);  // nothing to verify the peer with
  o.tls.trustedCertificates = {dir / "ca.pem", dir / "trusted"};
  EXPECT_NO_THROW(o.validate());
  EXPECT_TRUE(o.warnings().empty());
  // files that are not there: FileNotFound naming the file
  auto x = o;
  x.tls.privateKey = dir / "absent.key";
  try {
    x.validate();
    ADD_FAILURE() << "a missing key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    EXPECT_EQ(e.file(), (dir / "absent.key").string());
  }
  x = o;
  x.tls.trustedCertificates.push_back(dir / "absent-ca.pem");
  EXPECT_EQ(codeOf(x), ErrorCode::FileNotFound);
  x = o;
  x.tls.certificate = dir / "absent.pem";
  EXPECT_EQ(codeOf(x), ErrorCode::FileNotFound);
  // no peer verification: valid, without trusted certificates, and warned about
  x = o;
  x.tls.verifyPeer = false;
  x.tls.trustedCertificates.clear();
  EXPECT_NO_THROW(x.validate());
  ASSERT_EQ(x.warnings().size(), 1U);
  EXPECT_NE(x.warnings()[0].find("peer verification"), std::string::npos);
}

// ---- DICOMweb: the address and the "dicomweb" section -----------------------------------------------

TEST(Peer, ParseDicomWebUrl) {
  const auto p = client::Peer::parse("https://pacs.example.org:8443/dicom-web/");
  EXPECT_TRUE(p.isWeb());
  EXPECT_EQ(p.url, "https://pacs.example.org:8443/dicom-web");  // no trailing '/'
  EXPECT_EQ(p.host, "pacs.example.org");
  EXPECT_EQ(p.port, 8443);
  EXPECT_EQ(p.toString(), "https://pacs.example.org:8443/dicom-web");
  EXPECT_EQ(client::Peer::parse("http://127.0.0.1/wado").port, 80);
  EXPECT_EQ(client::Peer::parse("https://[::1]/dicom-web").host, "::1");
  EXPECT_EQ(client::Peer::parse("https://[::1]/dicom-web").port, 443);
  EXPECT_FALSE(client::Peer::parse("ORTHANC@127.0.0.1:4242").isWeb());
  for (const char* text :
       {"https://", "http:///dicom-web", "https://user:secret@pacs/dicom-web", "https://pacs:0/x",
        "https://pacs:99999/x", "https://pacs/dicom-web?x=1", "https://pacs/dicom-web#f", "https://[::1/x"}) {
    try {
      (void)client::Peer::parse(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << text;
      EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << "a password echoed: " << e.what();
    }
  }
}

TEST(NetworkOptions, ValidateDicomWeb) {
  client::NetworkOptions o;
  o.pacs = client::Peer::parse("https://pacs.example.org/dicom-web");
  EXPECT_NO_THROW(o.validate());  // no AE title needed; TLS trust: the system's
  o.tls.enabled = true;           // trust settings without a client certificate: fine over HTTPS
  EXPECT_NO_THROW(o.validate());
  o.tls.certificate = "/nonexistent/client.pem";
  EXPECT_THROW(o.validate(), Error);  // a certificate without its key
  o.tls = {};
  o.web.user = "doctor";
  EXPECT_THROW(o.validate(), Error);  // a user without a password
  o.web.password = "pw";
  EXPECT_NO_THROW(o.validate());
  EXPECT_TRUE(o.warnings().empty());
  o.pacs = client::Peer::parse("http://pacs.example.org/dicom-web");
  ASSERT_EQ(o.warnings().size(), 1U);  // credentials over plain HTTP
  EXPECT_NE(o.warnings()[0].find("http://"), std::string::npos);
  o.tls.enabled = true;  // TLS asked for, plain http:// given
  EXPECT_THROW(o.validate(), Error);
}

TEST(ClientConfig, DicomWebSection) {
  test::TempDir dir;
  writeText(dir / "password", "s3cret\n");
  writeText(dir / "token", "tok-123  \n");
  const ScopedEnv noPassword("IODEEP_DICOMWEB_PASSWORD", std::nullopt);
  const ScopedEnv noToken("IODEEP_DICOMWEB_TOKEN", std::nullopt);
  const std::string text = R"({"pacs": "https://pacs.example.org/dicom-web",
    "dicomweb": {"user": "doctor", "password_file": ")" +
                           (dir / "password").string() + R"(", "token_file": ")" + (dir / "token").string() +
                           R"(", "max_retrieve_mb": 64}})";
  writeText(dir / "c.json", text);
  auto c = client::loadClientConfig(dir / "c.json");
  EXPECT_TRUE(c.network.pacs.isWeb());
  EXPECT_EQ(c.network.web.user, "doctor");
  EXPECT_EQ(c.network.web.password, "s3cret");      // the first line, its line end removed
  EXPECT_EQ(c.network.web.bearerToken, "tok-123");  // trailing blanks removed
  EXPECT_EQ(c.network.web.maxRetrieveBytes, 64ULL << 20U);
  // saved and read back: the same settings, never the secrets themselves
  const auto saved = client::toJson(c);
  EXPECT_EQ(saved.find("s3cret"), std::string::npos);
  EXPECT_EQ(saved.find("tok-123"), std::string::npos);
  const auto again = client::parseClientConfig(saved, "saved");
  EXPECT_EQ(again.network.pacs.url, "https://pacs.example.org/dicom-web");
  EXPECT_EQ(again.network.web.password, "s3cret");
  EXPECT_EQ(again.network.web.maxRetrieveBytes, 64ULL << 20U);
  {
    // the environment wins over the files
    const ScopedEnv password("IODEEP_DICOMWEB_PASSWORD", "from-env");
    const ScopedEnv token("IODEEP_DICOMWEB_TOKEN", "env-token");
    c = client::loadClientConfig(dir / "c.json");
    EXPECT_EQ(c.network.web.password, "from-env");
    EXPECT_EQ(c.network.web.bearerToken, "env-token");
  }
  // refused: a secret inline, a missing or empty secret file, a bad cap
  for (const std::string& bad :
       {std::string(R"({"dicomweb": {"password": "inline"}})"),
        R"({"dicomweb": {"password_file": ")" + (dir / "missing").string() + R"("}})",
        std::string(R"({"dicomweb": {"max_retrieve_mb": 0}})"), std::string(R"({"dicomweb": []})")}) {
    EXPECT_THROW((void)client::parseClientConfig(bad, "bad"), Error) << bad;
  }
  writeText(dir / "empty", "\n");
  EXPECT_THROW((void)client::parseClientConfig(R"({"dicomweb": {"token_file": ")" + (dir / "empty").string() + R"("}})",
                                               "empty"),
               Error);
}

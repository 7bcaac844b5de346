#include "OrthancSupport.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace iodeep::test {

namespace fs = std::filesystem;

std::map<std::string, std::string> readEnv(const fs::path& file) {
  std::map<std::string, std::string> env;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env.empty()) throw std::runtime_error("no Orthanc env in " + file.string() + " (the orthanc fixture)");
  return env;
}

client::NetworkOptions optionsFrom(const std::map<std::string, std::string>& env) {
  client::NetworkOptions o;
  o.pacs = client::Peer::parse(env.at("ORTHANC_AET") + "@127.0.0.1:" + env.at("ORTHANC_DICOM_PORT"));
  o.callingAeTitle = env.at("CLIENT_AET");
  o.movePort = static_cast<std::uint16_t>(std::stoi(env.at("CLIENT_PORT")));
  o.connectTimeoutSeconds = 3;
  o.dimseTimeoutSeconds = 30;
  if (const auto tls = env.find("ORTHANC_TLS"); tls != env.end() && tls->second == "1") {
    const fs::path pki = env.at("TLS_PKI");
    o.tls.enabled = true;
    o.tls.certificate = pki / "client.pem";
    o.tls.privateKey = pki / "client.key";
    o.tls.trustedCertificates = {pki / "ca.pem"};
  }
  return o;
}

fs::path pkiDir() {
  const fs::path pki = fs::path(IODEEP_FIXTURES_DIR) / "pki";
  if (!fs::exists(pki / "ca.pem")) throw std::runtime_error("no test PKI in " + pki.string() + " (the pki fixture)");
  return pki;
}

PrivateOrthanc::PrivateOrthanc() {
  script("start");
  env_ = readEnv(dir_ / "orthanc" / "env");
}

PrivateOrthanc::PrivateOrthanc(const OrthancTls& tls) {
  script("start", "--tls '" + tls.pki.string() + "' --server-cert " + tls.serverCertificate +
                      (tls.plainModalities ? " --plain-modalities" : ""));
  env_ = readEnv(dir_ / "orthanc" / "env");
}

PrivateOrthanc::PrivateOrthanc(const OrthancWeb& web) {
  script("start", web.enabled ? "--dicomweb" : "");
  env_ = readEnv(dir_ / "orthanc" / "env");
}

PrivateOrthanc::~PrivateOrthanc() {
  try {
    script("stop");
  } catch (const std::exception&) {
    // already reported by the test
  }
}

void PrivateOrthanc::kill() {
  script("kill");
}
void PrivateOrthanc::restart() {
  script("restart");
}
client::NetworkOptions PrivateOrthanc::options() const {
  return optionsFrom(env_);
}

client::NetworkOptions PrivateOrthanc::webOptions() const {
  auto o = optionsFrom(env_);
  const auto url = env_.find("DICOMWEB_URL");
  if (url == env_.end() || url->second.empty()) throw std::runtime_error("this Orthanc has no DICOMweb plugin");
  o.pacs = client::Peer::parse(url->second);
  return o;
}

void PrivateOrthanc::script(const std::string& command, const std::string& arguments) {
  const fs::path source = IODEEP_SOURCE_DIR;
  const std::string cmd = "bash '" + (source / "scripts/orthanc.sh").string() + "' " + command + " '" +
                          (dir_ / "orthanc").string() + "' " + arguments + " >'" +
                          (dir_ / (command + ".log")).string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("orthanc.sh " + command + " failed: see " + cmd);
}

}  // namespace iodeep::test

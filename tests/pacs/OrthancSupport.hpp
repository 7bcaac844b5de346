#pragma once
// Orthanc for the C++ tests: the CTest fixture's (its env file) and private ones started by
// scripts/orthanc.sh in a temporary directory, stopped when the object goes.

#include <filesystem>
#include <map>
#include <string>

#include "../iod/TestSupport.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::test {

/// KEY=VALUE lines of an env file written by scripts/orthanc.sh. Throws when there are none.
std::map<std::string, std::string> readEnv(const std::filesystem::path& file);

/// Our network options for the Orthanc an env file describes (with DICOM TLS, when it speaks
/// only that: our certificate PKI/client.pem, trusting PKI/ca.pem).
client::NetworkOptions optionsFrom(const std::map<std::string, std::string>& env);

/// The test PKI (tests/fixtures/make_pki.sh, the CTest fixture "pki").
std::filesystem::path pkiDir();

/// A DICOM TLS Orthanc (scripts/orthanc.sh start --tls).
struct OrthancTls {
  std::filesystem::path pki{pkiDir()};
  std::string serverCertificate{"server"};  ///< PKI/<name>.pem and .key: "rogue-server" is untrusted
  bool plainModalities{false};              ///< it reaches our C-MOVE destination without TLS
};

/// An Orthanc with Debian's DICOMweb plugin (scripts/orthanc.sh start --dicomweb) when enabled.
struct OrthancWeb {
  bool enabled{true};
};

/// An Orthanc of the test's own, stopped (by PID) when the object goes.
class PrivateOrthanc {
 public:
  PrivateOrthanc();
  explicit PrivateOrthanc(const OrthancTls& tls);
  explicit PrivateOrthanc(const OrthancWeb& web);
  ~PrivateOrthanc();
  PrivateOrthanc(const PrivateOrthanc&) = delete;
  PrivateOrthanc& operator=(const PrivateOrthanc&) = delete;
  void kill();     ///< SIGKILL: a PACS that goes away (ports and storage kept)
  void restart();  ///< after kill
  [[nodiscard]] client::NetworkOptions options() const;
  /// Our options for its DICOMweb address (an Orthanc started with OrthancWeb).
  [[nodiscard]] client::NetworkOptions webOptions() const;

 private:
  void script(const std::string& command, const std::string& arguments = {});
  TempDir tmp_;
  std::filesystem::path dir_{tmp_.path()};
  std::map<std::string, std::string> env_;
};

}  // namespace iodeep::test

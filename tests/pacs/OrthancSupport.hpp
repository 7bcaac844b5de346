#pragma once
// Orthanc for the C++ tests: the CTest fixture's (its env file) and private ones started by
// scripts/orthanc.sh in a temporary directory, stopped when the object goes.

#include <filesystem>
#include <map>
#include <string>

#include "../iod/TestSupport.hpp"
#include "iodeep/client/Pacs.hpp"

namespace iodeep::test {

/// KEY=VALUE lines of an env file written by scripts/orthanc.sh. Throws when there are none.
std::map<std::string, std::string> readEnv(const std::filesystem::path& file);

/// Our network options for the Orthanc an env file describes.
client::NetworkOptions optionsFrom(const std::map<std::string, std::string>& env);

/// An Orthanc of the test's own, stopped (by PID) when the object goes.
class PrivateOrthanc {
 public:
  PrivateOrthanc();
  ~PrivateOrthanc();
  PrivateOrthanc(const PrivateOrthanc&) = delete;
  PrivateOrthanc& operator=(const PrivateOrthanc&) = delete;
  void kill();     ///< SIGKILL: a PACS that goes away (ports and storage kept)
  void restart();  ///< after kill
  [[nodiscard]] client::NetworkOptions options() const;

 private:
  void script(const std::string& command);
  TempDir tmp_;
  std::filesystem::path dir_{tmp_.path()};
  std::map<std::string, std::string> env_;
};

}  // namespace iodeep::test

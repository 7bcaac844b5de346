#pragma once
// A client configuration whose PACS is down (the discard port on loopback: nothing listens), for
// the tests of what waits in the outbox.
#include <filesystem>

#include "iodeep/workflow/ClientConfig.hpp"

namespace iodeep::test {

/// Caches and outbox under @p dir; the audit log there too when @p audited.
inline client::ClientConfig offlinePacsConfig(const std::filesystem::path& dir, bool audited = false) {
  client::ClientConfig config;
  config.network.pacs = client::Peer::parse("NOBODY@127.0.0.1:9");
  config.network.connectTimeoutSeconds = 2;
  config.cacheDir = dir / "models";
  config.outboxDir = dir / "outbox";
  if (audited) config.auditLog = dir / "audit.log";
  return config;
}

}  // namespace iodeep::test

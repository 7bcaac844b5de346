// Peers and network options: parsing "AET@host:port" and checking NetworkOptions before use.
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client {

Peer Peer::parse(std::string_view text) {
  const auto at = text.find('@');
  const auto colon = text.rfind(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon < at || at == 0 || colon == at + 1 ||
      colon + 1 == text.size()) {
    throw Error(ErrorCode::InvalidArgument, "'" + std::string(text) + "' is not AET@host:port");
  }
  Peer p;
  p.aeTitle = std::string(text.substr(0, at));
  p.host = std::string(text.substr(at + 1, colon - at - 1));
  const auto portText = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535) {
    throw Error(ErrorCode::InvalidArgument, "'" + std::string(portText) + "' is not a TCP port (1-65535)");
  }
  p.port = static_cast<std::uint16_t>(port);
  if (p.aeTitle.size() > 16) throw Error(ErrorCode::InvalidArgument, "AE title '" + p.aeTitle + "' is longer than 16");
  return p;
}

std::string Peer::toString() const {
  return aeTitle + "@" + host + ":" + std::to_string(port);
}

void NetworkOptions::validate() const {
  if (findDeadlineSeconds == 0 || maxFindResults == 0) {
    throw Error(ErrorCode::InvalidArgument, "find_deadline and max_find_results must be at least 1");
  }
  if (pacs.aeTitle.empty() || pacs.host.empty() || pacs.port == 0) {
    throw Error(ErrorCode::InvalidArgument, "no PACS given (--pacs AET@host:port or the configuration file)");
  }
  for (const auto* ae : {&callingAeTitle, &moveAeTitle}) {
    if (ae->size() > 16) throw Error(ErrorCode::InvalidArgument, "AE title '" + *ae + "' is longer than 16");
  }
  if (callingAeTitle.empty()) throw Error(ErrorCode::InvalidArgument, "our AE title (--aet) is empty");
  if (retrieve == RetrieveMode::Move && movePort == 0) {
    throw Error(ErrorCode::InvalidArgument, "C-MOVE needs our storage port (--move-port)");
  }
  if (maxPdu < 4096 || maxPdu > 131072) {
    throw Error(ErrorCode::InvalidArgument, "maximum PDU " + std::to_string(maxPdu) + " is outside 4096-131072");
  }
  if (connectTimeoutSeconds == 0 || dimseTimeoutSeconds == 0) {
    throw Error(ErrorCode::InvalidArgument, "timeouts must be at least 1 second");
  }
  if (!tls.enabled) return;
  if (tls.certificate.empty() || tls.privateKey.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "DICOM TLS needs our certificate and private key (--tls-certificate, --tls-key)");
  }
  if (tls.verifyPeer && tls.trustedCertificates.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "DICOM TLS needs the certificates that verify the peer (--tls-trusted), or --tls-no-verify-peer");
  }
  const auto readable = [](const std::filesystem::path& p, const char* what) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::filesystem::directory_iterator it(p, ec);
      if (!ec) return;
    } else if (std::ifstream(p).good()) {
      return;
    }
    throw Error(ErrorCode::FileNotFound, std::string(what) + " cannot be read", ErrorContext{.file = p.string()});
  };
  readable(tls.certificate, "our TLS certificate");
  readable(tls.privateKey, "our TLS private key");
  for (const auto& t : tls.trustedCertificates) readable(t, "trusted certificates");
}

std::vector<std::string> NetworkOptions::warnings() const {
  std::vector<std::string> w;
  if (tls.enabled && !tls.verifyPeer) {
    w.emplace_back(
        "DICOM TLS without peer verification: any peer that answers is accepted (encrypted, but it may be an "
        "impostor)");
  }
  return w;
}

}  // namespace iodeep::client

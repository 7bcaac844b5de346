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

namespace {

// A DICOMweb base URL: http(s)://host[:port][/path], no credentials, query or fragment.
Peer parseUrl(std::string_view text) {
  const bool https = text.rfind("https://", 0) == 0;
  const std::string_view rest = text.substr(https ? 8 : 7);
  // never echo credentials someone put in the address
  std::string shown(text);
  if (const auto at = rest.substr(0, rest.find('/')).find('@'); at != std::string_view::npos) {
    shown = std::string(text.substr(0, https ? 8 : 7)) + "***" + std::string(rest.substr(at));
  }
  const auto fail = [&](const std::string& why) {
    return Error(ErrorCode::InvalidArgument, "'" + shown + "' is not a DICOMweb address: " + why);
  };
  if (text.find_first_of("?#") != std::string_view::npos) throw fail("it has a query or a fragment");
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    throw fail("credentials do not belong in the address (\"dicomweb\" in the configuration)");
  }
  if (authority.empty()) throw fail("no host");
  Peer p;
  std::string_view host = authority;
  unsigned port = https ? 443 : 80;
  std::size_t colon = std::string_view::npos;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw fail("unclosed '['");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw fail("junk after the address");
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
    if (colon != std::string_view::npos) host = authority.substr(0, colon);
  }
  if (colon != std::string_view::npos) {
    const auto portText = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535) {
      throw fail("'" + std::string(portText) + "' is not a TCP port (1-65535)");
    }
  }
  if (host.empty()) throw fail("no host");
  p.host = std::string(host);
  p.port = static_cast<std::uint16_t>(port);
  p.url = std::string(text);
  while (p.url.size() > 1 && p.url.back() == '/') p.url.pop_back();
  return p;
}

}  // namespace

Peer Peer::parse(std::string_view text) {
  if (text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0) return parseUrl(text);
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
  if (!url.empty()) return url;
  return aeTitle + "@" + host + ":" + std::to_string(port);
}

void NetworkOptions::validate() const {
  if (findDeadlineSeconds == 0 || maxFindResults == 0) {
    throw Error(ErrorCode::InvalidArgument, "find_deadline and max_find_results must be at least 1");
  }
  if (!pacs.isWeb() && (pacs.aeTitle.empty() || pacs.host.empty() || pacs.port == 0)) {
    throw Error(ErrorCode::InvalidArgument,
                "no PACS given (--pacs AET@host:port or https://host/dicom-web, or the configuration file)");
  }
  if (pacs.isWeb()) {
    if (web.maxRetrieveBytes == 0) throw Error(ErrorCode::InvalidArgument, "max_retrieve_mb must be at least 1");
    if (!web.user.empty() && web.password.empty() && web.bearerToken.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  "DICOMweb user '" + web.user +
                      "' has no password (\"dicomweb\": {\"password_file\": ...} or $IODEEP_DICOMWEB_PASSWORD)");
    }
    if (pacs.url.rfind("https://", 0) != 0 && tls.enabled) {
      throw Error(ErrorCode::InvalidArgument,
                  "TLS is on but the DICOMweb address " + pacs.url + " is http://: use https://");
    }
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
  const bool https = pacs.url.rfind("https://", 0) == 0;
  if (!tls.enabled && !https) return;
  // (an https:// DICOMweb server uses these settings whether or not DICOM TLS is on)
  if (https && tls.certificate.empty() != tls.privateKey.empty()) {
    throw Error(ErrorCode::InvalidArgument, "a client certificate needs its private key, and the key its certificate");
  }
  if (https) {
    // HTTPS: our certificate is optional, and without trusted certificates the system's are used
    for (const auto& p : {tls.certificate, tls.privateKey}) {
      if (!p.empty() && !std::ifstream(p).good()) {
        throw Error(ErrorCode::FileNotFound, "a TLS file cannot be read", ErrorContext{.file = p.string()});
      }
    }
    return;
  }
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
  if (pacs.isWeb() && pacs.url.rfind("http://", 0) == 0 && (!web.user.empty() || !web.bearerToken.empty())) {
    w.emplace_back("DICOMweb credentials over plain http:// to " + pacs.url +
                   ": anyone on the path can read them; use https://");
  }
  if (pacs.isWeb() && pacs.url.rfind("https://", 0) == 0 && !tls.verifyPeer) {
    w.emplace_back(
        "HTTPS without peer verification: any server that answers is accepted (encrypted, but it may be an "
        "impostor)");
    return w;
  }
  if (tls.enabled && !tls.verifyPeer) {
    w.emplace_back(
        "DICOM TLS without peer verification: any peer that answers is accepted (encrypted, but it may be an "
        "impostor)");
  }
  return w;
}

}  // namespace iodeep::client

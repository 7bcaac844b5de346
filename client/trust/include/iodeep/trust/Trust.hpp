#pragma once
/// @file Trust.hpp
/// The trust policy for networks (docs/security.md): with require_signed_networks on, a network
/// is built only when a signature that covers the whole object verifies and its certificate
/// chains to a trusted certificate, valid now and when it signed. The signature is verified
/// (the data set hashed) once, when the object enters the model cache; the trust decision is
/// taken again on every use, so a change of the trusted certificates takes effect at once.

#include <filesystem>
#include <string>

#include "iodeep/iod/Signature.hpp"

namespace iodeep::client {

struct TrustPolicy {
  /// Build only networks signed by a trusted signer. Off by default (the demo's networks are
  /// unsigned); the production setting is on (docs/security.md).
  bool requireSignedNetworks{false};
  /// Trusted signer certificates and CAs (PEM files or directories of PEM files).
  iod::TrustAnchors anchors;
};

/// What the client knows of a network's signature, for reports and the audit log.
struct NetworkTrust {
  bool trusted{false};  ///< the policy lets it run (always true with the policy off)
  /// "trusted", "untrusted" (the chain, validity or signing time fails), "signed" (the
  /// signature holds, no trusted certificate is configured), "unsigned", "invalid" (no
  /// signature that holds over the whole object) or "not checked" (policy off, nothing verified).
  std::string status;
  std::string signer;                         ///< subject of the whole-object signature's certificate, or empty
  std::string signerFingerprint;              ///< its SHA-256 fingerprint, or empty
  std::string reason;                         ///< one line, e.g. "signed by CN=..., not trusted: ..."
  ErrorCode code{ErrorCode::UnsignedObject};  ///< when not trusted under the policy
};

/// The decision for a network whose signatures were verified into @p report. With the policy
/// off the network is trusted whatever the report says, and the status still says what the
/// signature is (anchors, when given, are still evaluated for the status).
[[nodiscard]] NetworkTrust decideNetworkTrust(const TrustPolicy& policy, const iod::SignatureReport& report);

/// Throws Error(trust.code) naming @p file and @p uid when @p trust does not let the network run.
void enforceNetworkTrust(const NetworkTrust& trust, const std::filesystem::path& file, const std::string& uid);

/// Verifies @p file's signatures (hashes the data set) and decides under @p policy.
[[nodiscard]] NetworkTrust checkNetworkFile(const TrustPolicy& policy, const std::filesystem::path& file);

}  // namespace iodeep::client

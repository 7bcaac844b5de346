#include "iodeep/trust/Trust.hpp"

#include "iodeep/iod/Error.hpp"

namespace iodeep::client {

NetworkTrust decideNetworkTrust(const TrustPolicy& policy, const iod::SignatureReport& report) {
  NetworkTrust t;
  if (const auto* s = report.wholeObjectSignature()) {
    t.signer = s->signer.subject;
    t.signerFingerprint = s->signer.sha256Fingerprint;
  }
  if (report.unsignedObject()) {
    t.status = "unsigned";
    t.code = ErrorCode::UnsignedObject;
    t.reason = "not signed";
  } else if (report.wholeObjectSignature() == nullptr) {
    t.status = "invalid";
    t.code = ErrorCode::SignatureInvalid;
    const auto& first = report.signatures.front();
    t.reason = "signature does not hold: " +
               (first.problem.empty() ? std::string("no whole-object signature") : first.problem);
  } else if (policy.anchors.certificates.empty()) {
    t.status = "signed";  // the signature holds; whom to trust is not configured
    t.code = ErrorCode::UntrustedSigner;
    t.reason = "signed by " + t.signer + ", not trusted: no trusted certificate is configured (trusted_signers)";
  } else {
    const auto decision = iod::evaluateTrust(report, policy.anchors);
    t.code = decision.code;
    t.reason = decision.reason;
    t.status = decision.trusted ? "trusted" : (decision.code == ErrorCode::SignatureInvalid ? "invalid" : "untrusted");
  }
  t.trusted = !policy.requireSignedNetworks || t.status == "trusted";
  return t;
}

void enforceNetworkTrust(const NetworkTrust& trust, const std::filesystem::path& file, const std::string& uid) {
  if (trust.trusted) return;
  throw Error(trust.code, "the trust policy (require_signed_networks) refuses this network: " + trust.reason,
              ErrorContext{.file = file.string(), .uid = uid});
}

NetworkTrust checkNetworkFile(const TrustPolicy& policy, const std::filesystem::path& file) {
  try {
    return decideNetworkTrust(policy, iod::verifyFileSignatures(file));
  } catch (Error& e) {
    e.inFile(file.string());
    throw;
  }
}

}  // namespace iodeep::client

#pragma once
// X.509 certificates as the signature code needs them: described for the report, checked for
// signing (validity, key usage). The trust decision itself (evaluateTrust) is public. Private to
// iod/src: names OpenSSL types.

#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>

#include "iodeep/iod/Signature.hpp"

namespace iodeep::iod::detail {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

/// Subject, issuer, serial number, validity, SHA-256 fingerprint, key type and PEM of @p cert.
[[nodiscard]] CertificateInfo describe(X509* cert);
/// "RSA", "ECDSA", "DSA" (or OpenSSL's short name) for @p cert's key; empty without a key.
[[nodiscard]] std::string algorithmOf(X509* cert);
/// e.g. "RSA 3072", "EC prime256v1"; "unknown" without a key.
[[nodiscard]] std::string keyTypeOf(X509* cert);
/// Key usage that allows signing: digitalSignature or nonRepudiation (contentCommitment), or no
/// key usage extension at all.
[[nodiscard]] bool allowsSigning(X509* cert);
/// Is @p cert valid at @p now? An empty string when it is, else why not.
[[nodiscard]] std::string validityProblem(X509* cert, std::time_t now);

}  // namespace iodeep::iod::detail

#pragma once
/// @file Signature.hpp
/// DICOM Digital Signatures (PS3.15 Annex C; DigitalSignaturesSequence (FFFA,FFFA) with the MAC
/// Parameters Sequence (4FFE,0001)) for IODeep objects and RT Structure Sets, and the trust
/// decision about a signer. DCMTK's dcmsign (libdcmdsig, OpenSSL) stays in iod/src: these types
/// are plain. See docs/security.md.
///
/// What we write: one top-level signature whose MAC covers the whole data set (no Data Elements
/// Signed list: every attribute present when signing, the private block and the payload
/// included), MAC algorithm SHA256, RSA (PKCS #1 v1.5) or ECDSA according to the key, the
/// signer's certificate (X.509, DER) and DigitalSignatureDateTime. What we accept: the same, or
/// any top-level signature whose MAC covers every attribute of the data set; a signature over a
/// subset of attributes is reported as not covering the object (the payload could be changed
/// without breaking it) and never counts as "signed".

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod {

/// An X.509 certificate, as shown to people and kept with a cache entry.
struct CertificateInfo {
  std::string subject;            ///< RFC 2253 form, e.g. "CN=Model Lab,O=Hospital"
  std::string issuer;             ///< RFC 2253 form
  std::string serialNumber;       ///< hex
  std::string notBefore;          ///< UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string notAfter;           ///< UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string sha256Fingerprint;  ///< lower-case hex of the DER encoding, no separators
  std::string keyType;            ///< e.g. "RSA 3072", "EC prime256v1"
  std::string pem;                ///< the certificate itself (PEM), for re-checking trust later
};

/// One top-level item of the DigitalSignaturesSequence, as verified.
struct SignatureInfo {
  /// The MAC and the signature verify against the data set as it is now.
  bool verified{false};
  /// The MAC covers every attribute of the data set (no Data Elements Signed list, or one that
  /// lists every attribute present).
  bool coversWholeDataset{false};
  /// When not verified or not covering: why, one line (e.g. "MAC does not match: data changed
  /// after signing", "signs 3 of 27 attributes: (7FE0,0010) ... unsigned").
  std::string problem;
  std::string macAlgorithm;        ///< "SHA256", "SHA384", ... as recorded in the MAC parameters
  std::string signatureAlgorithm;  ///< "RSA", "ECDSA", "DSA"
  std::string signingDateTime;     ///< DigitalSignatureDateTime as UTC "YYYY-MM-DDTHH:MM:SSZ" (or as stored when no offset)
  std::string uid;                 ///< DigitalSignatureUID
  std::uint16_t macIdNumber{0};
  std::string profile;             ///< the PS3.15 signature profile it follows, when one is recorded; else empty
  CertificateInfo signer;
};

/// Every top-level signature of a data set. Signatures inside sequence items are not listed.
struct SignatureReport {
  std::vector<SignatureInfo> signatures;

  /// True when there is no signature at all.
  [[nodiscard]] bool unsignedObject() const noexcept { return signatures.empty(); }
  /// The first signature that verifies and covers the whole data set, or nullptr.
  [[nodiscard]] const SignatureInfo* wholeObjectSignature() const noexcept;
};

/// Key and certificate of a signer (PEM files; the key may be protected by @p passphrase).
struct SigningCredentials {
  std::filesystem::path privateKey;
  std::filesystem::path certificate;
  std::string passphrase;
};

/// Signs @p input into @p output (may be the same path): adds one top-level signature over the
/// whole data set as described above and writes the file atomically (temp file + rename) in the
/// input's transfer syntax, keeping any earlier signature. Throws Error(FileNotFound, NotDicom,
/// TruncatedDicom) for the input, Error(SigningFailed) for a key or certificate that cannot be
/// read, do not belong together, or a certificate that is not valid now, Error(OutputError).
void signFile(const std::filesystem::path& input, const std::filesystem::path& output,
              const SigningCredentials& credentials);

/// Reads @p file and verifies each top-level signature (MAC over the data set as stored, the
/// signature with the certificate's public key). Never throws for a signature that does not
/// verify: that is in the report. Throws Error(FileNotFound, NotDicom, TruncatedDicom) for the
/// file, Error(SignatureInvalid) for a DigitalSignaturesSequence that cannot be parsed (e.g.
/// truncated, no certificate).
[[nodiscard]] SignatureReport verifyFileSignatures(const std::filesystem::path& file);

/// What the client trusts: PEM files (each may hold several certificates) or directories of PEM
/// files. A listed certificate is a trust anchor: a CA whose chain leads to the signer, or the
/// signer's own (self-signed or not) certificate.
struct TrustAnchors {
  std::vector<std::filesystem::path> certificates;
};

/// The trust decision about one object.
struct TrustDecision {
  bool trusted{false};
  /// When not trusted: UnsignedObject, SignatureInvalid or UntrustedSigner.
  ErrorCode code{ErrorCode::UnsignedObject};
  /// One line: who signed and why it is (not) trusted, e.g. "signed by CN=Model Lab, not
  /// trusted: the chain does not lead to a trusted certificate".
  std::string reason;
};

/// Decides whether @p report makes the object trusted under @p anchors: a signature that
/// verifies and covers the whole data set, whose certificate chains to an anchor, is valid at
/// @p nowUtc (UTC "YYYY-MM-DDTHH:MM:SSZ"; empty: the current time) and was valid at the signing
/// time (a signature dated before the certificate's notBefore or after its notAfter is refused).
/// Cheap: no hashing of the data set (the report already holds the MAC result). Throws
/// Error(FileNotFound, SignatureInvalid) for an anchor that cannot be read.
[[nodiscard]] TrustDecision evaluateTrust(const SignatureReport& report, const TrustAnchors& anchors,
                                          const std::string& nowUtc = {});

}  // namespace iodeep::iod

#pragma once
/// @file Signature.hpp
/// DICOM Digital Signatures (PS3.15 Annex C; DigitalSignaturesSequence (FFFA,FFFA) with the MAC
/// Parameters Sequence (4FFE,0001)) for IODeep objects and RT Structure Sets, and the trust
/// decision about a signer. DCMTK's dcmsign (libdcmdsig, OpenSSL) stays in iod/src: these types
/// are plain. See docs/security.md.
///
/// What we write: one top-level signature whose MAC covers the whole data set (every attribute
/// present when signing, the private block and the payload included; its Data Elements Signed
/// (0400,0020), Type 1 in PS3.3 C.12.1.1.3, lists them all), MAC algorithm SHA256, RSA (PKCS #1
/// v1.5) or ECDSA according to the key, the signer's certificate (X.509, DER, Certificate Type
/// X509_1993_SIG) and DigitalSignatureDateTime. What we accept: any top-level signature whose
/// MAC verifies and whose Data Elements Signed lists every attribute of the data set; a
/// signature over a subset of attributes is reported as not covering the object (the payload
/// could be changed without breaking it) and never counts as "signed". A signature without Data
/// Elements Signed is reported as not verified (DCMTK, like the standard, requires the list).

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
  /// The MAC covers every attribute of the data set: its Data Elements Signed lists every
  /// top-level attribute present (group lengths, the signature sequences and trailing padding,
  /// which no signature can cover, aside).
  bool coversWholeDataset{false};
  /// When not verified or not covering: why, one line (e.g. "MAC does not match: data changed
  /// after signing", "signs 3 of 27 attributes; unsigned: (0017,1010) DnnWeightsPayload, ...").
  /// Verification problems come first; coverage is reported for a signature that verifies.
  std::string problem;
  /// "(gggg,eeee)" of every top-level attribute present that the signature does not cover, the
  /// largest values first; empty when it covers the whole data set.
  std::vector<std::string> unsignedAttributes;
  std::string macAlgorithm;        ///< "SHA256", "SHA384", ... as recorded in the MAC parameters
  std::string signatureAlgorithm;  ///< "RSA", "ECDSA", "DSA"
  std::string
      signingDateTime;  ///< DigitalSignatureDateTime as UTC "YYYY-MM-DDTHH:MM:SSZ" (or as stored when no offset)
  std::string uid;      ///< DigitalSignatureUID
  std::uint16_t macIdNumber{0};
  /// The PS3.15 signature profile whose rules it meets, as checked: "Base RSA" (RSA, one of the
  /// profile's MAC algorithms, an Explicit VR MAC transfer syntax, an X.509 certificate); empty
  /// otherwise (e.g. ECDSA, for which PS3.15 defines no profile). DICOM records no profile.
  std::string profile;
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

/// Initialises the signature toolkit (DCMTK dcmsign and OpenSSL's providers, which OpenSSL opens
/// with dlopen) now rather than at the first signature read: a program that is about to load
/// other libraries in another thread calls it first, since a dlopen waits for any other to end.
/// Idempotent and thread-safe; every function here calls it.
void initialiseSignatures();

/// Checks @p credentials as signFile does before it reads the data (fail fast, e.g. before a
/// prediction whose result is to be signed): the files exist (Error(FileNotFound)), the key and
/// certificate can be read (with the passphrase), belong together, and the certificate is valid
/// now and allows signing (key usage digitalSignature or nonRepudiation, when restricted);
/// Error(SigningFailed) otherwise.
void checkSigningCredentials(const SigningCredentials& credentials);

/// Signs @p input into @p output (may be the same path): adds one top-level signature over the
/// whole data set as described above and writes the file atomically (temp file + rename) in the
/// input's transfer syntax with its file meta information (a file without one gets one), keeping
/// any earlier signature. The MAC is computed in Explicit VR Little Endian, or in the input's
/// transfer syntax when that is encapsulated (compressed pixel data). Returns the signature
/// added (verified and coversWholeDataset true: it was just made over everything). Throws
/// Error(FileNotFound, NotDicom, TruncatedDicom) for the input, Error(FileNotFound) for a key or
/// certificate file that does not exist, Error(SigningFailed) for a key or certificate that
/// cannot be read, do not belong together, a certificate that is not valid now or not for
/// signing, an attribute no signature can cover (VR UN), or an earlier signature in the file
/// that does not verify; Error(SignatureInvalid) for a signature sequence that is not a
/// sequence; Error(OutputError). Nothing is written when it throws.
SignatureInfo signFile(const std::filesystem::path& input, const std::filesystem::path& output,
                       const SigningCredentials& credentials);

/// Reads @p file and verifies each top-level signature (MAC over the data set as stored, the
/// signature with the certificate's public key); the data set is hashed once per signature,
/// large values streamed from the file, not held in memory. Never throws for a signature that
/// does not verify: that is in the report, as is an item that parses but lacks a part (no
/// certificate, no MAC parameters, no Data Elements Signed, no signature). Throws
/// Error(FileNotFound, NotDicom, TruncatedDicom) for the file, Error(SignatureInvalid) for a
/// DigitalSignaturesSequence (or MAC Parameters Sequence) that cannot be parsed: truncated or
/// damaged so that the file reads only up to it, or not a sequence.
[[nodiscard]] SignatureReport verifyFileSignatures(const std::filesystem::path& file);

/// What the client trusts: PEM files (each may hold several certificates) or directories of PEM
/// files (those ending .pem, .crt or .cer). A listed certificate is a trust anchor: a CA whose
/// chain leads to the signer, or the signer's own (self-signed or not) certificate.
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
/// time (a signature dated before the certificate's notBefore or after its notAfter, or later
/// than @p nowUtc, is refused; a DigitalSignatureDateTime without a UTC offset is taken as UTC).
/// Any signature that does not verify makes the object SignatureInvalid, whatever the others
/// say; so does having only signatures over a subset of attributes. No trusted signature:
/// UntrustedSigner with the first whole-object signature's reason. Cheap: no hashing of the data
/// set (the report already holds the MAC result). Throws Error(FileNotFound, SignatureInvalid)
/// for an anchor that cannot be read (no certificate in it), Error(InvalidArgument) for a
/// @p nowUtc that is not in the form above.
[[nodiscard]] TrustDecision evaluateTrust(const SignatureReport& report, const TrustAnchors& anchors,
                                          const std::string& nowUtc = {});

}  // namespace iodeep::iod

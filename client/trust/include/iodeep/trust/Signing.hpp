#pragma once
/// @file Signing.hpp
/// DICOM digital signatures in the client's workflows (docs/security.md, "Digital signatures"):
/// signing a file (`iodeep sign`), the signature part of `iodeep inspect` and `iodeep rtstruct
/// show`, and the signer's credentials as the command line gives them. The cryptography is
/// iod's (iod/Signature.hpp).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"

namespace iodeep::client {

/// A signer's credentials: key and certificate (PEM), and, when @p passphraseFile is not empty,
/// the key's passphrase from that file's first line (without its line end). Throws
/// Error(FileNotFound) when the passphrase file cannot be read; the key and certificate are
/// checked where they are used (iod::checkSigningCredentials).
[[nodiscard]] iod::SigningCredentials signingCredentials(const std::filesystem::path& privateKey,
                                                         const std::filesystem::path& certificate,
                                                         const std::filesystem::path& passphraseFile = {});

/// What `iodeep sign` did.
struct SignResult {
  std::filesystem::path input, output;
  iod::SignatureInfo signature;  ///< the signature added

  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Signs any DICOM file (an IODeep object, an RT Structure Set, ...) into @p output, which may be
/// @p input (in place); atomic, nothing partial on failure. Throws what iod::signFile throws.
[[nodiscard]] SignResult signObject(const std::filesystem::path& input, const std::filesystem::path& output,
                                    const iod::SigningCredentials& credentials);

/// One reason a file's signatures are not acceptable.
struct SignatureProblem {
  ErrorCode code;       ///< SignatureInvalid, or the trust decision's code
  std::string message;  ///< one line, naming the signature and its signer
};

/// The signatures of a file as verified, and the trust decision when trust anchors were given.
struct SignatureCheck {
  iod::SignatureReport report;
  std::optional<iod::TrustDecision> trust;  ///< only when anchors were given

  /// No signature is broken or leaves attributes unsigned, and, when trust was asked, trusted.
  /// An unsigned object is fine unless trust was asked.
  [[nodiscard]] bool ok() const noexcept;
  /// Why not ok(): each broken or partial signature, then the trust decision (empty when ok()).
  [[nodiscard]] std::vector<SignatureProblem> problems() const;
  /// The signer block of inspect and rtstruct show ("signature 1: verified, ...").
  [[nodiscard]] std::string toText() const;
  /// {"signed": bool, "signatures": [...], "trust": {...}} (trust only when asked).
  [[nodiscard]] std::string toJson() const;
};

/// Verifies every top-level signature of @p file and, with @p anchors, decides trust. Throws what
/// iod::verifyFileSignatures and iod::evaluateTrust throw (a damaged signature sequence:
/// SignatureInvalid).
[[nodiscard]] SignatureCheck checkSignatures(const std::filesystem::path& file,
                                             const std::optional<iod::TrustAnchors>& anchors = std::nullopt);

}  // namespace iodeep::client

#pragma once
// Signing a data set in memory, shared by signFile (Signature.cpp) and writeIodeep (an object
// signed before it is first written). Private to iod/src: names DCMTK types.

#include <dcmtk/dcmdata/dctk.h>

#include <memory>

#include "iodeep/iod/Signature.hpp"

class SiCertificate;
class SiPrivateKey;

namespace iodeep::iod::detail {

/// A signer's key and certificate, read and checked (checkSigningCredentials) on construction.
class Signer {
 public:
  /// Throws Error(FileNotFound, SigningFailed) as checkSigningCredentials does.
  explicit Signer(const SigningCredentials& credentials);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;
  Signer(Signer&&) = delete;
  Signer& operator=(Signer&&) = delete;

  /// Adds one top-level signature over every attribute of @p dataset (SHA256 MAC computed in
  /// @p macXfer). Earlier signatures in it must verify. Throws Error(SigningFailed) with
  /// @p where, and leaves @p dataset unusable then (the caller writes nothing).
  SignatureInfo sign(DcmItem& dataset, E_TransferSyntax macXfer, const ErrorContext& where);

 private:
  std::unique_ptr<SiPrivateKey> key_;
  std::unique_ptr<SiCertificate> certificate_;
  SigningCredentials credentials_;
};

/// The transfer syntax a MAC over a data set stored in @p stored is computed in: Explicit VR
/// Little Endian, or @p stored itself when it is encapsulated (compressed pixel data cannot be
/// re-encoded), as dcmsign chooses.
[[nodiscard]] E_TransferSyntax macTransferSyntax(E_TransferSyntax stored);

}  // namespace iodeep::iod::detail

// X.509 certificates: describing them for the signature report, checking them for signing, and
// deciding whether a verified signature's signer is trusted (evaluateTrust, against trust anchors).
#include "CertificateTrust.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "DicomDateTime.hpp"

namespace iodeep::iod::detail {

namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const noexcept { X509_STORE_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct OpenSslFree {
  void operator()(char* p) const noexcept { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, StoreCtxFree>;

// The last OpenSSL error as text (and the queue cleared), or "" when there is none.
std::string openSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return {};
  return {data, static_cast<std::size_t>(n)};
}

std::string nameRfc2253(const X509_NAME* name) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return bioText(bio.get());
}

std::optional<std::time_t> asn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

}  // namespace

// ---------------------------------------------------------------- describing, checking for signing

std::string keyTypeOf(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return "unknown";
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA " + std::to_string(bits);
    case EVP_PKEY_DSA: return "DSA " + std::to_string(bits);
    case EVP_PKEY_EC: {
      std::array<char, 80> group{};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) == 1) return "EC " + std::string(group.data());
      return "EC " + std::to_string(bits);
    }
    default: return std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(key))) + " " + std::to_string(bits);
  }
}

std::string algorithmOf(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return {};
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_DSA: return "DSA";
    default: return OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  }
}

CertificateInfo describe(X509* cert) {
  CertificateInfo c;
  c.subject = nameRfc2253(X509_get_subject_name(cert));
  c.issuer = nameRfc2253(X509_get_issuer_name(cert));
  if (const std::unique_ptr<BIGNUM, BnFree> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)); bn) {
    if (const std::unique_ptr<char, OpenSslFree> hex(BN_bn2hex(bn.get())); hex) {
      c.serialNumber = hex.get();
      std::transform(c.serialNumber.begin(), c.serialNumber.end(), c.serialNumber.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    }
  }
  if (const auto t = asn1Time(X509_get0_notBefore(cert))) c.notBefore = formatUtc(*t);
  if (const auto t = asn1Time(X509_get0_notAfter(cert))) c.notAfter = formatUtc(*t);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int mdLength = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &mdLength) == 1) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    for (unsigned int i = 0; i < mdLength; ++i) {
      c.sha256Fingerprint += kHex[md[i] >> 4U];
      c.sha256Fingerprint += kHex[md[i] & 0x0FU];
    }
  }
  c.keyType = keyTypeOf(cert);
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio && PEM_write_bio_X509(bio.get(), cert) == 1) c.pem = bioText(bio.get());
  return c;
}

bool allowsSigning(X509* cert) {
  const std::uint32_t usage = X509_get_key_usage(cert);
  return usage == UINT32_MAX || (usage & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

std::string validityProblem(X509* cert, std::time_t now) {
  const auto notBefore = asn1Time(X509_get0_notBefore(cert));
  const auto notAfter = asn1Time(X509_get0_notAfter(cert));
  if (!notBefore || !notAfter) return "its validity period cannot be read";
  if (now < *notBefore) return "it is not valid before " + formatUtc(*notBefore);
  if (now > *notAfter) return "it expired on " + formatUtc(*notAfter);
  return {};
}

// ---------------------------------------------------------------- trust

namespace {

X509Ptr parsePem(const std::string& pem) {
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

void addPemFile(X509_STORE* store, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open the trusted certificates", {.file = file.string()});
  std::ostringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::size_t added = 0;
  while (bio) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      throw Error(ErrorCode::SignatureInvalid, "cannot add a trusted certificate: " + openSslError(),
                  {.file = file.string()});
    }
    ++added;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (added == 0) {
    throw Error(ErrorCode::SignatureInvalid, "no PEM certificate in the trusted certificates file",
                {.file = file.string()});
  }
}

StorePtr loadAnchors(const TrustAnchors& anchors) {
  StorePtr store(X509_STORE_new());
  if (!store) throw Error(ErrorCode::Internal, "cannot create a certificate store: " + openSslError());
  for (const auto& p : anchors.certificates) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      throw Error(ErrorCode::FileNotFound, "trusted certificates: no such file or directory", {.file = p.string()});
    }
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".cer")) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) addPemFile(store.get(), f);
    } else {
      addPemFile(store.get(), p);
    }
  }
  return store;
}

std::string whoSigned(const SignatureInfo& s) {
  return s.signer.subject.empty() ? std::string("an unknown signer") : s.signer.subject;
}

// Why @p s is not trusted under @p store at @p now, or empty (then @p anchor names the
// certificate the chain ends at).
std::string untrustedBecause(const SignatureInfo& s, X509_STORE* store, std::time_t now, std::string& anchor) {
  const X509Ptr cert = parsePem(s.signer.pem);
  if (!cert) {
    ERR_clear_error();
    return "the signer's certificate cannot be read";
  }
  const auto notBefore = asn1Time(X509_get0_notBefore(cert.get()));
  const auto notAfter = asn1Time(X509_get0_notAfter(cert.get()));
  if (!notBefore || !notAfter) return "the certificate's validity period cannot be read";
  if (s.signingDateTime.empty()) return "the signature has no DigitalSignatureDateTime (0400,0105)";
  const auto signedAt = parseIso(s.signingDateTime);
  if (!signedAt) return "DigitalSignatureDateTime '" + s.signingDateTime + "' cannot be read";
  if (*signedAt < *notBefore) {
    return "signed at " + formatUtc(*signedAt) + ", before the certificate's validity began (" + formatUtc(*notBefore) +
           ")";
  }
  if (*signedAt > *notAfter) {
    return "signed at " + formatUtc(*signedAt) + ", after the certificate expired (" + formatUtc(*notAfter) + ")";
  }
  // a few minutes of clock difference between machines are not a forged date
  constexpr std::time_t kClockSlack = std::time_t{5} * 60;
  if (*signedAt > now + kClockSlack) return "dated " + formatUtc(*signedAt) + ", later than now";
  if (!allowsSigning(cert.get())) {
    return "the certificate's key usage does not allow signing (neither digitalSignature nor nonRepudiation)";
  }
  const StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, cert.get(), nullptr) != 1) {
    throw Error(ErrorCode::Internal, "cannot set up certificate verification: " + openSslError());
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, now);
  // a listed certificate is an anchor even when it is not self-signed (an intermediate CA, or the
  // signer's own certificate)
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) == 1) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    const int n = chain == nullptr ? 0 : sk_X509_num(chain);
    anchor = n > 0 ? nameRfc2253(X509_get_subject_name(sk_X509_value(chain, n - 1))) : std::string();
    return {};
  }
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  ERR_clear_error();
  const std::string what = X509_verify_cert_error_string(err);
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "the chain does not lead to a trusted certificate (" + what + ")";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return depth == 0 ? "the certificate expired on " + formatUtc(*notAfter)
                        : "a certificate of its chain has expired (" + what + ")";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return depth == 0 ? "the certificate is not valid before " + formatUtc(*notBefore)
                        : "a certificate of its chain is not yet valid (" + what + ")";
    default: return "certificate verification failed: " + what;
  }
}

}  // namespace

}  // namespace iodeep::iod::detail

namespace iodeep::iod {

TrustDecision evaluateTrust(const SignatureReport& report, const TrustAnchors& anchors, const std::string& nowUtc) {
  std::time_t now = std::time(nullptr);
  if (!nowUtc.empty()) {
    const auto parsed = detail::parseIso(nowUtc);
    if (!parsed) {
      throw Error(ErrorCode::InvalidArgument, "time '" + nowUtc + "' is not UTC \"YYYY-MM-DDTHH:MM:SSZ\"");
    }
    now = *parsed;
  }
  // read first: an anchor file that cannot be read is an error whatever the object holds
  const detail::StorePtr store = detail::loadAnchors(anchors);
  TrustDecision d;
  if (report.signatures.empty()) {
    d.code = ErrorCode::UnsignedObject;
    d.reason = "not signed: there is no signature to trust";
    return d;
  }
  for (std::size_t i = 0; i < report.signatures.size(); ++i) {
    const auto& s = report.signatures[i];
    if (!s.verified) {
      d.code = ErrorCode::SignatureInvalid;
      d.reason = "signed by " + detail::whoSigned(s) + ", not trusted: signature " + std::to_string(i + 1) +
                 " does not verify: " + s.problem;
      return d;
    }
  }
  std::vector<const SignatureInfo*> whole;
  for (const auto& s : report.signatures) {
    if (s.coversWholeDataset) whole.push_back(&s);
  }
  if (whole.empty()) {
    const auto& s = report.signatures.front();
    d.code = ErrorCode::SignatureInvalid;
    d.reason =
        "signed by " + detail::whoSigned(s) + ", not trusted: no signature covers the whole object: " + s.problem;
    return d;
  }
  std::string firstReason;
  for (const SignatureInfo* s : whole) {
    std::string anchor;
    const std::string why = detail::untrustedBecause(*s, store.get(), now, anchor);
    if (why.empty()) {
      d.trusted = true;
      d.code = ErrorCode::UnsignedObject;  // unused when trusted
      d.reason = "signed by " + detail::whoSigned(*s) + " at " + s->signingDateTime + ", trusted: the chain leads to " +
                 (anchor.empty() ? std::string("a trusted certificate") : anchor);
      return d;
    }
    if (firstReason.empty()) firstReason = "signed by " + detail::whoSigned(*s) + ", not trusted: " + why;
  }
  d.code = ErrorCode::UntrustedSigner;
  d.reason = firstReason;
  return d;
}

}  // namespace iodeep::iod

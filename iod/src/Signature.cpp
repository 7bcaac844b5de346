#include "iodeep/iod/Signature.hpp"

#include <dcmtk/dcmdata/dcvrat.h>
#include <dcmtk/dcmdata/dcvrdt.h>
#include <dcmtk/dcmsign/dcsignat.h>
#include <dcmtk/dcmsign/sibrsapr.h>
#include <dcmtk/dcmsign/sicert.h>
#include <dcmtk/dcmsign/simdmac.h>
#include <dcmtk/dcmsign/sinullpr.h>
#include <dcmtk/dcmsign/siprivat.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "SignatureSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"

namespace iodeep::iod {

void initialiseSignatures() {
  static std::once_flag once;
  std::call_once(once, [] { DcmSignature::initializeLibrary(); });
}

namespace {

// Values longer than this stay in the file while it is signed or verified: the MAC streams them
// from there (DcmWriteCache), so a 125 MB payload is read once per signature and never held.
constexpr std::uint32_t kStreamAbove = 1U << 20U;
constexpr std::size_t kUnsignedListed = 6;  // unsigned attributes named in a problem line

// ---------------------------------------------------------------- OpenSSL helpers

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
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
using X509Ptr = std::unique_ptr<X509, X509Free>;
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

std::string formatUtc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::optional<std::time_t> asn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

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

X509Ptr parsePem(const std::string& pem) {
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// Key usage that allows signing: digitalSignature or nonRepudiation (contentCommitment), or no
// key usage extension at all.
bool allowsSigning(X509* cert) {
  const std::uint32_t usage = X509_get_key_usage(cert);
  return usage == UINT32_MAX || (usage & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

// ---------------------------------------------------------------- times

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

int number(std::string_view s) {
  int v = 0;
  for (const char c : s) v = v * 10 + (c - '0');
  return v;
}

struct ParsedTime {
  std::time_t utc{0};
  bool hasOffset{false};
};

// A DICOM DT value "YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]" (PS3.5 6.2). Without an offset the
// value is taken as UTC (hasOffset false).
std::optional<ParsedTime> parseDicomDateTime(std::string_view dt) {
  while (!dt.empty() && (dt.back() == ' ' || dt.back() == '\0')) dt.remove_suffix(1);
  std::string_view offset;
  if (const auto sign = dt.find_first_of("+-"); sign != std::string_view::npos) {
    offset = dt.substr(sign);
    dt = dt.substr(0, sign);
  }
  if (const auto dot = dt.find('.'); dot != std::string_view::npos) {
    if (dot != 14 || !allDigits(dt.substr(dot + 1))) return std::nullopt;
    dt = dt.substr(0, dot);
  }
  if (dt.size() < 4 || dt.size() > 14 || dt.size() % 2 != 0 || !allDigits(dt)) return std::nullopt;
  const auto part = [&](std::size_t pos, int fallback) {
    return dt.size() >= pos + 2 ? number(dt.substr(pos, 2)) : fallback;
  };
  std::tm tm{};
  tm.tm_year = number(dt.substr(0, 4)) - 1900;
  tm.tm_mon = part(4, 1) - 1;
  tm.tm_mday = part(6, 1);
  tm.tm_hour = part(8, 0);
  tm.tm_min = part(10, 0);
  tm.tm_sec = part(12, 0);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  ParsedTime p;
  p.utc = timegm(&tm);
  if (!offset.empty()) {
    if (offset.size() != 5 || !allDigits(offset.substr(1))) return std::nullopt;
    const int minutes = number(offset.substr(1, 2)) * 60 + number(offset.substr(3, 2));
    // local = UTC + offset
    p.utc -= static_cast<std::time_t>(offset[0] == '-' ? -minutes : minutes) * 60;
    p.hasOffset = true;
  }
  return p;
}

// "YYYY-MM-DDTHH:MM:SS" with an optional "Z".
std::optional<std::time_t> parseIso(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const std::string digits = std::string(s.substr(0, 4)) + std::string(s.substr(5, 2)) + std::string(s.substr(8, 2)) +
                             std::string(s.substr(11, 2)) + std::string(s.substr(14, 2)) + std::string(s.substr(17, 2));
  const auto p = parseDicomDateTime(digits);
  if (!p) return std::nullopt;
  return p->utc;
}

// DigitalSignatureDateTime as the report shows it: UTC with "Z" when the value has an offset,
// else as stored (no "Z"); the raw value when it cannot be read.
std::string signingTimeText(const std::string& dt) {
  const auto p = parseDicomDateTime(dt);
  if (!p) return dt;
  std::string text = formatUtc(p->utc);
  if (!p->hasOffset) text.pop_back();
  return text;
}

// ---------------------------------------------------------------- reading one signature

std::string tagText(const DcmTagKey& key) {
  std::string s = key.toString().c_str();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Every top-level attribute a signature could cover: all but group lengths, Length to End, the
// signature sequences and Data Set Trailing Padding (DcmTagKey::isSignableTag, PS3.15 C.1).
struct Present {
  DcmTagKey key;
  std::string name;
  std::uint32_t length{0};
};
std::vector<Present> signableAttributes(DcmItem& dataset) {
  std::vector<Present> out;
  for (unsigned long i = 0; i < dataset.card(); ++i) {
    DcmElement* e = dataset.getElement(i);
    if (e == nullptr) continue;
    const DcmTagKey key(e->getTag().getXTag());
    if (!key.isSignableTag()) continue;
    DcmTag tag(e->getTag());  // getTagName() looks the name up (with the private creator): not const
    std::string name = tag.getTagName();
    if (name == DcmTag_ERROR_TagName || name.rfind("Unknown", 0) == 0) name.clear();
    out.push_back({key, std::move(name), e->getLength()});
  }
  return out;
}

// Fills coversWholeDataset, unsignedAttributes and (for a partial signature) problem from the
// selected signature's Data Elements Signed. False when there is no such list.
bool checkCoverage(DcmSignature& sig, DcmItem& dataset, SignatureInfo& info) {
  DcmAttributeTag signedTags(DCM_DataElementsSigned);
  if (sig.getCurrentDataElementsSigned(signedTags).bad()) return false;
  std::set<DcmTagKey> listed;
  for (unsigned long i = 0; i < signedTags.getVM(); ++i) {
    DcmTagKey key;
    if (signedTags.getTagVal(key, i).good()) listed.insert(key);
  }
  auto present = signableAttributes(dataset);
  std::vector<Present> missing;
  for (const auto& p : present) {
    if (listed.count(p.key) == 0) missing.push_back(p);
  }
  info.coversWholeDataset = missing.empty();
  if (missing.empty()) return true;
  // the largest values first: the payload (what matters most) leads the list
  std::stable_sort(missing.begin(), missing.end(),
                   [](const Present& a, const Present& b) { return a.length > b.length; });
  std::ostringstream problem;
  problem << "signs " << present.size() - missing.size() << " of " << present.size() << " attributes; unsigned: ";
  for (std::size_t i = 0; i < missing.size(); ++i) {
    info.unsignedAttributes.push_back(tagText(missing[i].key));
    if (i < kUnsignedListed) {
      problem << (i > 0 ? ", " : "") << tagText(missing[i].key)
              << (missing[i].name.empty() ? "" : " " + missing[i].name);
    }
  }
  if (missing.size() > kUnsignedListed) problem << " and " << missing.size() - kUnsignedListed << " more";
  problem << " (they could be changed without breaking the signature)";
  info.problem = problem.str();
  return true;
}

// The MAC and the signature verified. DCMTK checks the signing time against the certificate
// after that (ignoring the time zone); that check is evaluateTrust's, so those outcomes count
// as verified here.
bool macAndSignatureVerified(const OFCondition& cond) {
  return cond.good() || cond == SI_EC_VerificationFailed_CertExpiredAtSignature ||
         cond == SI_EC_VerificationFailed_CertNotYetValidAtSig;
}

std::string verificationProblem(const OFCondition& cond) {
  if (cond == SI_EC_VerificationFailed_Corrupted) {
    return "MAC does not match: the data changed after signing, or the signature is damaged";
  }
  if (cond == SI_EC_VerificationFailed_NoMAC) {
    return "no usable MAC Parameters item (4FFE,0001) for this signature (MAC ID, transfer syntax or algorithm "
           "missing)";
  }
  if (cond == SI_EC_VerificationFailed_NoCertificate) {
    return "no readable X.509 certificate of the signer (0400,0115)";
  }
  if (cond == SI_EC_VerificationFailed_NoSignature) return "no Signature (0400,0120)";
  if (cond == SI_EC_VerificationFailed_NoDataElementsSigned) {
    return "no Data Elements Signed (0400,0020), which the standard requires: what it covers is unknown";
  }
  if (cond == SI_EC_VerificationFailed_UnsupportedMACAlgorithm) return "unsupported MAC algorithm";
  if (cond == SI_EC_WrongTransferSyntax) return "unsupported MAC calculation transfer syntax";
  if (cond == SI_EC_VerificationFailed_AttributeNotSignable) {
    return "signs an attribute that cannot be signed (VR UN)";
  }
  return std::string("does not verify: ") + cond.text();
}

// Everything about the selected signature except the verification itself.
SignatureInfo describeSelected(DcmSignature& sig, DcmItem& dataset) {
  SignatureInfo info;
  Uint16 macId = 0;
  if (sig.getCurrentMacID(macId).good()) info.macIdNumber = macId;
  OFString text;
  if (sig.getCurrentSignatureUID(text).good()) info.uid = text.c_str();
  if (sig.getCurrentSignatureDateTime(text).good()) info.signingDateTime = signingTimeText(text.c_str());
  if (sig.getCurrentMacName(text).good()) info.macAlgorithm = text.c_str();
  if (DcmItem* item = sig.getSelectedSignatureItem(); item != nullptr) {
    const Uint8* der = nullptr;
    unsigned long length = 0;
    if (item->findAndGetUint8Array(DCM_CertificateOfSigner, der, &length).good() && der != nullptr && length > 0) {
      const unsigned char* p = der;
      const X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(length)));
      if (cert) {
        info.signer = describe(cert.get());
        info.signatureAlgorithm = algorithmOf(cert.get());
      }
      ERR_clear_error();
    }
  }
  SiBaseRSAProfile baseRsa;
  if (sig.verifySignatureProfile(baseRsa).good()) info.profile = "Base RSA";
  if (!checkCoverage(sig, dataset, info)) {
    info.coversWholeDataset = false;
    info.problem = verificationProblem(SI_EC_VerificationFailed_NoDataElementsSigned);
  }
  return info;
}

// Verifies the selected signature into @p info (problem: verification first).
void verifySelected(DcmSignature& sig, SignatureInfo& info) {
  const OFCondition cond = sig.verifyCurrent();
  info.verified = macAndSignatureVerified(cond);
  if (!info.verified) info.problem = verificationProblem(cond);
}

// A signature sequence element that is there but is not a sequence cannot be read at all.
void requireSequence(DcmItem& dataset, const DcmTagKey& key, const std::string& what, const ErrorContext& where) {
  DcmElement* e = nullptr;
  if (dataset.findAndGetElement(key, e).good() && e != nullptr && e->ident() != EVR_SQ) {
    ErrorContext here = where;
    here.dicomTag = tagText(key);
    throw Error(ErrorCode::SignatureInvalid,
                what + " is not a sequence (VR " + std::string(DcmVR(e->ident()).getVRName()) + ")", here);
  }
}

// loadFile refused @p path: when the file reads up to the DigitalSignaturesSequence, the damage
// lies there (a truncated or damaged signature), which is SignatureInvalid; otherwise the
// original error stands.
[[noreturn]] void explainUnreadable(const std::filesystem::path& path, const Error& original) {
  try {
    (void)dcmtk::loadFileUntil(path, DCM_DigitalSignaturesSequence, kStreamAbove);
  } catch (const Error&) {
    throw original;
  }
  throw Error(ErrorCode::SignatureInvalid,
              "the DigitalSignaturesSequence is truncated or damaged (" + original.detail() + ")",
              ErrorContext{.file = path.string(), .dicomTag = tagText(DCM_DigitalSignaturesSequence)});
}

// ---------------------------------------------------------------- credentials

void requireFile(const std::filesystem::path& p, const std::string& what) {
  std::error_code ec;
  if (p.empty()) throw Error(ErrorCode::InvalidArgument, "no " + what + " file given");
  if (!std::filesystem::exists(p, ec)) {
    throw Error(ErrorCode::FileNotFound, what + ": no such file", ErrorContext{.file = p.string()});
  }
}

[[noreturn]] void signingFailed(const std::string& detail, const std::filesystem::path& file) {
  throw Error(ErrorCode::SigningFailed, detail, ErrorContext{.file = file.string()});
}

// Is @p cert valid at @p now? An empty string when it is, else why not.
std::string validityProblem(X509* cert, std::time_t now) {
  const auto notBefore = asn1Time(X509_get0_notBefore(cert));
  const auto notAfter = asn1Time(X509_get0_notAfter(cert));
  if (!notBefore || !notAfter) return "its validity period cannot be read";
  if (now < *notBefore) return "it is not valid before " + formatUtc(*notBefore);
  if (now > *notAfter) return "it expired on " + formatUtc(*notAfter);
  return {};
}

// ---------------------------------------------------------------- trust

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

// ---------------------------------------------------------------- SignatureReport

const SignatureInfo* SignatureReport::wholeObjectSignature() const noexcept {
  for (const auto& s : signatures) {
    if (s.verified && s.coversWholeDataset) return &s;
  }
  return nullptr;
}

// ---------------------------------------------------------------- signing

namespace detail {

E_TransferSyntax macTransferSyntax(E_TransferSyntax stored) {
  return DcmXfer(stored).isEncapsulated() ? stored : EXS_LittleEndianExplicit;
}

Signer::Signer(const SigningCredentials& credentials)
    : key_(std::make_unique<SiPrivateKey>()),
      certificate_(std::make_unique<SiCertificate>()),
      credentials_(credentials) {
  initialiseSignatures();
  requireFile(credentials.certificate, "signer's certificate");
  requireFile(credentials.privateKey, "private key");
  if (certificate_->loadCertificate(credentials.certificate.c_str(), X509_FILETYPE_PEM).bad() ||
      certificate_->getRawCertificate() == nullptr) {
    ERR_clear_error();
    signingFailed("cannot read the signer's certificate (a PEM X.509 certificate)", credentials.certificate);
  }
  // always set (maybe empty): without it DCMTK would ask for a passphrase on the console
  key_->setPrivateKeyPasswd(credentials.passphrase.c_str());
  if (key_->loadPrivateKey(credentials.privateKey.c_str(), X509_FILETYPE_PEM).bad() || key_->getKeyType() == EKT_none) {
    ERR_clear_error();
    signingFailed(credentials.passphrase.empty()
                      ? "cannot read the private key (not a PEM key, or encrypted: give its passphrase)"
                      : "cannot read the private key (not a PEM key, or the passphrase is wrong)",
                  credentials.privateKey);
  }
  if (!key_->matchesCertificate(*certificate_)) {
    ERR_clear_error();
    signingFailed("the private key does not belong to the certificate " + credentials.certificate.string(),
                  credentials.privateKey);
  }
  X509* cert = certificate_->getRawCertificate();
  if (const auto why = validityProblem(cert, std::time(nullptr)); !why.empty()) {
    signingFailed("the signer's certificate is not valid now: " + why, credentials.certificate);
  }
  if (!allowsSigning(cert)) {
    signingFailed("the certificate's key usage does not allow signing (neither digitalSignature nor nonRepudiation)",
                  credentials.certificate);
  }
  const E_KeyType type = certificate_->getKeyType();
  if (type != EKT_RSA && type != EKT_EC) {
    signingFailed("the key is neither RSA nor EC (" + keyTypeOf(cert) + ")", credentials.privateKey);
  }
}

Signer::~Signer() = default;

SignatureInfo Signer::sign(DcmItem& dataset, E_TransferSyntax macXfer, const ErrorContext& where) {
  DcmSignature sig;
  sig.attach(&dataset);
  // signing vouches for the data: a signature already there that does not verify means it changed
  const unsigned long before = sig.numberOfSignatures();
  for (unsigned long i = 0; i < before; ++i) {
    dcmtk::check(sig.selectSignature(i), ErrorCode::SigningFailed, "cannot read an earlier signature", where);
    const OFCondition cond = sig.verifyCurrent();
    if (!macAndSignatureVerified(cond)) {
      throw Error(ErrorCode::SigningFailed,
                  "the file carries a signature (" + std::to_string(i + 1) + ") that does not verify (" +
                      verificationProblem(cond) + "): signing would vouch for changed data",
                  where);
    }
  }
  SiMDMAC mac(EMT_SHA256);
  SiNullProfile everything;  // no attribute restrictions: the tag list is NULL, every attribute is signed
  const OFCondition cond = sig.createSignature(*key_, *certificate_, mac, everything, macXfer, nullptr);
  ERR_clear_error();
  dcmtk::check(cond, ErrorCode::SigningFailed, "cannot sign with " + credentials_.privateKey.string(), where);
  dcmtk::check(sig.selectSignature(before), ErrorCode::Internal, "cannot read the new signature", where);
  SignatureInfo info = describeSelected(sig, dataset);
  sig.detach();
  if (!info.coversWholeDataset) {
    // DCMTK leaves out what it cannot sign: an attribute of VR UN, or a sequence holding one
    throw Error(ErrorCode::SigningFailed,
                "a signature cannot cover the whole object: " + info.problem +
                    "; attributes of VR UN (unknown, e.g. private ones read from Implicit VR) cannot be signed",
                where);
  }
  info.verified = true;
  info.problem.clear();
  return info;
}

}  // namespace detail

void checkSigningCredentials(const SigningCredentials& credentials) {
  const detail::Signer signer(credentials);
}

SignatureInfo signFile(const std::filesystem::path& input, const std::filesystem::path& output,
                       const SigningCredentials& credentials) {
  detail::Signer signer(credentials);
  auto file = dcmtk::loadFile(input, kStreamAbove);
  AtomicFile out(output);  // the output directory is checked before any hashing
  DcmDataset& dataset = *file->getDataset();
  const ErrorContext where{.file = input.string(), .uid = dcmtk::getString(dataset, DCM_SOPInstanceUID)};
  requireSequence(dataset, DCM_DigitalSignaturesSequence, "DigitalSignaturesSequence", where);
  requireSequence(dataset, DCM_MACParametersSequence, "MACParametersSequence", where);
  const E_TransferSyntax stored = dataset.getOriginalXfer();
  SignatureInfo info = signer.sign(dataset, detail::macTransferSyntax(stored), where);
  // the input's transfer syntax and file meta information (EWM_fileformat keeps what is there,
  // creates what is missing); large values are streamed from the input file
  const OFCondition cond = file->saveFile(OFFilename(out.temporaryPath().c_str()), stored, EET_ExplicitLength,
                                          EGL_noChange, EPD_noChange, 0, 0, EWM_fileformat);
  dcmtk::check(cond, ErrorCode::OutputError, "cannot write the signed file",
               ErrorContext{.file = output.string(), .uid = where.uid});
  out.commit();
  return info;
}

// ---------------------------------------------------------------- verification

SignatureReport verifyFileSignatures(const std::filesystem::path& file) {
  initialiseSignatures();
  std::unique_ptr<DcmFileFormat> format;
  try {
    format = dcmtk::loadFile(file, kStreamAbove);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::TruncatedDicom || e.code() == ErrorCode::NotDicom) explainUnreadable(file, e);
    throw;
  }
  DcmDataset& dataset = *format->getDataset();
  const ErrorContext where{.file = file.string(), .uid = dcmtk::getString(dataset, DCM_SOPInstanceUID)};
  requireSequence(dataset, DCM_DigitalSignaturesSequence, "DigitalSignaturesSequence", where);
  requireSequence(dataset, DCM_MACParametersSequence, "MACParametersSequence", where);
  SignatureReport report;
  DcmSignature sig;
  sig.attach(&dataset);
  const unsigned long n = sig.numberOfSignatures();
  for (unsigned long i = 0; i < n; ++i) {
    dcmtk::check(sig.selectSignature(i), ErrorCode::SignatureInvalid,
                 "cannot read signature " + std::to_string(i + 1) + " of the DigitalSignaturesSequence", where);
    SignatureInfo info = describeSelected(sig, dataset);
    verifySelected(sig, info);
    ERR_clear_error();
    report.signatures.push_back(std::move(info));
  }
  sig.detach();
  return report;
}

// ---------------------------------------------------------------- trust

TrustDecision evaluateTrust(const SignatureReport& report, const TrustAnchors& anchors, const std::string& nowUtc) {
  std::time_t now = std::time(nullptr);
  if (!nowUtc.empty()) {
    const auto parsed = parseIso(nowUtc);
    if (!parsed) {
      throw Error(ErrorCode::InvalidArgument, "time '" + nowUtc + "' is not UTC \"YYYY-MM-DDTHH:MM:SSZ\"");
    }
    now = *parsed;
  }
  // read first: an anchor file that cannot be read is an error whatever the object holds
  const StorePtr store = loadAnchors(anchors);
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
      d.reason = "signed by " + whoSigned(s) + ", not trusted: signature " + std::to_string(i + 1) +
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
    d.reason = "signed by " + whoSigned(s) + ", not trusted: no signature covers the whole object: " + s.problem;
    return d;
  }
  std::string firstReason;
  for (const SignatureInfo* s : whole) {
    std::string anchor;
    const std::string why = untrustedBecause(*s, store.get(), now, anchor);
    if (why.empty()) {
      d.trusted = true;
      d.code = ErrorCode::UnsignedObject;  // unused when trusted
      d.reason = "signed by " + whoSigned(*s) + " at " + s->signingDateTime + ", trusted: the chain leads to " +
                 (anchor.empty() ? std::string("a trusted certificate") : anchor);
      return d;
    }
    if (firstReason.empty()) firstReason = "signed by " + whoSigned(*s) + ", not trusted: " + why;
  }
  d.code = ErrorCode::UntrustedSigner;
  d.reason = firstReason;
  return d;
}

}  // namespace iodeep::iod

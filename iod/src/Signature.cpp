// Signing and verifying DICOM digital signatures (PS3.15 Annex C) with DCMTK's dcmsign: the
// Signer, signFile, verifyFileSignatures and the check that a signature covers the whole data set.
// Certificates and trust are CertificateTrust.cpp's, date-time parsing DicomDateTime.cpp's.
#include "iodeep/iod/Signature.hpp"

#include <dcmtk/dcmdata/dcvrat.h>
#include <dcmtk/dcmsign/dcsignat.h>
#include <dcmtk/dcmsign/sibrsapr.h>
#include <dcmtk/dcmsign/sicert.h>
#include <dcmtk/dcmsign/simdmac.h>
#include <dcmtk/dcmsign/sinullpr.h>
#include <dcmtk/dcmsign/siprivat.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <set>
#include <sstream>

#include "CertificateTrust.hpp"
#include "DicomDateTime.hpp"
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
  if (sig.getCurrentSignatureDateTime(text).good()) info.signingDateTime = detail::signingTimeText(text.c_str());
  if (sig.getCurrentMacName(text).good()) info.macAlgorithm = text.c_str();
  if (DcmItem* item = sig.getSelectedSignatureItem(); item != nullptr) {
    const Uint8* der = nullptr;
    unsigned long length = 0;
    if (item->findAndGetUint8Array(DCM_CertificateOfSigner, der, &length).good() && der != nullptr && length > 0) {
      const unsigned char* p = der;
      const detail::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(length)));
      if (cert) {
        info.signer = detail::describe(cert.get());
        info.signatureAlgorithm = detail::algorithmOf(cert.get());
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

}  // namespace iodeep::iod

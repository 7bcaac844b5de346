// DICOM digital signatures (iod/Signature.hpp) against the test PKI (tests/fixtures/make_pki.sh,
// CTest fixture "pki") and against DCMTK's own dcmsign tool, in both directions.
#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

fs::path pki(const std::string& name) {
  return test::fixture("pki") / name;
}

iod::SigningCredentials credentials(const std::string& name) {
  return {pki(name + ".key"), pki(name + ".pem"), {}};
}

iod::TrustAnchors trusting(std::vector<fs::path> certificates) {
  return iod::TrustAnchors{std::move(certificates)};
}

// Runs a shell command; its exit status and stdout+stderr.
struct Run {
  int status{-1};
  std::string output;
};
Run run(const std::string& command) {
  Run r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) r.output += buf.data();
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";
}

// An IODeep object whose payload (1.2 MB) is larger than what the verifier keeps in memory, so the
// MAC streams it from the file.
fs::path writeModel(const test::TempDir& dir, const std::string& name = "model.dcm") {
  auto in = test::samplePackInput(3);
  in.weights = test::smallWeights(3, 300000);
  const auto model = iod::buildModel(std::move(in));
  iod::writeIodeep(model, dir / name);
  return dir / name;
}

// An approved RT Structure Set with one square ROI on a synthetic axial slice.
fs::path writeStructureSet(const test::TempDir& dir, const std::string& name = "rtstruct.dcm") {
  const iod::SliceAttributes a = test::sampleMrSlice();
  iod::Ring square{{{2.5, 2.5}, {9.5, 2.5}, {9.5, 9.5}, {2.5, 9.5}}, false};
  rtstruct::StructureSetInput in;
  in.rois.push_back(
      rtstruct::RoiInput{"Brain", {255, 0, 0}, "ORGAN", rtstruct::RoiGeneration::Automatic, {{a, {square}}}});
  in.network = {"Brain UNet", "1", "2.25.123", "2.25.456"};
  in.approval = rtstruct::ApprovalStatus::Approved;
  in.reviewerName = "Doe^Jane";
  (void)rtstruct::writeStructureSet(in, dir / name);
  return dir / name;
}

template <typename F>
ErrorCode codeOf(F&& f, std::string* what = nullptr) {
  const Error e = test::errorOf(std::forward<F>(f));  // Internal: "did not throw", no test expects it
  if (what != nullptr) *what = e.what();
  return e.code();
}

std::size_t find(const std::vector<std::byte>& hay, const std::vector<std::byte>& needle, std::size_t from = 0) {
  const auto it = std::search(hay.begin() + static_cast<std::ptrdiff_t>(from), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : static_cast<std::size_t>(it - hay.begin());
}

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
  std::vector<std::byte> b;
  for (const unsigned v : values) b.push_back(static_cast<std::byte>(v));
  return b;
}

// Where the DigitalSignaturesSequence (FFFA,FFFA) starts in an Explicit VR Little Endian file.
std::size_t signaturesOffset(const std::vector<std::byte>& file) {
  return find(file, bytes({0xFA, 0xFF, 0xFA, 0xFF, 'S', 'Q'}));
}

std::string opensslField(const fs::path& cert, const std::string& option) {
  auto out = run("openssl x509 -noout " + option + " -in " + quoted(cert)).output;
  out = out.substr(out.find('=') + 1);
  std::string clean;
  for (const char c : out) {
    if (c != ':' && c != '\n') clean += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return clean;
}

// "subject" or "issuer" of a certificate as openssl prints it in RFC 2253 form.
std::string opensslName(const fs::path& cert, const std::string& which) {
  auto out = run("openssl x509 -noout -" + which + " -nameopt RFC2253 -in " + quoted(cert)).output;
  out = out.substr(out.find('=') + 1);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool dcmsignVerifiesOk(const fs::path& file, std::string* output) {
  const auto r = run("/usr/bin/dcmsign --verify " + quoted(file) + " +cf " + quoted(pki("ca.pem")));
  *output = r.output;
  return r.status == 0 && r.output.find("Signature Verification : OK") != std::string::npos &&
         r.output.find("failed") == std::string::npos;
}

}  // namespace

TEST(Signature, RsaSignatureOverTheWholeObjectVerifiesAndIsTrusted) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto added = iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  EXPECT_TRUE(added.verified);
  EXPECT_TRUE(added.coversWholeDataset);

  const auto report = iod::verifyFileSignatures(dir / "signed.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  const auto& s = report.signatures.front();
  EXPECT_TRUE(s.verified) << s.problem;
  EXPECT_TRUE(s.coversWholeDataset) << s.problem;
  EXPECT_TRUE(s.problem.empty()) << s.problem;
  EXPECT_TRUE(s.unsignedAttributes.empty());
  EXPECT_EQ(s.macAlgorithm, "SHA256");
  EXPECT_EQ(s.signatureAlgorithm, "RSA");
  EXPECT_EQ(s.profile, "Base RSA");
  EXPECT_EQ(s.uid, added.uid);
  EXPECT_TRUE(iod::isValidUid(s.uid));
  EXPECT_EQ(report.wholeObjectSignature(), &report.signatures.front());
  // the signer, as openssl reads the certificate
  EXPECT_EQ(s.signer.subject, opensslName(pki("signer.pem"), "subject"));
  EXPECT_EQ(s.signer.issuer, opensslName(pki("signer.pem"), "issuer"));
  EXPECT_NE(s.signer.subject.find("CN=Model Lab Signer"), std::string::npos);
  EXPECT_EQ(s.signer.issuer, "CN=IODEEP Test Hospital CA,O=IODEEP Test Hospital");
  EXPECT_EQ(s.signer.keyType, "RSA 3072");
  EXPECT_EQ(s.signer.sha256Fingerprint, opensslField(pki("signer.pem"), "-fingerprint -sha256"));
  EXPECT_EQ(s.signer.serialNumber, opensslField(pki("signer.pem"), "-serial"));
  EXPECT_EQ(s.signer.pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0U);
  EXPECT_LT(s.signer.notBefore, s.signer.notAfter);
  // signed just now, shown in UTC
  ASSERT_EQ(s.signingDateTime.size(), 20U) << s.signingDateTime;
  EXPECT_EQ(s.signingDateTime.back(), 'Z');
  std::array<char, 32> now{};
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(now.data(), now.size(), "%Y-%m-%dT%H", &tm);
  EXPECT_EQ(s.signingDateTime.substr(0, 13), std::string(now.data()).substr(0, 13));

  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_TRUE(trust.trusted) << trust.reason;
  EXPECT_NE(trust.reason.find("CN=IODEEP Test Hospital CA"), std::string::npos) << trust.reason;
  // still a valid IODeep object: the payload reads back and every check passes
  const auto file = iod::readIodeep(dir / "signed.dcm");
  for (const auto& f : iod::verifyIodeep(file)) EXPECT_NE(f.severity, iod::Finding::Severity::Error) << f.message;
  EXPECT_EQ(file.transferSyntaxUid, "1.2.840.10008.1.2.1");
}

TEST(Signature, EcSignatureVerifiesAndIsTrusted) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer-ec"));
  const auto report = iod::verifyFileSignatures(dir / "signed.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  const auto& s = report.signatures.front();
  EXPECT_TRUE(s.verified) << s.problem;
  EXPECT_TRUE(s.coversWholeDataset);
  EXPECT_EQ(s.signatureAlgorithm, "ECDSA");
  EXPECT_EQ(s.signer.keyType, "EC prime256v1");
  EXPECT_EQ(s.profile, "");  // the Base RSA profile is for RSA
  EXPECT_EQ(s.signer.subject, opensslName(pki("signer-ec.pem"), "subject"));
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({pki("ca.pem")})).trusted);
}

TEST(Signature, DcmsignAgreesWithOurSignatures) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  for (const std::string who : {"signer", "signer-ec"}) {
    (void)iod::signFile(model, dir / (who + ".dcm"), credentials(who));
    std::string out;
    EXPECT_TRUE(dcmsignVerifiesOk(dir / (who + ".dcm"), &out)) << who << ": " << out;
  }
  // and dcmsign is really judging: the unsigned object has nothing to verify, a changed one fails
  auto b = test::readBytes(dir / "signer.dcm");
  const auto at = find(b, bytes({0x08, 0x00, 0x60, 0x00, 'C', 'S', 0x02, 0x00, 'M', 'R'}));
  ASSERT_NE(at, std::string::npos);
  b[at + 8] = std::byte{'C'};  // Modality MR -> CR
  test::writeBytes(dir / "changed.dcm", b);
  const auto r = run("/usr/bin/dcmsign --verify " + quoted(dir / "changed.dcm") + " +cf " + quoted(pki("ca.pem")));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_FALSE(iod::verifyFileSignatures(dir / "changed.dcm").signatures.front().verified);
}

TEST(Signature, AcceptsSignaturesMadeByDcmsign) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto r = run("/usr/bin/dcmsign --sign " + quoted(pki("signer.key")) + " " + quoted(pki("signer.pem")) + " " +
                     quoted(model) + " " + quoted(dir / "dcmsign.dcm"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = iod::verifyFileSignatures(dir / "dcmsign.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  const auto& s = report.signatures.front();
  EXPECT_TRUE(s.verified) << s.problem;
  EXPECT_TRUE(s.coversWholeDataset) << s.problem;
  EXPECT_EQ(s.macAlgorithm, "RIPEMD160");  // dcmsign's default MAC
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_TRUE(trust.trusted) << trust.reason;
}

TEST(Signature, OneFlippedPayloadBitBreaksTheMac) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  const auto payload = iod::readIodeep(dir / "signed.dcm").model.weights;
  auto b = test::readBytes(dir / "signed.dcm");
  const std::vector<std::byte> head(payload.data(), payload.data() + 256);
  const auto at = find(b, head);
  ASSERT_NE(at, std::string::npos);
  b[at + payload.size() / 2] ^= std::byte{0x01};  // a bit of tensor data
  test::writeBytes(dir / "flipped.dcm", b);

  const auto report = iod::verifyFileSignatures(dir / "flipped.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  const auto& s = report.signatures.front();
  EXPECT_FALSE(s.verified);
  EXPECT_NE(s.problem.find("MAC"), std::string::npos) << s.problem;
  EXPECT_EQ(s.problem.find('\n'), std::string::npos);
  EXPECT_EQ(report.wholeObjectSignature(), nullptr);
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::SignatureInvalid);
  EXPECT_NE(trust.reason.find("CN=Model Lab Signer"), std::string::npos) << trust.reason;
  // signing a changed object would vouch for the change
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(dir / "flipped.dcm", dir / "resigned.dcm", credentials("signer")); }),
            ErrorCode::SigningFailed);
  EXPECT_FALSE(fs::exists(dir / "resigned.dcm"));
}

TEST(Signature, SignatureOverSomeAttributesDoesNotCoverThePayload) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto r = run("/usr/bin/dcmsign --sign " + quoted(pki("signer.key")) + " " + quoted(pki("signer.pem")) +
                     " --mac-sha256 --tag 0008,0016 --tag 0008,0018 --tag 0020,000D " + quoted(model) + " " +
                     quoted(dir / "subset.dcm"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = iod::verifyFileSignatures(dir / "subset.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  const auto& s = report.signatures.front();
  EXPECT_TRUE(s.verified) << s.problem;  // what it signs is intact ...
  EXPECT_FALSE(s.coversWholeDataset);    // ... but the payload could be swapped
  EXPECT_NE(std::find(s.unsignedAttributes.begin(), s.unsignedAttributes.end(), "(0017,1010)"),
            s.unsignedAttributes.end());
  EXPECT_EQ(s.unsignedAttributes.front(), "(0017,1010)");  // the largest value leads
  EXPECT_NE(s.problem.find("(0017,1010) DnnWeightsPayload"), std::string::npos) << s.problem;
  EXPECT_NE(s.problem.find("signs 3 of"), std::string::npos) << s.problem;
  EXPECT_EQ(report.wholeObjectSignature(), nullptr);
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::SignatureInvalid);
  EXPECT_NE(trust.reason.find("whole object"), std::string::npos) << trust.reason;
}

TEST(Signature, DamagedSignatureSequenceIsRefusedWithOneLine) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  const auto b = test::readBytes(dir / "signed.dcm");
  const auto sq = signaturesOffset(b);
  ASSERT_NE(sq, std::string::npos);

  // cut inside the signature item
  test::writeBytes(dir / "cut.dcm",
                   std::vector<std::byte>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(sq + 200)));
  std::string what;
  EXPECT_EQ(codeOf([&] { (void)iod::verifyFileSignatures(dir / "cut.dcm"); }, &what), ErrorCode::SignatureInvalid)
      << what;
  EXPECT_NE(what.find("cut.dcm"), std::string::npos) << what;
  EXPECT_NE(what.find("(FFFA,FFFA)"), std::string::npos) << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  EXPECT_EQ(test::errorOf([&] { (void)iod::verifyFileSignatures(dir / "cut.dcm"); }).dicomTag(), "(FFFA,FFFA)");

  // the sequence's length claims more than the file holds
  auto longer = b;
  longer[sq + 8] = std::byte{0xF0};
  longer[sq + 9] = std::byte{0xFF};
  test::writeBytes(dir / "long.dcm", longer);
  EXPECT_EQ(codeOf([&] { (void)iod::verifyFileSignatures(dir / "long.dcm"); }, &what), ErrorCode::SignatureInvalid)
      << what;

  // (FFFA,FFFA) that is not a sequence
  auto notSq = b;
  notSq[sq + 4] = std::byte{'O'};
  notSq[sq + 5] = std::byte{'B'};
  test::writeBytes(dir / "ob.dcm", notSq);
  const auto code = codeOf([&] { (void)iod::verifyFileSignatures(dir / "ob.dcm"); }, &what);
  EXPECT_EQ(code, ErrorCode::SignatureInvalid) << what;
  EXPECT_EQ(test::errorOf([&] { (void)iod::verifyFileSignatures(dir / "ob.dcm"); }).dicomTag(), "(FFFA,FFFA)") << what;

  // damage before the signatures is not a signature problem: the file itself is cut short
  const auto payload = iod::readIodeep(dir / "signed.dcm").model.weights;
  const std::vector<std::byte> head(payload.data(), payload.data() + 256);
  const auto at = find(b, head);
  ASSERT_NE(at, std::string::npos);
  test::writeBytes(dir / "short.dcm",
                   std::vector<std::byte>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(at + 1000)));
  EXPECT_EQ(codeOf([&] { (void)iod::verifyFileSignatures(dir / "short.dcm"); }), ErrorCode::TruncatedDicom);
}

TEST(Signature, SignatureDatedBeforeTheCertificateIsValidIsUntrusted) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  // dcmsign only warns about a certificate that is not yet valid; we refuse to make one
  const auto r = run("/usr/bin/dcmsign --sign " + quoted(pki("future.key")) + " " + quoted(pki("future.pem")) +
                     " --mac-sha256 " + quoted(model) + " " + quoted(dir / "future.dcm"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = iod::verifyFileSignatures(dir / "future.dcm");
  ASSERT_EQ(report.signatures.size(), 1U);
  EXPECT_TRUE(report.signatures.front().verified) << report.signatures.front().problem;
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::UntrustedSigner);
  EXPECT_NE(trust.reason.find("before the certificate's validity began"), std::string::npos) << trust.reason;
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(model, dir / "x.dcm", credentials("future")); }),
            ErrorCode::SigningFailed);
  EXPECT_FALSE(fs::exists(dir / "x.dcm"));
}

TEST(Signature, ExpiredSignerIsUntrustedAndCannotSign) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto r = run("/usr/bin/dcmsign --sign " + quoted(pki("expired.key")) + " " + quoted(pki("expired.pem")) +
                     " --mac-sha256 " + quoted(model) + " " + quoted(dir / "expired.dcm"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = iod::verifyFileSignatures(dir / "expired.dcm");
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::UntrustedSigner);
  EXPECT_NE(trust.reason.find("after the certificate expired"), std::string::npos) << trust.reason;
  std::string what;
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(model, dir / "x.dcm", credentials("expired")); }, &what),
            ErrorCode::SigningFailed);
  EXPECT_NE(what.find("expired"), std::string::npos) << what;
  EXPECT_FALSE(fs::exists(dir / "x.dcm"));
}

TEST(Signature, TrustIsJudgedAtTheGivenTime) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  const auto report = iod::verifyFileSignatures(dir / "signed.dcm");
  // the signer's certificate is valid for two years: in 2040 it has expired
  const auto later = iod::evaluateTrust(report, trusting({pki("ca.pem")}), "2040-01-01T00:00:00Z");
  EXPECT_FALSE(later.trusted);
  EXPECT_EQ(later.code, ErrorCode::UntrustedSigner);
  EXPECT_NE(later.reason.find("expired"), std::string::npos) << later.reason;
  // before the signature was made, it is dated in the future
  const auto earlier = iod::evaluateTrust(report, trusting({pki("ca.pem")}), "2020-01-01T00:00:00Z");
  EXPECT_FALSE(earlier.trusted);
  EXPECT_EQ(codeOf([&] { (void)iod::evaluateTrust(report, trusting({pki("ca.pem")}), "yesterday"); }),
            ErrorCode::InvalidArgument);
}

TEST(Signature, RogueChainIsUntrusted) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "rogue.dcm", credentials("rogue"));
  const auto report = iod::verifyFileSignatures(dir / "rogue.dcm");
  ASSERT_TRUE(report.signatures.front().verified);
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::UntrustedSigner);
  EXPECT_NE(trust.reason.find("does not lead to a trusted certificate"), std::string::npos) << trust.reason;
  EXPECT_NE(trust.reason.find("CN=Rogue Signer"), std::string::npos) << trust.reason;
  // whoever trusts the rogue CA trusts it
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({pki("ca.pem"), pki("rogue-ca.pem")})).trusted);
}

TEST(Signature, SelfSignedSignerIsTrustedOnlyWhenListedItself) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "self.dcm", credentials("selfsigned"));
  const auto report = iod::verifyFileSignatures(dir / "self.dcm");
  const auto byCa = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(byCa.trusted);
  EXPECT_EQ(byCa.code, ErrorCode::UntrustedSigner);
  EXPECT_NE(byCa.reason.find("does not lead to a trusted certificate"), std::string::npos) << byCa.reason;
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({pki("selfsigned.pem")})).trusted);
  // a directory of PEM files
  fs::create_directories(dir / "anchors");
  fs::copy_file(pki("selfsigned.pem"), dir / "anchors" / "self.pem");
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({dir / "anchors"})).trusted);
  // the signer's own certificate is an anchor too, even when a CA issued it
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  EXPECT_TRUE(iod::evaluateTrust(iod::verifyFileSignatures(dir / "signed.dcm"), trusting({pki("signer.pem")})).trusted);
  EXPECT_FALSE(
      iod::evaluateTrust(iod::verifyFileSignatures(dir / "signed.dcm"), trusting({pki("reviewer.pem")})).trusted);
}

TEST(Signature, UnsignedObjectIsNotTrusted) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto report = iod::verifyFileSignatures(model);
  EXPECT_TRUE(report.unsignedObject());
  const auto trust = iod::evaluateTrust(report, trusting({pki("ca.pem")}));
  EXPECT_FALSE(trust.trusted);
  EXPECT_EQ(trust.code, ErrorCode::UnsignedObject);
  EXPECT_EQ(trust.reason.rfind("not signed", 0), 0U) << trust.reason;
  // the anchors are read whatever the object holds: a wrong path is not hidden by "not signed"
  EXPECT_EQ(codeOf([&] { (void)iod::evaluateTrust(report, trusting({dir / "absent.pem"})); }), ErrorCode::FileNotFound);
}

TEST(Signature, AnchorsThatCannotBeReadAreErrors) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed.dcm", credentials("signer"));
  const auto report = iod::verifyFileSignatures(dir / "signed.dcm");
  EXPECT_EQ(codeOf([&] { (void)iod::evaluateTrust(report, trusting({dir / "absent.pem"})); }), ErrorCode::FileNotFound);
  std::ofstream(dir / "junk.pem") << "not a certificate\n";
  EXPECT_EQ(codeOf([&] { (void)iod::evaluateTrust(report, trusting({dir / "junk.pem"})); }),
            ErrorCode::SignatureInvalid);
  // no anchors at all: nobody is trusted
  const auto none = iod::evaluateTrust(report, trusting({}));
  EXPECT_FALSE(none.trusted);
  EXPECT_EQ(none.code, ErrorCode::UntrustedSigner);
}

TEST(Signature, KeysThatCannotSignAreRefusedAndNothingIsWritten) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto original = test::readBytes(model);
  const auto refused = [&](const iod::SigningCredentials& c, const fs::path& out) {
    std::string what;
    const auto code = codeOf([&] { (void)iod::signFile(model, out, c); }, &what);
    if (out != model) {
      EXPECT_FALSE(fs::exists(out)) << what;
    }
    EXPECT_EQ(test::readBytes(model), original);
    return code;
  };
  // the EC key with the RSA certificate
  EXPECT_EQ(refused({pki("signer-ec.key"), pki("signer.pem"), {}}, dir / "a.dcm"), ErrorCode::SigningFailed);
  // the reviewer's key with the signer's certificate (both RSA)
  EXPECT_EQ(refused({pki("reviewer.key"), pki("signer.pem"), {}}, dir / "b.dcm"), ErrorCode::SigningFailed);
  EXPECT_EQ(refused({dir / "absent.key", pki("signer.pem"), {}}, dir / "c.dcm"), ErrorCode::FileNotFound);
  EXPECT_EQ(refused({pki("signer.key"), dir / "absent.pem", {}}, dir / "d.dcm"), ErrorCode::FileNotFound);
  std::ofstream(dir / "junk.key") << "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n";
  EXPECT_EQ(refused({dir / "junk.key", pki("signer.pem"), {}}, dir / "e.dcm"), ErrorCode::SigningFailed);
  // a CA certificate is not for signing data (key usage keyCertSign, cRLSign)
  EXPECT_EQ(refused({pki("ca.key"), pki("ca.pem"), {}}, dir / "f.dcm"), ErrorCode::SigningFailed);
  // in place: the file stays as it was
  EXPECT_EQ(refused({pki("signer-ec.key"), pki("signer.pem"), {}}, model), ErrorCode::SigningFailed);
  // a directory that does not exist
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(model, dir / "no" / "x.dcm", credentials("signer")); }),
            ErrorCode::OutputError);
  // not DICOM
  std::ofstream(dir / "text.dcm") << "hello\n";
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(dir / "text.dcm", dir / "g.dcm", credentials("signer")); }),
            ErrorCode::NotDicom);
  EXPECT_FALSE(fs::exists(dir / "g.dcm"));
  // checkSigningCredentials says the same without touching any data
  EXPECT_EQ(codeOf([&] {
              iod::checkSigningCredentials({pki("signer-ec.key"), pki("signer.pem"), {}});
            }),
            ErrorCode::SigningFailed);
  EXPECT_NO_THROW(iod::checkSigningCredentials(credentials("signer")));
  const auto leftovers = test::listFiles(dir.path());
  for (const auto& f : leftovers) EXPECT_EQ(f.filename().string().find(".tmp-"), std::string::npos) << f;
}

TEST(Signature, EncryptedKeyNeedsItsPassphrase) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  const auto r = run("openssl pkey -in " + quoted(pki("signer.key")) + " -aes256 -passout pass:s3cret -out " +
                     quoted(dir / "encrypted.key"));
  ASSERT_EQ(r.status, 0) << r.output;
  iod::SigningCredentials c{dir / "encrypted.key", pki("signer.pem"), {}};
  std::string what;
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(model, dir / "a.dcm", c); }, &what), ErrorCode::SigningFailed);
  EXPECT_NE(what.find("passphrase"), std::string::npos) << what;
  c.passphrase = "wrong";
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(model, dir / "a.dcm", c); }), ErrorCode::SigningFailed);
  c.passphrase = "s3cret";
  (void)iod::signFile(model, dir / "a.dcm", c);
  EXPECT_TRUE(iod::verifyFileSignatures(dir / "a.dcm").signatures.front().verified);
}

TEST(Signature, InPlaceKeepsTheTransferSyntaxAndEarlierSignatures) {
  test::TempDir dir;
  // an RT Structure Set rewritten in Implicit VR Little Endian, signed twice in place
  const auto rt = writeStructureSet(dir);
  {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(rt.c_str()).good());
    ASSERT_TRUE(f.saveFile((dir / "implicit.dcm").c_str(), EXS_LittleEndianImplicit).good());
  }
  const auto file = dir / "implicit.dcm";
  (void)iod::signFile(file, file, credentials("reviewer"));
  (void)iod::signFile(file, file, credentials("signer-ec"));
  const auto report = iod::verifyFileSignatures(file);
  ASSERT_EQ(report.signatures.size(), 2U);
  for (const auto& s : report.signatures) {
    EXPECT_TRUE(s.verified) << s.problem;
    EXPECT_TRUE(s.coversWholeDataset) << s.problem;
  }
  EXPECT_EQ(report.signatures[0].signer.subject, opensslName(pki("reviewer.pem"), "subject"));
  EXPECT_NE(report.signatures[0].macIdNumber, report.signatures[1].macIdNumber);
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({pki("ca.pem")})).trusted);
  DcmFileFormat f;
  ASSERT_TRUE(f.loadFile(file.c_str()).good());
  OFString ts;
  ASSERT_TRUE(f.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good());
  EXPECT_EQ(ts, "1.2.840.10008.1.2");
  std::string out;
  EXPECT_TRUE(dcmsignVerifiesOk(file, &out)) << out;
}

TEST(Signature, AttributesOfUnknownVrCannotBeSigned) {
  test::TempDir dir;
  const auto rt = writeStructureSet(dir);
  DcmFileFormat f;
  ASSERT_TRUE(f.loadFile(rt.c_str()).good());
  ASSERT_TRUE(f.getDataset()->putAndInsertString(DcmTag(0x0019, 0x0010, EVR_LO), "SOMEONE").good());
  auto un = std::make_unique<DcmOtherByteOtherWord>(DcmTag(0x0019, 0x1001, EVR_UN));
  const std::array<Uint8, 4> value{1, 2, 3, 4};
  ASSERT_TRUE(un->putUint8Array(value.data(), value.size()).good());
  ASSERT_TRUE(f.getDataset()->insert(un.release()).good());
  ASSERT_TRUE(f.saveFile((dir / "un.dcm").c_str(), EXS_LittleEndianExplicit).good());
  std::string what;
  EXPECT_EQ(codeOf([&] { (void)iod::signFile(dir / "un.dcm", dir / "x.dcm", credentials("signer")); }, &what),
            ErrorCode::SigningFailed);
  EXPECT_NE(what.find("(0019,1001)"), std::string::npos) << what;
  EXPECT_FALSE(fs::exists(dir / "x.dcm"));
}

TEST(Signature, WriteIodeepSignsBeforeTheObjectAppears) {
  test::TempDir dir;
  auto in = test::samplePackInput(5);
  in.weights = test::smallWeights(5, 300000);
  const auto model = iod::buildModel(std::move(in));
  iod::writeIodeep(model, dir / "signed.dcm", credentials("signer"));
  const auto report = iod::verifyFileSignatures(dir / "signed.dcm");
  ASSERT_NE(report.wholeObjectSignature(), nullptr);
  EXPECT_TRUE(iod::evaluateTrust(report, trusting({pki("ca.pem")})).trusted);
  EXPECT_EQ(codeOf([&] { iod::writeIodeep(model, dir / "bad.dcm", credentials("expired")); }),
            ErrorCode::SigningFailed);
  EXPECT_FALSE(fs::exists(dir / "bad.dcm"));
}

TEST(Signature, SignedObjectsPassDciodvfy) {
  test::TempDir dir;
  const auto model = writeModel(dir);
  (void)iod::signFile(model, dir / "signed-model.dcm", credentials("signer"));
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "signed-model.dcm", &out).empty()) << out;
  const auto rt = writeStructureSet(dir);
  (void)iod::signFile(rt, dir / "signed-rt.dcm", credentials("reviewer"));
  EXPECT_TRUE(test::dciodvfyErrors(dir / "signed-rt.dcm", &out).empty()) << out;
  EXPECT_NE(out.find("RTStructureSet"), std::string::npos) << out;
  // the signed structure set still reads as one
  EXPECT_EQ(rtstruct::readStructureSet(dir / "signed-rt.dcm").reviewerName, "Doe^Jane");
}

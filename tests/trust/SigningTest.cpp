// Signatures in the client core: signed reviews (writeReview, storeReview through the outbox),
// inspect and showStructureSet with their signature findings and trust decisions.
#include <gtest/gtest.h>

#include <algorithm>

#include "../iod/TestSupport.hpp"
#include "../workflow/OfflinePacs.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/reports/Inspect.hpp"
#include "iodeep/reports/StructureSetReport.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Signing.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
using test::codeOf;
namespace fs = std::filesystem;

namespace {

const fs::path kBrainModel = IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm";
const fs::path kSlice = IODEEP_SOURCE_DIR "/examples/brain-unet/series/slice_030.dcm";

fs::path pki(const std::string& name) {
  return test::fixture("pki") / name;
}

iod::SigningCredentials reviewer() {
  return {pki("reviewer.key"), pki("reviewer.pem"), {}};
}

const client::PredictResult& brainPrediction() {
  static const client::PredictResult p = client::predict({kBrainModel, kSlice, 0, false});
  return p;
}

}  // namespace

TEST(Signing, ReviewsAreSignedBeforeTheyAppear) {
  test::TempDir dir;
  const auto& p = brainPrediction();
  ASSERT_GE(p.proposals.size(), 1U);
  const auto files = client::writeReview(p, {{0}, "Doe^Jane"}, dir / "approved.dcm", {}, reviewer());
  ASSERT_TRUE(files.approved);
  EXPECT_NE(files.signedBy.find("CN=Dr Reviewer"), std::string::npos) << files.signedBy;
  const auto report = client::showStructureSet(dir / "approved.dcm", iod::TrustAnchors{{pki("ca.pem")}});
  EXPECT_TRUE(report.ok());
  ASSERT_EQ(report.signatures.report.signatures.size(), 1U);
  EXPECT_TRUE(report.signatures.trust && report.signatures.trust->trusted) << report.toText();
  EXPECT_EQ(report.set.reviewerName, "Doe^Jane");
  EXPECT_NE(report.toText().find("signer:    " + files.signedBy), std::string::npos) << report.toText();
  // only the signed set is left: no unsigned copy beside it
  EXPECT_EQ(test::listFiles(dir.path()), std::vector<fs::path>{dir / "approved.dcm"});
  // credentials that cannot sign: refused before anything is written
  EXPECT_EQ(codeOf([&] {
              (void)client::writeReview(p, {{0}, "Doe^Jane"}, dir / "b.dcm", {},
                                        iod::SigningCredentials{pki("expired.key"), pki("expired.pem"), {}});
            }),
            ErrorCode::SigningFailed);
  EXPECT_FALSE(fs::exists(dir / "b.dcm"));
}

TEST(Signing, TheOutboxHoldsTheSignedSetWhenThePacsIsDown) {
  test::TempDir dir;
  auto config = test::offlinePacsConfig(dir.path());
  const std::vector<client::PredictResult> predictions{brainPrediction()};
  client::Workstation ws(config);
  const auto stored = client::storeReview(ws, predictions, {{0}, "Doe^Jane"}, true, reviewer());
  ASSERT_TRUE(stored.approvedSet);
  EXPECT_FALSE(stored.approvedSet->stored);
  EXPECT_NE(stored.approvedSet->signedBy.find("CN=Dr Reviewer"), std::string::npos);
  // what a later flush sends is the signed file, whole and trusted
  const auto waiting = client::Outbox(config.outboxDir).list();
  ASSERT_EQ(waiting.size(), 1U);
  EXPECT_EQ(waiting.front().file, stored.approvedSet->outboxFile);
  const auto report = iod::verifyFileSignatures(waiting.front().file);
  ASSERT_NE(report.wholeObjectSignature(), nullptr);
  EXPECT_TRUE(iod::evaluateTrust(report, {{pki("ca.pem")}}).trusted);
  for (const auto& f : test::listFiles(config.outboxDir)) {
    EXPECT_EQ(f.filename().string().find(".tmp-"), std::string::npos) << f;
  }
  // a key that cannot sign: nothing enters the outbox
  test::TempDir other;
  config.outboxDir = other / "outbox";
  client::Workstation otherWs(config);
  EXPECT_EQ(codeOf([&] {
              (void)client::storeReview(otherWs, predictions, {{0}, "Doe^Jane"}, false,
                                        iod::SigningCredentials{pki("signer-ec.key"), pki("reviewer.pem"), {}});
            }),
            ErrorCode::SigningFailed);
  EXPECT_TRUE(client::Outbox(config.outboxDir).list().empty());
}

TEST(Signing, InspectPutsSignatureProblemsFirst) {
  test::TempDir dir;
  // the committed brain model, signed
  (void)client::signObject(kBrainModel, dir / "brain.dcm", {pki("signer.key"), pki("signer.pem"), {}});
  const auto plain = client::inspect(dir / "brain.dcm");
  EXPECT_TRUE(plain.ok()) << plain.toText();
  EXPECT_FALSE(plain.signatures.trust);
  EXPECT_NE(plain.toJson().find("\"signed\": true"), std::string::npos);
  const auto trusted = client::inspect(dir / "brain.dcm", iod::TrustAnchors{{pki("ca.pem")}});
  EXPECT_TRUE(trusted.ok()) << trusted.toText();
  const auto rogue = client::inspect(dir / "brain.dcm", iod::TrustAnchors{{pki("rogue-ca.pem")}});
  EXPECT_FALSE(rogue.ok());
  ASSERT_FALSE(rogue.findings.empty());
  EXPECT_EQ(rogue.findings.front().code, ErrorCode::UntrustedSigner);
  EXPECT_EQ(rogue.findings.front().severity, iod::Finding::Severity::Error);
  // unsigned: fine, unless trust is asked
  const auto unsignedModel = client::inspect(kBrainModel);
  EXPECT_TRUE(unsignedModel.ok());
  EXPECT_NE(unsignedModel.toText().find("not signed"), std::string::npos);
  const auto asked = client::inspect(kBrainModel, iod::TrustAnchors{{pki("ca.pem")}});
  EXPECT_FALSE(asked.ok());
  EXPECT_EQ(asked.findings.front().code, ErrorCode::UnsignedObject);
}

// Listing the structure sets of a series on a real Orthanc when another system stored malformed
// ones beside ours: each damaged set is listed as damaged with the reason, the others are listed
// as usual, and the listing (text and JSON) says so instead of failing.
#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "OrthancSupport.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/reports/BrowseReport.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/StructureSets.hpp"

using namespace iodeep;
using test::PrivateOrthanc;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";

// A copy of the structure set @p good as another system's (its own series and SOP Instance UID),
// damaged by @p damage. Returns its SOP Instance UID.
template <typename Damage>
std::string damagedCopy(const fs::path& good, const fs::path& to, Damage damage) {
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(good.c_str()).good());
  auto* ds = file.getDataset();
  const auto sop = iod::makeRandomUid();
  EXPECT_TRUE(ds->putAndInsertString(DCM_SOPInstanceUID, sop.c_str()).good());
  EXPECT_TRUE(file.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop.c_str()).good());
  EXPECT_TRUE(ds->putAndInsertString(DCM_SeriesInstanceUID, iod::makeRandomUid().c_str()).good());
  EXPECT_TRUE(ds->putAndInsertString(DCM_Manufacturer, "Another TPS").good());
  DcmItem* roiContour = nullptr;
  EXPECT_TRUE(ds->findAndGetSequenceItem(DCM_ROIContourSequence, roiContour, 0).good());
  damage(*roiContour);
  EXPECT_TRUE(file.saveFile(to.c_str(), EXS_LittleEndianExplicit).good());
  return sop;
}

}  // namespace

TEST(StructureSetListing, DamagedSetsAreListedAsDamagedAndTheOthersStillListed) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  (void)pacs.store({kSlice22});
  const auto p = client::predict({kBrain, kSlice22, 0, false});
  ASSERT_FALSE(p.proposals.empty());
  const auto files = client::writeReview(p, client::ReviewDecision{{0}, "Doe^Jane"}, dir / "good.dcm");
  ASSERT_TRUE(files.approved);
  // contours for an ROI the set does not define; ContourData that is not (x, y, z) triplets
  const auto undefinedRoi = damagedCopy(dir / "good.dcm", dir / "bad1.dcm", [](DcmItem& item) {
    EXPECT_TRUE(item.putAndInsertString(DCM_ReferencedROINumber, "99").good());
  });
  const auto notTriplets = damagedCopy(dir / "good.dcm", dir / "bad2.dcm", [](DcmItem& item) {
    DcmItem* contour = nullptr;
    EXPECT_TRUE(item.findAndGetSequenceItem(DCM_ContourSequence, contour, 0).good());
    EXPECT_TRUE(contour->putAndInsertString(DCM_ContourData, "1.5\\2.5").good());
  });
  (void)pacs.store({dir / "bad1.dcm", dir / "good.dcm", dir / "bad2.dcm"});

  const auto slice = iod::readSliceAttributes(kSlice22);
  const auto sets = client::findStructureSets(pacs, slice.studyInstanceUid, slice.seriesInstanceUid, dir / "retrieved");
  ASSERT_EQ(sets.size(), 3U) << client::toText(sets);
  const auto find = [&](const std::string& sop) {
    const auto it = std::find_if(sets.begin(), sets.end(), [&](const auto& s) { return s.sopInstanceUid == sop; });
    return it == sets.end() ? nullptr : &*it;
  };
  const auto* good = find(files.approved->sopInstanceUid);
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->damaged.empty()) << good->damaged;
  EXPECT_EQ(good->approvalStatus, "APPROVED");
  EXPECT_GT(good->contoursOnSeries, 0U);
  for (const auto& sop : {undefinedRoi, notTriplets}) {
    const auto* bad = find(sop);
    ASSERT_NE(bad, nullptr) << sop;
    EXPECT_EQ(bad->damaged.rfind("MalformedRtStructureSet: ", 0), 0U) << bad->damaged;
    EXPECT_TRUE(fs::exists(bad->file));
  }
  EXPECT_NE(find(undefinedRoi)->damaged.find("99"), std::string::npos) << find(undefinedRoi)->damaged;
  // the reports say it, per set
  const auto text = client::toText(sets);
  EXPECT_NE(text.find(undefinedRoi + ": damaged: MalformedRtStructureSet"), std::string::npos) << text;
  EXPECT_NE(text.find(notTriplets + ": damaged: MalformedRtStructureSet"), std::string::npos) << text;
  EXPECT_NE(text.find(files.approved->sopInstanceUid), std::string::npos) << text;
  const auto json = nlohmann::json::parse(client::toJson(sets));
  ASSERT_EQ(json.size(), 3U);
  std::size_t damaged = 0;
  for (const auto& s : json) damaged += s.at("damaged").get<std::string>().empty() ? 0U : 1U;
  EXPECT_EQ(damaged, 2U);
}

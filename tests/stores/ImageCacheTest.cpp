// The image cache without a PACS: a series folder holds only instances of that series.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/stores/ImageCache.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

// A copy of @p from with some attributes replaced, saved as @p to.
void rewrite(const fs::path& from, const fs::path& to, const std::vector<std::pair<DcmTagKey, std::string>>& changes) {
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(from.c_str()).good()) << from;
  for (const auto& [tag, value] : changes) {
    ASSERT_TRUE(file.getDataset()->putAndInsertString(tag, value.c_str()).good());
  }
  ASSERT_TRUE(file.saveFile(to.c_str(), file.getDataset()->getOriginalXfer()).good()) << to;
}

// Collects the warnings reported while it lives.
class Warnings {
 public:
  Warnings() {
    iod::setWarningHandler([this](std::string_view line) { lines_.emplace_back(line); });
  }
  ~Warnings() { iod::setWarningHandler({}); }
  Warnings(const Warnings&) = delete;
  Warnings& operator=(const Warnings&) = delete;
  [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }
  [[nodiscard]] bool mention(const std::string& text) const {
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

 private:
  std::vector<std::string> lines_;
};

std::vector<std::string> uidsOf(const std::vector<client::LocalInstance>& instances) {
  std::vector<std::string> out;
  for (const auto& i : instances) out.push_back(i.sopInstanceUid);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(ImageCache, ASeriesFolderHoldsOnlyItsSeries) {
  test::TempDir dir;
  const client::ImageCache cache(dir / "images", 1ULL << 30U);
  const fs::path series = IODEEP_SOURCE_DIR "/examples/brain-unet/series";
  const auto first = iod::readSliceAttributes(series / "slice_020.dcm");
  const auto folder = cache.seriesDirectory(first.seriesInstanceUid);
  fs::create_directories(folder);
  // three instances of the series, as a retrieval leaves them
  std::vector<std::string> ours;
  for (const char* name : {"slice_020.dcm", "slice_021.dcm", "slice_022.dcm"}) {
    const auto sop = iod::readSliceAttributes(series / name).sopInstanceUid;
    fs::copy_file(series / name, folder / (sop + ".dcm"));
    fs::permissions(folder / (sop + ".dcm"),
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    ours.push_back(sop);
  }
  std::sort(ours.begin(), ours.end());
  // what does not belong: an instance of another series, one of another study, one not named
  // after its own SOP Instance UID, a file that is not DICOM
  rewrite(series / "slice_023.dcm", folder / "2.25.1001.dcm",
          {{DCM_SeriesInstanceUID, "2.25.2001"}, {DCM_SOPInstanceUID, "2.25.1001"}});
  rewrite(series / "slice_024.dcm", folder / "2.25.1002.dcm",
          {{DCM_StudyInstanceUID, "2.25.3001"}, {DCM_SOPInstanceUID, "2.25.1002"}});
  fs::copy_file(series / "slice_025.dcm", folder / "2.25.1003.dcm");
  test::writeBytes(folder / "2.25.1004.dcm", std::vector<std::byte>(200, std::byte{7}));

  {
    // the series is known from the folder: the other series, the misnamed file and the junk go
    const Warnings warnings;
    auto listed = uidsOf(cache.localSeries(first.seriesInstanceUid));
    EXPECT_EQ(warnings.lines().size(), 3U);
    for (const auto* gone : {"2.25.1001.dcm", "2.25.1003.dcm", "2.25.1004.dcm"}) {
      EXPECT_FALSE(fs::exists(folder / gone)) << gone;
      EXPECT_TRUE(warnings.mention((folder / gone).string())) << gone;
    }
    EXPECT_TRUE(warnings.mention("2.25.2001"));  // the other series, by its UID
    // the other study is seen only when the study is known (openSeries always passes it)
    std::vector<std::string> withOtherStudy = ours;
    withOtherStudy.emplace_back("2.25.1002");
    std::sort(withOtherStudy.begin(), withOtherStudy.end());
    EXPECT_EQ(listed, withOtherStudy);
  }
  {
    const Warnings warnings;
    const auto listed = cache.localSeries(first.seriesInstanceUid, first.studyInstanceUid);
    EXPECT_EQ(uidsOf(listed), ours);
    EXPECT_FALSE(fs::exists(folder / "2.25.1002.dcm"));
    ASSERT_EQ(warnings.lines().size(), 1U);
    EXPECT_TRUE(warnings.mention("2.25.3001"));
    // what stays is the owner's only
    for (const auto& i : listed) {
      struct stat st {};
      ASSERT_EQ(::stat(i.file.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 0777U, 0600U) << i.file;
    }
  }
  // nothing else is left in the folder, and listing again finds nothing more to discard
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(folder)) left.push_back(e.path().stem().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, ours);
  const Warnings none;
  EXPECT_EQ(cache.localSeries(first.seriesInstanceUid, first.studyInstanceUid).size(), 3U);
  EXPECT_TRUE(none.lines().empty());
}

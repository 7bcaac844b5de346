// The viewer's real widgets, driven as a physician would (mouse and keys, QTest, offscreen), against
// private Orthancs started by scripts/orthanc.sh. Checks what the PACS holds afterwards over DICOM.
// Screenshots go to $IODEEP_SCREENSHOT_DIR (scripts/screenshots.sh sets it to docs/images).
#include <QAbstractItemModel>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "../pacs/OrthancSupport.hpp"
#include "MainWindow.hpp"
#include "SettingsDialog.hpp"
#include "SliceView.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/service/Service.hpp"
#include "iodeep/service/ServiceClient.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/workflow/MaskEditor.hpp"
#include "iodeep/workflow/Masks.hpp"
#include "iodeep/workflow/StructureSets.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSeriesDir = kSource / "examples/brain-unet/series";
const fs::path kCtSmall = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
constexpr int kTimeout = 60000;  // ms; a cold AI ROI builds the network

std::vector<fs::path> exampleSeries() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kSeriesDir)) {
    if (e.path().extension() == ".dcm") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void screenshot(QWidget& w, const QString& name) {
  QString dir = qEnvironmentVariable("IODEEP_SCREENSHOT_DIR");
  if (dir.isEmpty()) dir = QDir::temp().filePath("iodeep-screenshots");
  QDir().mkpath(dir);
  const QString path = QDir(dir).filePath(name);
  QVERIFY2(w.grab().save(path), qPrintable("cannot save " + path));
  qInfo("screenshot %s", qPrintable(path));
}

// One PACS with the demo study, the brain network and a CT that no network matches; the viewer
// talks DIMSE to it, or DICOMweb (@p web: Orthanc's DICOMweb plugin).
struct Demo {
  test::PrivateOrthanc orthanc;
  test::TempDir dir;
  client::ClientConfig config;

  explicit Demo(bool web = false) : orthanc(test::OrthancWeb{web}) {
    const client::Pacs pacs(orthanc.options());
    (void)pacs.store(exampleSeries());
    (void)pacs.store({kBrain, kCtSmall});
    config.network = web ? orthanc.webOptions() : orthanc.options();
    config.cacheDir = dir / "models";
    config.outboxDir = dir / "outbox";
    config.imageCacheDir = dir / "images";
    config.reviewer = "Doe^Jane";
    config.source = dir / "client.json";
  }
};

// Clicks a row of a table view with the mouse.
void clickRow(QAbstractItemView* view, const QModelIndex& index, bool twice = false) {
  view->scrollTo(index);
  const QPoint at = view->visualRect(index).center();
  if (twice) {
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, at);
    QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, at);
  } else {
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, at);
  }
}

int rowOf(QTableWidget* table, int column, const QString& text) {
  for (int r = 0; r < table->rowCount(); ++r) {
    if (table->item(r, column) != nullptr && table->item(r, column)->text() == text) return r;
  }
  return -1;
}

int indexOfSop(const gui::MainWindow& w, const std::string& sop) {
  const auto& all = w.instances();
  const auto it = std::find_if(all.begin(), all.end(), [&](const auto& i) { return i.sopInstanceUid == sop; });
  return it == all.end() ? -1 : static_cast<int>(it - all.begin());
}

// Opens the demo study's MR series as a user would: filter, click the study, double-click the series.
// Lists the series of the one study the filter leaves: type it, click the study.
bool listSeriesOf(gui::MainWindow& w, const QString& filter) {
  const auto& ui = w.widgets();
  QSignalSpy studies(&w, &gui::MainWindow::studiesLoaded);
  if (ui.studies->model()->rowCount() == 0 && !studies.wait(kTimeout)) return false;
  QTest::keyClicks(ui.studyFilter, filter);
  if (ui.studies->model()->rowCount() != 1) return false;
  QSignalSpy series(&w, &gui::MainWindow::seriesListed);
  clickRow(ui.studies, ui.studies->model()->index(0, 0));
  return series.wait(kTimeout);
}

bool openDemoSeries(gui::MainWindow& w) {
  const auto& ui = w.widgets();
  if (!listSeriesOf(w, "Example")) return false;
  const int row = rowOf(ui.series, 1, "MR");
  if (row < 0) return false;
  QSignalSpy opened(&w, &gui::MainWindow::seriesOpened);
  clickRow(ui.series, ui.series->model()->index(row, 0), true);
  return opened.wait(kTimeout) && opened.takeFirst().at(0).toInt() == 62;
}

// Moves to slice @p target with the keyboard (Home, then Right).
void goToSlice(gui::MainWindow& w, int target) {
  w.widgets().view->setFocus();
  QTest::keyClick(w.widgets().view, Qt::Key_Home);
  for (int i = 0; i < target; ++i) QTest::keyClick(w.widgets().view, Qt::Key_Right);
}

// Clicks AI ROI; the number of proposals shown, or -1 (the failure printed).
int pressAiRoi(gui::MainWindow& w) {
  QSignalSpy shown(&w, &gui::MainWindow::proposalsShown);
  QSignalSpy failed(&w, &gui::MainWindow::aiRoiFailed);
  QTest::mouseClick(w.widgets().aiRoi, Qt::LeftButton);
  QElapsedTimer clock;
  clock.start();
  while (shown.isEmpty() && failed.isEmpty() && clock.elapsed() < kTimeout) QTest::qWait(10);
  if (shown.isEmpty() && failed.isEmpty()) return -1;
  if (!failed.isEmpty()) {
    qWarning("AI ROI failed: %s", qPrintable(failed.takeFirst().at(0).toString()));
    return -1;
  }
  return shown.takeFirst().at(0).toInt();
}

// The AI ROI story of the viewer (ViewerTest::aiRoiReviewAndStore), over DIMSE or DICOMweb.
void aiRoiStory(bool web) {
  Demo demo(web);
  gui::MainWindow w(demo.config);
  w.resize(1500, 900);
  w.show();
  QSignalSpy echo(&w, &gui::MainWindow::connectionChecked);
  QVERIFY(echo.wait(kTimeout));
  QCOMPARE(echo.takeFirst().at(0).toBool(), true);
  QVERIFY(w.widgets().connection->text().contains("answers"));
  QVERIFY(openDemoSeries(w));
  if (!web) screenshot(w, "viewer-study-list.png");
  // IODeep networks are in their own study: the demo study lists images only
  const auto& ui = w.widgets();
  QCOMPARE(rowOf(ui.series, 4, "IODeep networks"), -1);

  const auto slice22 = iod::readSliceAttributes(kSeriesDir / "slice_022.dcm");
  const auto slice30 = iod::readSliceAttributes(kSeriesDir / "slice_030.dcm");
  const int at22 = indexOfSop(w, slice22.sopInstanceUid);
  const int at30 = indexOfSop(w, slice30.sopInstanceUid);
  QVERIFY(at22 >= 0 && at30 >= 0);
  goToSlice(w, at22);
  QCOMPARE(w.currentSlice(), at22);
  QCOMPARE(ui.sliceLabel->text(), QString("%1 / 62").arg(at22 + 1));

  // the window's workstation serves every click: nothing of it is built again (the model
  // cache at most once, on its first use)
  const auto built = client::Workstation::constructed();
  QCOMPARE(pressAiRoi(w), 1);  // the brain network proposes one ROI on this slice
  const auto afterFirstClick = client::Workstation::constructed();
  QVERIFY(afterFirstClick.modelCaches - built.modelCaches <= 1);
  QVERIFY(ui.network->text().contains("brain", Qt::CaseInsensitive));
  QVERIFY(ui.explanation->toPlainText().contains("chosen", Qt::CaseInsensitive));
  // drawn in red on the slice
  QCOMPARE(ui.view->overlays().size(), std::size_t{1});
  QCOMPARE(ui.view->overlays().front().color, QColor(230, 30, 30));
  if (!web) screenshot(w, "viewer-proposals-red.png");

  goToSlice(w, at30);
  QCOMPARE(pressAiRoi(w), 2);  // a second slice: its proposal joins the first
  QCOMPARE(ui.proposals->rowCount(), 2);

  // approve the first, reject the second (mouse on the list, then the buttons)
  clickRow(ui.proposals, ui.proposals->model()->index(0, 0));
  QCOMPARE(w.currentSlice(), at22);  // selecting a proposal shows its slice
  QTest::mouseClick(ui.approve, Qt::LeftButton);
  clickRow(ui.proposals, ui.proposals->model()->index(1, 0));
  QCOMPARE(w.currentSlice(), at30);
  QTest::mouseClick(ui.reject, Qt::LeftButton);
  QCOMPARE(w.review().verdict(0), client::Verdict::Approved);
  QCOMPARE(w.review().verdict(1), client::Verdict::Rejected);
  QCOMPARE(ui.proposals->item(0, 4)->text(), QString("approved"));
  clickRow(ui.proposals, ui.proposals->model()->index(0, 0));
  QCOMPARE(ui.view->overlays().front().color, QColor(40, 200, 60));  // approved: green
  if (!web) screenshot(w, "viewer-approved-green.png");
  const auto approvedLabel = w.predictions()[0].proposals[0].label.name;

  // over DICOMweb, stored as both an RT Structure Set and a DICOM Segmentation (docs/seg.md)
  if (web) ui.storeFormat->setCurrentIndex(ui.storeFormat->findData("both"));
  QSignalSpy stored(&w, &gui::MainWindow::storeFinished);
  QSignalSpy listed(&w, &gui::MainWindow::structureSetsListed);
  QTest::mouseClick(ui.store, Qt::LeftButton);
  QVERIFY(stored.wait(kTimeout));
  QCOMPARE(stored.takeFirst().at(0).toBool(), true);
  QVERIFY(ui.storeStatus->text().contains("Stored on the PACS"));
  // the window lists the new set under the series
  QVERIFY(listed.wait(kTimeout));
  QCOMPARE(ui.storedSets->count(), web ? 2 : 1);  // the set, and the SEG after it
  // the study now lists the structure set's series too, as structure sets, not as images
  QSignalSpy relisted(&w, &gui::MainWindow::seriesListed);
  ui.studies->clearSelection();
  clickRow(ui.studies, ui.studies->model()->index(0, 0));
  QVERIFY(relisted.wait(kTimeout));
  const int rtRow = rowOf(ui.series, 4, "structure sets");
  QVERIFY(rtRow >= 0);
  QCOMPARE(ui.series->item(rtRow, 0)->flags(), Qt::NoItemFlags);
  const auto afterStore = client::Workstation::constructed();  // two clicks, a store, listings
  QCOMPARE(afterStore.workstations, built.workstations);
  QCOMPARE(afterStore.pacs, built.pacs);
  QCOMPARE(afterStore.modelCaches, afterFirstClick.modelCaches);
  QCOMPARE(afterStore.imageCaches, built.imageCaches);
  QVERIFY(afterStore.outboxes - built.outboxes <= 1);

  // over DICOM: one structure set, the approved ROI only, contoured on slice 22 only
  test::TempDir got;
  const auto sets = client::findStructureSets(client::Pacs(demo.config.network), slice22.studyInstanceUid,
                                              slice22.seriesInstanceUid, got.path());
  QCOMPARE(sets.size(), std::size_t{1});
  QCOMPARE(sets[0].approvalStatus, std::string("APPROVED"));
  QCOMPARE(sets[0].reviewerName, std::string("Doe^Jane"));
  QCOMPARE(sets[0].roiNames, std::vector<std::string>{approvedLabel});
  const auto set = rtstruct::readStructureSet(sets[0].file);
  QCOMPARE(set.rois.size(), std::size_t{1});
  for (const auto& [sop, points] : set.rois[0].contours) {
    QCOMPARE(sop, slice22.sopInstanceUid);
    QVERIFY(points.size() >= 3);
  }
  // the stored set (and SEG) is drawn on slice 22, green as approved; hiding it removes it
  goToSlice(w, at22);
  QCOMPARE(ui.view->overlays().size(), web ? std::size_t{2} : std::size_t{1});
  QCOMPARE(ui.view->overlays().front().color, QColor(40, 200, 60));
  if (web) {
    // the SEG's outline is the structure set's: the same rings (one mask, traced the same way)
    QCOMPARE(ui.view->overlays().back().color, QColor(40, 200, 60));
    QVERIFY(ui.view->overlays().back().label.contains("(SEG)"));
    const auto& segRings = ui.view->overlays().back().rings;
    const auto& setRings = ui.view->overlays().front().rings;
    QCOMPARE(segRings.size(), setRings.size());
    for (std::size_t k = 0; k < segRings.size(); ++k) {
      QCOMPARE(segRings[k].points.size(), setRings[k].points.size());
      QVERIFY(segRings[k].points == setRings[k].points);
    }
    QVERIFY(ui.storedSets->item(1)->text().contains("DICOM Segmentation"));
    ui.storedSets->item(1)->setCheckState(Qt::Unchecked);
  }
  ui.storedSets->item(0)->setCheckState(Qt::Unchecked);
  QCOMPARE(ui.view->overlays().size(), std::size_t{0});
  QVERIFY(client::Outbox(demo.config.outboxDir).list().empty());
}

}  // namespace

class ViewerTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { iod::setToolkitLogging(false); }

  // The story of the issue: open the demo study, move to a slice, AI ROI, approve one ROI and
  // reject another, store; the PACS then holds a structure set with only the approved ROI.
  void aiRoiReviewAndStore() { aiRoiStory(false); }
  // The same story with a DICOMweb PACS (QIDO-RS, WADO-RS, STOW-RS), everything else unchanged.
  void aiRoiReviewAndStoreOverDicomWeb() { aiRoiStory(true); }

  // Correcting before approving (issue 20): the brush adds, the eraser removes, undo and redo,
  // a new ROI drawn for a label the network knows; what is stored is exactly what was painted,
  // and the network's original proposal is kept in a set of its own.
  void correctWithBrushAndEraserDrawAndStore() {
    Demo demo;
    // the configuration holds the reviewer's signing key: what the viewer stores is signed
    demo.config.signing.key = test::fixture("pki") / "reviewer.key";
    demo.config.signing.certificate = test::fixture("pki") / "reviewer.pem";
    gui::MainWindow w(demo.config);
    w.resize(1500, 900);
    w.show();
    QVERIFY(openDemoSeries(w));
    const auto& ui = w.widgets();
    const auto slice22 = iod::readSliceAttributes(kSeriesDir / "slice_022.dcm");
    goToSlice(w, indexOfSop(w, slice22.sopInstanceUid));
    QCOMPARE(pressAiRoi(w), 1);
    const auto proposed = client::maskOfRings(w.predictions()[0].proposals[0].rings, 128, 128);
    clickRow(ui.proposals, ui.proposals->model()->index(0, 0));
    QVERIFY(!ui.brush->isEnabled());
    QTest::keyClick(&w, Qt::Key_C);  // correct the selected proposal
    QVERIFY(ui.view->brushOn());
    QVERIFY(ui.brush->isChecked());
    QTest::keyClick(&w, Qt::Key_BracketLeft);  // radius 4 -> 3
    QCOMPARE(ui.radius->value(), 3);

    // the same strokes replayed on a MaskEditor of our own give the mask expected pixel for pixel
    client::MaskEditor expected;
    expected.begin(proposed);
    const auto stroke = [&](QPointF fromPixel, QPointF toPixel, bool add) {
      const QPoint a = ui.view->fromPixel(fromPixel).toPoint();
      const QPoint b = ui.view->fromPixel(toPixel).toPoint();
      QTest::mousePress(ui.view, Qt::LeftButton, {}, a);
      QTest::mouseMove(ui.view, b);
      QTest::mouseRelease(ui.view, Qt::LeftButton, {}, b);
      const QPointF pa = ui.view->toPixel(a);
      const QPointF pb = ui.view->toPixel(b);
      expected.beginStroke(pa.x(), pa.y(), 3, add);
      expected.continueStroke(pb.x(), pb.y());
      expected.endStroke();
    };
    stroke({8, 8}, {24, 8}, true);  // the brush, outside the brain
    const auto afterBrush = expected.mask();
    QCOMPARE(w.reviewEditor().mask(), afterBrush);
    QCOMPARE(w.reviewEditor().mask().values[8 * 128 + 16], std::uint8_t{1});
    QVERIFY(w.reviewEditor().mask().area() > proposed.area() + 40);
    QTest::keyClick(&w, Qt::Key_E);  // the eraser, across the brain
    QVERIFY(ui.eraser->isChecked());
    stroke({50, 64}, {70, 64}, false);
    const auto afterEraser = expected.mask();
    QCOMPARE(w.reviewEditor().mask(), afterEraser);
    QVERIFY(proposed.values[64 * 128 + 60] == 1 && afterEraser.values[64 * 128 + 60] == 0);  // a hole now
    QTest::keyClick(&w, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(w.reviewEditor().mask(), afterBrush);
    QTest::keyClick(&w, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(w.reviewEditor().mask(), afterEraser);
    QCOMPARE(ui.view->overlays().back().color, QColor(255, 210, 0));  // being edited: yellow
    QTest::keyClick(&w, Qt::Key_Return);
    QVERIFY(!ui.view->brushOn());
    QCOMPARE(ui.proposals->item(0, 4)->text(), QString("approved (corrected)"));
    QCOMPARE(w.review().verdict(0), client::Verdict::Approved);

    // a new ROI of the network's label on the slice shown
    QCOMPARE(ui.drawLabel->currentText(), QString("Brain"));
    QTest::keyClick(&w, Qt::Key_D);
    QVERIFY(ui.view->brushOn());
    client::MaskEditor drawn;
    drawn.begin(client::Mask{128, 128, std::vector<std::uint8_t>(128 * 128, 0)});
    {
      const QPoint a = ui.view->fromPixel({100, 115}).toPoint();
      const QPoint b = ui.view->fromPixel({115, 118}).toPoint();
      QTest::mousePress(ui.view, Qt::LeftButton, {}, a);
      QTest::mouseMove(ui.view, b);
      QTest::mouseRelease(ui.view, Qt::LeftButton, {}, b);
      drawn.beginStroke(ui.view->toPixel(a).x(), ui.view->toPixel(a).y(), 3, true);
      drawn.continueStroke(ui.view->toPixel(b).x(), ui.view->toPixel(b).y());
      drawn.endStroke();
    }
    QTest::keyClick(&w, Qt::Key_Return);
    QCOMPARE(w.review().drawn().size(), std::size_t{1});
    QCOMPARE(ui.proposals->rowCount(), 2);
    screenshot(w, "viewer-corrected.png");

    QSignalSpy stored(&w, &gui::MainWindow::storeFinished);
    QTest::keyClick(&w, Qt::Key_S, Qt::ControlModifier);
    QVERIFY(stored.wait(kTimeout));
    QCOMPARE(stored.takeFirst().at(0).toBool(), true);

    // over DICOM: the approved set (corrected SEMIAUTOMATIC, drawn MANUAL) and the original proposal
    test::TempDir got;
    const auto sets = client::findStructureSets(client::Pacs(demo.config.network), slice22.studyInstanceUid,
                                                slice22.seriesInstanceUid, got.path());
    QCOMPARE(sets.size(), std::size_t{2});
    std::optional<rtstruct::StructureSetInfo> approved;
    std::optional<rtstruct::StructureSetInfo> original;
    for (const auto& s : sets) {
      auto info = rtstruct::readStructureSet(s.file);
      (info.approvalStatus == "APPROVED" ? approved : original) = std::move(info);
    }
    QVERIFY(approved && original);
    QVERIFY(ui.storeStatus->text().contains("signed by"));
    for (const auto& s : sets) {
      const auto report = iod::verifyFileSignatures(s.file);
      QVERIFY(report.wholeObjectSignature() != nullptr);
      QVERIFY(QString::fromStdString(report.wholeObjectSignature()->signer.subject).contains("Dr Reviewer"));
    }
    QCOMPARE(approved->predecessorSopInstanceUid, original->sopInstanceUid);
    QCOMPARE(original->approvalStatus, std::string("REJECTED"));
    const auto maskOf = [&](const rtstruct::StructureSetInfo& set, const std::string& name) {
      for (const auto& r : rtstruct::roisOnImage(set, slice22)) {
        if (r.roi.name == name)
          return std::make_pair(client::maskOfRings(r.rings, 128, 128), r.roi.generationAlgorithm);
      }
      return std::make_pair(client::Mask{}, std::string());
    };
    const auto [correctedMask, correctedHow] = maskOf(*approved, "Brain");
    QCOMPARE(correctedHow, std::string("SEMIAUTOMATIC"));
    QCOMPARE(correctedMask, afterEraser);  // exactly what was painted, the hole included
    const auto [drawnMask, drawnHow] = maskOf(*approved, "Brain (drawn)");
    QCOMPARE(drawnHow, std::string("MANUAL"));
    QCOMPARE(drawnMask, drawn.mask());
    QCOMPARE(maskOf(*original, "Brain").first, proposed);  // the proposal as the network made it
  }

  // The PACS stops while storing: the set goes to the outbox with a visible warning; the PACS
  // comes back, Send outbox, stored.
  void storeFailsIntoTheOutboxThenFlushes() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    QVERIFY(openDemoSeries(w));
    const auto& ui = w.widgets();
    const auto slice22 = iod::readSliceAttributes(kSeriesDir / "slice_022.dcm");
    goToSlice(w, indexOfSop(w, slice22.sopInstanceUid));
    QCOMPARE(pressAiRoi(w), 1);
    QTest::mouseClick(ui.approveAll, Qt::LeftButton);
    QCOMPARE(w.review().count(client::Verdict::Approved), std::size_t{1});

    demo.orthanc.kill();
    QSignalSpy stored(&w, &gui::MainWindow::storeFinished);
    QTest::keyClick(&w, Qt::Key_S, Qt::ControlModifier);  // the shortcut
    QVERIFY(stored.wait(kTimeout));
    QCOMPARE(stored.takeFirst().at(0).toBool(), false);
    QVERIFY(ui.storeStatus->text().contains("outbox"));
    QVERIFY(ui.outbox->text().contains("1 set(s) waiting"));
    QVERIFY(ui.flush->isEnabled());
    const auto waiting = client::Outbox(demo.config.outboxDir).list();
    QCOMPARE(waiting.size(), std::size_t{1});
    QCOMPARE(waiting[0].approvalStatus, std::string("APPROVED"));

    demo.orthanc.restart();
    QSignalSpy outbox(&w, &gui::MainWindow::outboxChanged);
    QTest::mouseClick(ui.flush, Qt::LeftButton);
    QVERIFY(outbox.wait(kTimeout));
    QCOMPARE(outbox.takeFirst().at(0).toInt(), 0);
    QVERIFY(ui.outbox->text().contains("empty"));
    QVERIFY(client::Outbox(demo.config.outboxDir).list().empty());
    test::TempDir got;
    const auto sets = client::findStructureSets(client::Pacs(demo.config.network), slice22.studyInstanceUid,
                                                slice22.seriesInstanceUid, got.path());
    QCOMPARE(sets.size(), std::size_t{1});
    QCOMPARE(sets[0].sopInstanceUid, waiting[0].sopInstanceUid);
  }

  // No network for a CT: each candidate's reason, no proposal, no crash. Errors are one readable
  // line in the window.
  void noMatchAndErrorsAreShownNotThrown() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    const auto& ui = w.widgets();
    QVERIFY(listSeriesOf(w, "CompressedSamples"));
    QSignalSpy opened(&w, &gui::MainWindow::seriesOpened);
    clickRow(ui.series, ui.series->model()->index(0, 0), true);
    QVERIFY(opened.wait(kTimeout));
    QCOMPARE(w.sliceCount(), 1);
    QCOMPARE(pressAiRoi(w), 0);
    QVERIFY(ui.network->text().contains("No IODeep network"));
    QVERIFY(ui.explanation->toPlainText().contains("Modality", Qt::CaseInsensitive));  // the reason
    QCOMPARE(ui.proposals->rowCount(), 0);
    QVERIFY(!ui.store->isEnabled());

    // the IODeep network study (listed when asked for): its series as networks, never opened as images
    ui.showNetworks->setChecked(true);
    QTest::mouseClick(ui.studyFilter, Qt::LeftButton);
    ui.studyFilter->clear();
    bool sawNetworks = false;
    for (int r = 0; r < ui.studies->model()->rowCount(); ++r) {
      QSignalSpy listed(&w, &gui::MainWindow::seriesListed);
      ui.studies->selectRow(r);
      QVERIFY(listed.wait(kTimeout));
      const int row = rowOf(ui.series, 4, "IODeep networks");
      if (row < 0) continue;
      sawNetworks = true;
      QCOMPARE(ui.series->item(row, 0)->flags(), Qt::NoItemFlags);
    }
    QVERIFY(sawNetworks);

    // the PACS gone: readable messages, the window stays
    demo.orthanc.kill();
    QSignalSpy error(&w, &gui::MainWindow::errorShown);
    QSignalSpy echo(&w, &gui::MainWindow::connectionChecked);
    QTest::keyClick(&w, Qt::Key_E, Qt::ControlModifier);
    QVERIFY(echo.wait(kTimeout));
    QCOMPARE(echo.takeFirst().at(0).toBool(), false);
    QVERIFY(ui.connection->text().contains("no answer"));
    QTest::keyClick(&w, Qt::Key_F5);
    QVERIFY(error.wait(kTimeout));
    QVERIFY(ui.error->isVisible());
    QVERIFY(ui.error->text().contains("PacsUnreachable") || ui.error->text().contains("cannot connect"));
  }

  // AI ROI on every slice of the series, with progress and cancel; then all approved and stored
  // as one structure set whose ROI has contours on each of those slices.
  void aiRoiOnTheSeriesWithProgressAndCancel() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    QVERIFY(openDemoSeries(w));
    const auto& ui = w.widgets();
    // cancelled once the progress shows a slice done: nothing is proposed
    QSignalSpy failed(&w, &gui::MainWindow::aiRoiFailed);
    QSignalSpy shown(&w, &gui::MainWindow::proposalsShown);
    QTest::mouseClick(ui.aiRoiSeries, Qt::LeftButton);
    QVERIFY(ui.aiProgress->isVisible());
    QVERIFY(!ui.aiRoi->isEnabled());  // one AI run at a time
    QTRY_VERIFY_WITH_TIMEOUT(ui.aiProgress->maximum() == 62 && ui.aiProgress->value() >= 1, kTimeout);
    QTest::mouseClick(ui.cancelAi, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() + shown.count() > 0, kTimeout);
    QCOMPARE(shown.count(), 0);
    QVERIFY(failed.takeFirst().at(0).toString().contains("cancelled"));
    QVERIFY(ui.network->text().contains("cancelled"));
    QCOMPARE(ui.proposals->rowCount(), 0);
    QVERIFY(!ui.aiProgress->isVisible());

    QTest::keyClick(&w, Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);  // the shortcut
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() + shown.count() > 0, kTimeout);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
    const int proposals = shown.takeFirst().at(0).toInt();
    QVERIFY(proposals >= 10);
    std::set<std::string> slices;
    for (const auto& p : w.predictions()) {
      QCOMPARE(p.proposals.size(), std::size_t{1});
      slices.insert(p.slice.attributes.sopInstanceUid);
    }
    QCOMPARE(static_cast<int>(slices.size()), proposals);                     // one proposal per slice with brain on it
    QTest::keyClick(&w, Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);  // approve all
    QCOMPARE(w.review().count(client::Verdict::Approved), static_cast<std::size_t>(proposals));
    QSignalSpy stored(&w, &gui::MainWindow::storeFinished);
    QTest::mouseClick(ui.store, Qt::LeftButton);
    QVERIFY(stored.wait(kTimeout));
    QCOMPARE(stored.takeFirst().at(0).toBool(), true);
    const auto a = iod::readSliceAttributes(kSeriesDir / "slice_022.dcm");
    test::TempDir got;
    const auto sets = client::findStructureSets(client::Pacs(demo.config.network), a.studyInstanceUid,
                                                a.seriesInstanceUid, got.path());
    QCOMPARE(sets.size(), std::size_t{1});
    const auto set = rtstruct::readStructureSet(sets[0].file);
    QCOMPARE(set.rois.size(), std::size_t{1});  // one structure, contoured on each slice
    std::set<std::string> contoured;
    for (const auto& c : set.rois[0].contours) contoured.insert(c.first);
    QCOMPARE(contoured, slices);
  }

  // Opening a series is cancellable; what arrived stays in the image cache for the next open.
  void openingASeriesCanBeCancelled() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    const auto& ui = w.widgets();
    QVERIFY(listSeriesOf(w, "Example"));
    const int row = rowOf(ui.series, 1, "MR");
    QSignalSpy opened(&w, &gui::MainWindow::seriesOpened);
    QSignalSpy error(&w, &gui::MainWindow::errorShown);
    clickRow(ui.series, ui.series->model()->index(row, 0), true);
    QVERIFY(ui.openProgress->isVisible());
    QTest::mouseClick(ui.cancelOpen, Qt::LeftButton);
    QVERIFY(opened.wait(kTimeout));
    QCOMPARE(opened.takeFirst().at(0).toInt(), 0);
    QVERIFY(ui.error->text().contains("cancelled"));
    QCOMPARE(w.sliceCount(), 0);
    clickRow(ui.series, ui.series->model()->index(row, 0), true);  // again: completes
    QVERIFY(opened.wait(kTimeout));
    QCOMPARE(opened.takeFirst().at(0).toInt(), 62);
  }

  // Settings: the dialog edits the connection and the reviewer; Save writes the configuration file
  // (read back the same), a value the core refuses keeps the dialog open with the reason.
  void settingsAreSavedToTheConfigurationFile() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    bool sawProblem = false;
    QTimer::singleShot(200, [&] {
      auto* dialog = qobject_cast<gui::SettingsDialog*>(QApplication::activeModalWidget());
      QVERIFY(dialog != nullptr);
      QCOMPARE(dialog->pacsHost->text(), QString("127.0.0.1"));
      dialog->pacsHost->clear();  // no host: refused, the dialog stays
      QTest::keyClick(dialog, Qt::Key_Return);
      QVERIFY(dialog->isVisible());
      sawProblem = !dialog->problem->text().isEmpty();
      QTest::keyClicks(dialog->pacsHost, "127.0.0.1");
      dialog->reviewer->clear();
      QTest::keyClicks(dialog->reviewer, "Roe^Richard");
      dialog->retrieve->setCurrentIndex(1);  // C-GET
      QTest::keyClick(dialog, Qt::Key_Return);
    });
    QSignalSpy echo(&w, &gui::MainWindow::connectionChecked);
    w.openSettings();
    QVERIFY(sawProblem);
    QCOMPARE(w.config().reviewer, std::string("Roe^Richard"));
    QCOMPARE(w.config().network.retrieve, client::RetrieveMode::Get);
    const auto saved = client::loadClientConfig(demo.config.source);
    QCOMPARE(saved.reviewer, std::string("Roe^Richard"));
    QCOMPARE(saved.network.retrieve, client::RetrieveMode::Get);
    QCOMPARE(saved.network.pacs.toString(), demo.config.network.pacs.toString());
    QCOMPARE(saved.cacheDir, demo.config.cacheDir);
    // the new settings are used at once: a C-ECHO with them, and C-GET opens the series
    QTRY_VERIFY_WITH_TIMEOUT(!echo.isEmpty(), kTimeout);
    QCOMPARE(echo.takeFirst().at(0).toBool(), true);
    QVERIFY(openDemoSeries(w));
  }

  // A DICOMweb PACS in the settings: an address with credentials in it is refused (and not shown),
  // the base URL is saved, read back the same, and the C-ECHO then goes over DICOMweb.
  void settingsSwitchToADicomWebPacs() {
    Demo demo(true);
    demo.config.network = demo.orthanc.options();  // the user starts on DIMSE
    const auto web = demo.orthanc.webOptions().pacs.url;
    gui::MainWindow w(demo.config);
    w.show();
    bool refused = false;
    bool secretShown = true;
    QTimer::singleShot(200, [&] {
      auto* dialog = qobject_cast<gui::SettingsDialog*>(QApplication::activeModalWidget());
      QVERIFY(dialog != nullptr);
      QVERIFY(dialog->pacsUrl->text().isEmpty());
      QTest::keyClicks(dialog->pacsUrl, "http://doctor:s3cret@127.0.0.1:1/dicom-web");
      QTest::keyClick(dialog, Qt::Key_Return);
      refused = dialog->isVisible() && !dialog->problem->text().isEmpty();
      secretShown = dialog->problem->text().contains("s3cret");
      dialog->pacsUrl->clear();
      QTest::keyClicks(dialog->pacsUrl, QString::fromStdString(web));
      QTest::keyClick(dialog, Qt::Key_Return);
    });
    QSignalSpy echo(&w, &gui::MainWindow::connectionChecked);
    w.openSettings();
    QVERIFY(refused);
    QVERIFY(!secretShown);
    QCOMPARE(w.config().network.pacs.url, web);
    QVERIFY(w.statusBar()->currentMessage().contains("DICOMweb"));
    const auto saved = client::loadClientConfig(demo.config.source);
    QVERIFY(saved.network.pacs.isWeb());
    QCOMPARE(saved.network.pacs.toString(), web);
    QTRY_VERIFY_WITH_TIMEOUT(!echo.isEmpty(), kTimeout);
    QCOMPARE(echo.takeFirst().at(0).toBool(), true);
    QVERIFY(openDemoSeries(w));  // the series retrieved by WADO-RS
  }

  // The study list asks the PACS with the user's search (patient name, ID, date range), not for
  // every study (issue 17): what comes back is what the PACS matched, with nothing filtered here.
  // With an inference service configured, the click goes to the service by reference: the
  // viewer never opens libtorch's networks itself, the proposals come back and are stored here.
  void aiRoiThroughTheInferenceService() {
    Demo demo;
    service::ServiceConfig sc;
    sc.client = demo.config;
    sc.client.cacheDir = demo.dir / "service-models";
    sc.client.outboxDir = demo.dir / "service-outbox";
    sc.service.listenPort = 0;
    sc.service.allowAnonymous = true;
    sc.service.workDir = demo.dir / "service";
    service::Service server(std::move(sc));
    std::thread serving([&server] { server.run(false); });
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
    demo.config.inferenceService.url = url;
    {
      gui::MainWindow w(demo.config);
      w.resize(1500, 900);
      w.show();
      QVERIFY(openDemoSeries(w));
      const auto slice22 = iod::readSliceAttributes(kSeriesDir / "slice_022.dcm");
      goToSlice(w, indexOfSop(w, slice22.sopInstanceUid));
      QCOMPARE(pressAiRoi(w), 1);
      const auto& ui = w.widgets();
      QVERIFY(ui.network->text().contains("inference service"));
      QVERIFY(ui.explanation->toPlainText().contains(QString::fromStdString(url)));
      QCOMPARE(ui.view->overlays().size(), std::size_t{1});
      // the service ran it: one prediction in its metrics; the viewer built no network
      service::ServiceClientOptions o;
      o.url = url;
      const auto metrics = service::ServiceClient(o).send("GET", "/metrics").body;
      QVERIFY(metrics.find("iodeep_http_requests_total{route=\"/v1/predict\",status=\"200\"} 1") != std::string::npos);
      QVERIFY(!fs::exists(demo.config.cacheDir) || fs::is_empty(demo.config.cacheDir));
      // approved and stored by the viewer, as without a service
      QTest::mouseClick(ui.approveAll, Qt::LeftButton);
      QCOMPARE(w.review().verdict(0), client::Verdict::Approved);
      QSignalSpy stored(&w, &gui::MainWindow::storeFinished);
      QTest::mouseClick(ui.store, Qt::LeftButton);
      QVERIFY(stored.wait(kTimeout));
      QCOMPARE(stored.takeFirst().at(0).toBool(), true);
    }
    server.stop();
    serving.join();
  }

  void studySearchAsksThePacs() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.show();
    const auto& ui = w.widgets();
    QSignalSpy loaded(&w, &gui::MainWindow::studiesLoaded);
    QVERIFY(loaded.wait(kTimeout));
    // no search: the demo and the CT study; the networks' own study (IODEEP MODELS) only when asked for
    QCOMPARE(loaded.takeFirst().at(0).toInt(), 2);
    const auto listsNetworks = [&] {
      for (int r = 0; r < ui.studies->model()->rowCount(); ++r) {
        if (ui.studies->model()->index(r, 4).data().toString() == "IODEEP MODELS") return true;
      }
      return false;
    };
    QVERIFY(!listsNetworks());
    ui.showNetworks->setChecked(true);
    QCOMPARE(ui.studies->model()->rowCount(), 3);
    QVERIFY(listsNetworks());
    ui.showNetworks->setChecked(false);
    QCOMPARE(ui.studies->model()->rowCount(), 2);
    const auto search = [&](const QString& name, const QString& id, const QString& from, const QString& to) {
      for (auto* edit : {ui.searchName, ui.searchId, ui.searchFrom, ui.searchTo}) edit->clear();
      QTest::keyClicks(ui.searchName, name);
      QTest::keyClicks(ui.searchId, id);
      QTest::keyClicks(ui.searchFrom, from);
      QTest::keyClicks(ui.searchTo, to);
      QTest::mouseClick(ui.search, Qt::LeftButton);
      if (!loaded.wait(kTimeout)) return -1;
      const int count = loaded.takeFirst().at(0).toInt();
      return count == ui.studies->model()->rowCount() ? count : -2;  // nothing hidden by the local filter
    };
    QCOMPARE(w.studySearch().patientName, std::string());
    QCOMPARE(search("Example", "", "", ""), 1);  // a prefix of Example^Brain
    QCOMPARE(w.studySearch().patientName, std::string("Example*"));
    QCOMPARE(ui.studies->model()->index(0, 0).data().toString(), QString("Example, Brain"));
    QCOMPARE(search("", "1CT1", "", ""), 1);  // CT_small's patient ID
    QCOMPARE(search("Nobody", "", "", ""), 0);
    QCOMPARE(search("", "", "20260101", "20260101"), 1);  // the demo study's date
    QCOMPARE(w.studySearch().studyDate, std::string("20260101"));
    QCOMPARE(search("", "", "20000101", "20101231"), 1);  // CT_small, 20040119
    QCOMPARE(w.studySearch().studyDate, std::string("20000101-20101231"));
    QCOMPARE(search("", "", "20300101", ""), 0);
    QVERIFY(ui.studiesNote->text().isEmpty());

    // a PACS with more studies than max_find_results: the first ones, and a note that says so
    demo.config.network.maxFindResults = 2;
    gui::MainWindow capped(demo.config);
    capped.show();
    QSignalSpy cappedLoaded(&capped, &gui::MainWindow::studiesLoaded);
    QVERIFY(cappedLoaded.wait(kTimeout));
    QVERIFY(cappedLoaded.takeFirst().at(0).toInt() <= 2);  // the first 2 the PACS answered, networks' hidden
    QVERIFY(capped.widgets().studiesNote->text().contains("more studies"));
  }

  // DICOM TLS in the settings: a TLS-only Orthanc refuses the plain settings; the TLS group filled
  // in (a certificate that does not exist keeps the dialog open with the reason, turning
  // verification off shows the warning) is saved, read back the same, and the C-ECHO succeeds.
  void tlsSettingsReachATlsPacs() {
    test::PrivateOrthanc orthanc(test::OrthancTls{});
    test::TempDir dir;
    client::ClientConfig config;
    config.network = orthanc.options();
    const auto tls = config.network.tls;
    config.network.tls = {};  // the user has not set TLS up yet
    config.cacheDir = dir / "models";
    config.outboxDir = dir / "outbox";
    config.imageCacheDir = dir / "images";
    config.source = dir / "client.json";
    gui::MainWindow w(config);
    w.show();
    QSignalSpy echo(&w, &gui::MainWindow::connectionChecked);
    w.checkConnection();
    QTRY_VERIFY_WITH_TIMEOUT(!echo.isEmpty(), kTimeout);
    QCOMPARE(echo.last().at(0).toBool(), false);  // plain against TLS only
    echo.clear();
    bool sawProblem = false;
    bool sawWarning = false;
    QTimer::singleShot(200, [&] {
      auto* dialog = qobject_cast<gui::SettingsDialog*>(QApplication::activeModalWidget());
      QVERIFY(dialog != nullptr);
      QVERIFY(!dialog->tls->isChecked());
      dialog->tls->setChecked(true);
      QTest::keyClicks(dialog->tlsCertificate, QString::fromStdString((dir / "absent.pem").string()));
      QTest::keyClicks(dialog->tlsKey, QString::fromStdString(tls.privateKey.string()));
      dialog->tlsTrusted->setPlainText(QString::fromStdString(tls.trustedCertificates.at(0).string()));
      QTest::keyClick(dialog, Qt::Key_Return);  // no such certificate: refused, the dialog stays
      QVERIFY(dialog->isVisible());
      sawProblem = dialog->problem->text().contains("absent.pem");
      dialog->tlsCertificate->clear();
      QTest::keyClicks(dialog->tlsCertificate, QString::fromStdString(tls.certificate.string()));
      dialog->tlsVerifyPeer->setChecked(false);
      sawWarning = dialog->tlsWarning->isVisibleTo(dialog);
      dialog->tlsVerifyPeer->setChecked(true);
      QVERIFY(!dialog->tlsWarning->isVisibleTo(dialog));
      QTest::keyClick(dialog, Qt::Key_Return);
    });
    w.openSettings();
    QVERIFY(sawProblem);
    QVERIFY(sawWarning);
    const auto saved = client::loadClientConfig(config.source);
    QVERIFY(saved.network.tls.enabled);
    QCOMPARE(saved.network.tls.certificate, tls.certificate);
    QCOMPARE(saved.network.tls.privateKey, tls.privateKey);
    QCOMPARE(saved.network.tls.trustedCertificates, tls.trustedCertificates);
    QVERIFY(saved.network.tls.verifyPeer);
    QTRY_VERIFY_WITH_TIMEOUT(!echo.isEmpty() && echo.last().at(0).toBool(), kTimeout);
  }

  // Reading: window/level by dragging, presets, wheel navigation, autoplay, zoom.
  void readingTheSeries() {
    Demo demo;
    gui::MainWindow w(demo.config);
    w.resize(1400, 900);
    w.show();
    QVERIFY(openDemoSeries(w));
    const auto& ui = w.widgets();
    QCOMPARE(w.currentSlice(), 31);  // opens in the middle of the volume
    const auto before = w.window();
    const QPoint c = ui.view->rect().center();
    QTest::mousePress(ui.view, Qt::LeftButton, {}, c);
    QMouseEvent move(QEvent::MouseMove, QPointF(c + QPoint(40, 20)), ui.view->mapToGlobal(QPointF(c + QPoint(40, 20))),
                     Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(ui.view, &move);
    QTest::mouseRelease(ui.view, Qt::LeftButton, {}, c + QPoint(40, 20));
    QVERIFY(w.window().width > before.width);    // drag right: wider
    QVERIFY(w.window().center > before.center);  // drag down: higher level
    // a preset: the last is the full range of the slice
    ui.presets->setCurrentIndex(ui.presets->count() - 1);
    emit ui.presets->activated(ui.presets->count() - 1);
    QVERIFY(w.window().width != before.width);
    // wheel: one notch towards the user is the next slice
    QWheelEvent wheel(QPointF(c), ui.view->mapToGlobal(QPointF(c)), QPoint(), QPoint(0, -120), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(ui.view, &wheel);
    QCOMPARE(w.currentSlice(), 32);
    // zoom with Ctrl+wheel
    const double zoom = ui.view->zoom();
    QWheelEvent zoomIn(QPointF(c), ui.view->mapToGlobal(QPointF(c)), QPoint(), QPoint(0, 120), Qt::NoButton,
                       Qt::ControlModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(ui.view, &zoomIn);
    QVERIFY(ui.view->zoom() > zoom);
    // autoplay at 30 frames per second moves on by itself, Space stops it
    ui.speed->setValue(30);
    QSignalSpy shown(&w, &gui::MainWindow::sliceShown);
    QTest::mouseClick(ui.play, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 5, 5000);
    ui.view->setFocus();
    QTest::keyClick(ui.view, Qt::Key_Space);
    QVERIFY(!ui.play->isChecked());
    const int stoppedAt = w.currentSlice();
    QTest::qWait(200);
    QCOMPARE(w.currentSlice(), stoppedAt);
    QTest::keyClick(ui.view, Qt::Key_End);
    QCOMPARE(w.currentSlice(), 61);
    QTest::mouseClick(ui.previous, Qt::LeftButton);  // the buttons
    QCOMPARE(w.currentSlice(), 60);
    QTest::mouseClick(ui.next, Qt::LeftButton);
    QCOMPARE(w.currentSlice(), 61);
    QTest::keyClick(ui.view, Qt::Key_PageUp);
    QCOMPARE(w.currentSlice(), 51);
    QCOMPARE(ui.sliceLabel->text(), QString("52 / 62"));
    // pan with the right button moves the image, a double click fits it again (once the slice is
    // decoded: until then the view paints none of the previous one)
    QTRY_VERIFY_WITH_TIMEOUT(!ui.view->pending(), 5000);
    const QImage before2 = ui.view->grab().toImage();
    QTest::mousePress(ui.view, Qt::RightButton, {}, c);
    QMouseEvent pan(QEvent::MouseMove, QPointF(c + QPoint(60, 0)), ui.view->mapToGlobal(QPointF(c + QPoint(60, 0))),
                    Qt::NoButton, Qt::RightButton, Qt::NoModifier);
    QApplication::sendEvent(ui.view, &pan);
    QTest::mouseRelease(ui.view, Qt::RightButton, {}, c + QPoint(60, 0));
    QVERIFY(ui.view->grab().toImage() != before2);
  }
};

QTEST_MAIN(ViewerTest)
#include "ViewerTest.moc"

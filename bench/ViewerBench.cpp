// The viewer's AI ROI as the physician feels it: from the click on "AI ROI" to the proposals
// drawn, and the UI thread's longest stall in between (a 1 ms timer on the UI thread; a stall is
// the longest gap between two of its ticks, less the 1 ms). Drives the real MainWindow
// (offscreen) against the PACS in the configuration: opens the example study's series, goes to
// slice_022, clicks once cold (the model cache as the configuration has it, the network not yet
// built in this process) and then --warm times. Prints one JSON object. bench/viewer_e2e.sh runs
// it against a private Orthanc with an empty model cache each time.
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "MainWindow.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Slice.hpp"

using namespace iodeep;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "viewer_bench: " << what << "\n";
  std::exit(1);
}

bool waitFor(QSignalSpy& spy, int ms = 120000) {
  return !spy.isEmpty() || spy.wait(ms);
}

struct Sample {
  double clickToDrawnMs{0};
  double maxStallMs{0};
  int proposals{0};
};

Sample clickAiRoi(gui::MainWindow& w) {
  std::vector<qint64> ticks;
  QElapsedTimer clock;
  QTimer heartbeat;
  heartbeat.setTimerType(Qt::PreciseTimer);
  heartbeat.setInterval(1);
  QObject::connect(&heartbeat, &QTimer::timeout, [&] { ticks.push_back(clock.nsecsElapsed()); });
  QSignalSpy shown(&w, &gui::MainWindow::proposalsShown);
  QSignalSpy failed(&w, &gui::MainWindow::aiRoiFailed);
  clock.start();
  heartbeat.start();
  QTest::qWait(20);  // the heartbeat is running
  ticks.clear();
  const qint64 start = clock.nsecsElapsed();
  ticks.push_back(start);
  QTest::mouseClick(w.widgets().aiRoi, Qt::LeftButton);
  while (shown.isEmpty() && failed.isEmpty()) {
    QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    if (clock.elapsed() > 300000) fail("no proposals within 300 s");
  }
  const qint64 end = clock.nsecsElapsed();
  heartbeat.stop();
  if (!failed.isEmpty()) fail("AI ROI failed: " + failed.first().at(0).toString().toStdString());
  ticks.push_back(end);
  Sample s;
  s.clickToDrawnMs = static_cast<double>(end - start) / 1e6;
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    s.maxStallMs = std::max(s.maxStallMs, static_cast<double>(ticks[i] - ticks[i - 1]) / 1e6 - 1.0);
  }
  s.maxStallMs = std::max(0.0, s.maxStallMs);
  s.proposals = shown.first().at(0).toInt();
  return s;
}

nlohmann::json toJson(const Sample& s) {
  return {{"clickToDrawnMs", s.clickToDrawnMs}, {"maxStallMs", s.maxStallMs}, {"proposals", s.proposals}};
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  iod::setToolkitLogging(false);
  QCommandLineParser parser;
  const QCommandLineOption configOption("config", "client configuration", "FILE");
  const QCommandLineOption sliceOption("slice", "the slice to run on (its SOP Instance UID is looked up)", "FILE");
  const QCommandLineOption warmOption("warm", "warm clicks after the cold one", "N", "5");
  parser.addOptions({configOption, sliceOption, warmOption});
  parser.process(app);
  client::ClientConfig config;
  std::string sop;
  try {
    config = client::loadClientConfig(parser.value(configOption).toStdString());
    sop = iod::readSliceAttributes(parser.value(sliceOption).toStdString()).sopInstanceUid;
  } catch (const Error& e) {
    fail(e.what());
  }
  gui::MainWindow w(config);
  w.resize(1500, 900);
  w.show();
  const auto& ui = w.widgets();
  QSignalSpy studies(&w, &gui::MainWindow::studiesLoaded);
  if (!waitFor(studies) || ui.studies->model()->rowCount() == 0) fail("no studies");
  QTest::keyClicks(ui.studyFilter, "Example");
  QSignalSpy series(&w, &gui::MainWindow::seriesListed);
  ui.studies->selectRow(0);
  if (!waitFor(series)) fail("no series");
  QSignalSpy opened(&w, &gui::MainWindow::seriesOpened);
  int row = -1;
  for (int r = 0; r < ui.series->rowCount(); ++r) {
    if (ui.series->item(r, 1)->text() == "MR") row = r;
  }
  if (row < 0) fail("no MR series");
  emit ui.series->cellActivated(row, 0);
  if (!waitFor(opened) || w.sliceCount() == 0) fail("the series did not open");
  const auto& all = w.instances();
  const auto it = std::find_if(all.begin(), all.end(), [&](const auto& i) { return i.sopInstanceUid == sop; });
  if (it == all.end()) fail("the slice is not in the series");
  w.showSlice(static_cast<int>(it - all.begin()));

  nlohmann::json out;
  out["cold"] = toJson(clickAiRoi(w));
  out["warm"] = nlohmann::json::array();
  for (int i = 0; i < parser.value(warmOption).toInt(); ++i) out["warm"].push_back(toJson(clickAiRoi(w)));
  std::cout << out.dump() << "\n";
  return 0;
}

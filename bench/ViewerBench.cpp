// The viewer as the physician feels it, driving the real MainWindow (offscreen) against the PACS
// in the configuration. Opens the example study's series, then:
// - AI ROI: goes to slice_022, clicks "AI ROI" once cold (the model cache as the configuration
//   has it, the network not yet built in this process) and then --warm times; each click is
//   measured from the click to the proposals drawn.
// - Scroll: --scroll passes through the whole series: the first slice shown, then one click on
//   the "next" button every --step-ms ms (30: a fast scroll) until the last slice is displayed;
//   each step is measured from its click to the slice displayed (the sliceShown signal), each
//   pass from its first click to the last slice displayed.
// In both, the UI thread's longest stall: a 1 ms timer ticks on the UI thread; a stall is the
// longest gap between two of its ticks, less the 1 ms. Prints one JSON object.
// bench/viewer_e2e.sh runs it against a private Orthanc with an empty model cache each time.
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

// The UI thread's heartbeat: a 1 ms timer whose ticks are recorded from start() to stop().
class StallMeter {
 public:
  StallMeter() {
    heartbeat_.setTimerType(Qt::PreciseTimer);
    heartbeat_.setInterval(1);
    QObject::connect(&heartbeat_, &QTimer::timeout, [this] { ticks_.push_back(clock_.nsecsElapsed()); });
    clock_.start();
    heartbeat_.start();
    QTest::qWait(20);  // the heartbeat is running
  }
  /// Now, in ns; the measured interval starts here.
  qint64 start() {
    ticks_.clear();
    const qint64 t = clock_.nsecsElapsed();
    ticks_.push_back(t);
    return t;
  }
  [[nodiscard]] qint64 now() const { return clock_.nsecsElapsed(); }
  [[nodiscard]] qint64 elapsedMs() const { return clock_.elapsed(); }
  /// Ends the interval now: the longest gap between two ticks in it, less the 1 ms, in ms.
  double stop() {
    ticks_.push_back(clock_.nsecsElapsed());
    heartbeat_.stop();
    double stall = 0;
    for (std::size_t i = 1; i < ticks_.size(); ++i) {
      const double gap = static_cast<double>(ticks_[i] - ticks_[i - 1]) / 1e6 - 1.0;
      if (gap > stall) {
        stall = gap;
        stallAtMs_ = static_cast<double>(ticks_[i - 1] - ticks_.front()) / 1e6;
      }
    }
    return std::max(0.0, stall);
  }
  /// Where the longest stall began, ms after the interval's start.
  [[nodiscard]] double stallAtMs() const noexcept { return stallAtMs_; }

 private:
  std::vector<qint64> ticks_;
  double stallAtMs_{0};
  QElapsedTimer clock_;
  QTimer heartbeat_;
};

struct Sample {
  double clickToDrawnMs{0};
  double maxStallMs{0};
  double stallAtMs{0};  ///< where the longest stall began, after the click
  int proposals{0};
};

Sample clickAiRoi(gui::MainWindow& w) {
  QSignalSpy shown(&w, &gui::MainWindow::proposalsShown);
  QSignalSpy failed(&w, &gui::MainWindow::aiRoiFailed);
  StallMeter meter;
  const qint64 start = meter.start();
  QTest::mouseClick(w.widgets().aiRoi, Qt::LeftButton);
  while (shown.isEmpty() && failed.isEmpty()) {
    QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    if (meter.elapsedMs() > 300000) fail("no proposals within 300 s");
  }
  const qint64 end = meter.now();
  Sample s;
  s.maxStallMs = meter.stop();
  s.stallAtMs = meter.stallAtMs();
  if (!failed.isEmpty()) fail("AI ROI failed: " + failed.first().at(0).toString().toStdString());
  s.clickToDrawnMs = static_cast<double>(end - start) / 1e6;
  s.proposals = shown.first().at(0).toInt();
  return s;
}

struct ScrollPass {
  double passMs{0};            ///< first click to the last slice displayed
  double maxStallMs{0};        ///< the UI thread's longest stall in that interval
  double stallAtMs{0};         ///< where it began, after the first click
  std::vector<double> stepMs;  ///< each step: its click to its slice displayed
};

// Waits until slice @p index is displayed (sliceShown), for at most @p ms.
bool waitShown(QSignalSpy& shown, int index, int ms) {
  QElapsedTimer t;
  t.start();
  for (;;) {
    for (const auto& args : shown) {
      if (args.at(0).toInt() == index) return true;
    }
    if (t.elapsed() > ms) return false;
    QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
  }
}

// One pass through the series: slice 0 displayed, then "next" clicked every @p stepMs ms (the
// click of step i waits for nothing but the timer) until the last slice is displayed.
ScrollPass scroll(gui::MainWindow& w, int stepMs) {
  const int n = w.sliceCount();
  QSignalSpy shown(&w, &gui::MainWindow::sliceShown);
  w.showSlice(0);
  if (!waitShown(shown, 0, 10000)) fail("slice 1 not shown");
  QTest::qWait(100);  // nothing pending
  shown.clear();
  std::vector<qint64> clicked(static_cast<std::size_t>(n), -1);
  std::vector<qint64> displayed(static_cast<std::size_t>(n), -1);
  StallMeter meter;
  const auto connection = QObject::connect(&w, &gui::MainWindow::sliceShown, &w, [&](int index) {
    if (index >= 0 && index < n && displayed[static_cast<std::size_t>(index)] < 0) {
      displayed[static_cast<std::size_t>(index)] = meter.now();
    }
  });
  const qint64 start = meter.start();
  int step = 0;
  QTimer stepper;
  stepper.setTimerType(Qt::PreciseTimer);
  QObject::connect(&stepper, &QTimer::timeout, [&] {
    if (step + 1 >= n) return;
    ++step;
    clicked[static_cast<std::size_t>(step)] = meter.now();
    w.widgets().next->click();
  });
  ++step;
  clicked[1] = meter.now();
  w.widgets().next->click();
  stepper.start(stepMs);
  while (displayed[static_cast<std::size_t>(n - 1)] < 0) {
    QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    if (meter.elapsedMs() > 120000) fail("the scroll did not reach the last slice within 120 s");
  }
  const qint64 end = meter.now();
  stepper.stop();
  ScrollPass p;
  p.maxStallMs = meter.stop();
  p.stallAtMs = meter.stallAtMs();
  QObject::disconnect(connection);
  p.passMs = static_cast<double>(end - start) / 1e6;
  for (int i = 1; i < n; ++i) {
    const auto c = clicked[static_cast<std::size_t>(i)];
    const auto d = displayed[static_cast<std::size_t>(i)];
    if (c >= 0 && d >= 0) p.stepMs.push_back(static_cast<double>(d - c) / 1e6);  // a skipped slice: not a step
  }
  return p;
}

nlohmann::json toJson(const Sample& s) {
  return {{"clickToDrawnMs", s.clickToDrawnMs},
          {"maxStallMs", s.maxStallMs},
          {"stallAtMs", s.stallAtMs},
          {"proposals", s.proposals}};
}

nlohmann::json toJson(const ScrollPass& p) {
  return {{"passMs", p.passMs}, {"maxStallMs", p.maxStallMs}, {"stallAtMs", p.stallAtMs}, {"stepMs", p.stepMs}};
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  iod::setToolkitLogging(false);
  QCommandLineParser parser;
  const QCommandLineOption configOption("config", "client configuration", "FILE");
  const QCommandLineOption sliceOption("slice", "the slice to run on (its SOP Instance UID is looked up)", "FILE");
  const QCommandLineOption warmOption("warm", "warm clicks after the cold one", "N", "5");
  const QCommandLineOption scrollOption("scroll", "passes through the whole series after the clicks", "N", "2");
  const QCommandLineOption stepOption("step-ms", "ms between two clicks on next while scrolling", "MS", "30");
  parser.addOptions({configOption, sliceOption, warmOption, scrollOption, stepOption});
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
  out["scroll"] = nlohmann::json::array();
  out["slices"] = w.sliceCount();
  out["stepMs"] = parser.value(stepOption).toInt();
  for (int i = 0; i < parser.value(scrollOption).toInt(); ++i) {
    out["scroll"].push_back(toJson(scroll(w, parser.value(stepOption).toInt())));
  }
  std::cout << out.dump() << "\n";
  return 0;
}

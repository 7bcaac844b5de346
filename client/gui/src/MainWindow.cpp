#include "MainWindow.hpp"

#include <QCloseEvent>
#include <QLabel>
#include <QLineEdit>
#include <QShortcut>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <chrono>

#include "AiRoiController.hpp"
#include "Background.hpp"
#include "GuiText.hpp"
#include "ReviewPanel.hpp"
#include "SettingsDialog.hpp"
#include "SliceViewer.hpp"
#include "StudyBrowser.hpp"
#include "WorkstationHolder.hpp"

namespace iodeep::gui {

namespace fs = std::filesystem;

MainWindow::MainWindow(client::ClientConfig config, const QString& configProblem, QWidget* parent)
    : QMainWindow(parent), holder_(std::make_unique<WorkstationHolder>(std::move(config))) {
  setWindowTitle(tr("iodeep viewer"));
  client::preloadInference();  // libtorch loads while the physician browses
  buildUi();
  wire();
  buildShortcuts();
  applyConfig();
  if (!configProblem.isEmpty()) showError(tr("Configuration: %1").arg(configProblem));
  review_->refreshOutbox();
  if (!holder_->config().network.pacs.aeTitle.empty() || holder_->config().network.pacs.isWeb()) {
    QTimer::singleShot(0, this, [this] {
      checkConnection();
      refreshStudies();
    });
  } else {
    w_.connection->setText(tr("● no PACS configured: Settings"));
  }
}

MainWindow::~MainWindow() {
  // background calls post back to the parts: stop them and wait, then the parts go while the
  // workstation they borrow is still here
  cancelRunning();
  workPool()->waitForDone();
  delete takeCentralWidget();
  client::awaitInferenceLoad();  // the load started in the constructor must end before the program does
}

void MainWindow::closeEvent(QCloseEvent* event) {
  viewer_->stopPlay();
  event->accept();
}

void MainWindow::cancelRunning() {
  ai_->cancel();
  browser_->cancelOpening();
}

// ---- the parts, as the window shows them ------------------------------------------------------------

const client::ClientConfig& MainWindow::config() const noexcept {
  return holder_->config();
}
int MainWindow::currentSlice() const noexcept {
  return viewer_->current();
}
int MainWindow::sliceCount() const noexcept {
  return viewer_->count();
}
const std::vector<client::LocalInstance>& MainWindow::instances() const noexcept {
  return viewer_->instances();
}
const std::vector<client::PredictResult>& MainWindow::predictions() const noexcept {
  return review_->predictions();
}
const client::MaskEditor& MainWindow::reviewEditor() const noexcept {
  return review_->editor();
}

const client::ReviewState& MainWindow::review() const noexcept {
  return review_->review();
}
const client::WindowLevel& MainWindow::window() const noexcept {
  return viewer_->window();
}
client::StudyFilter MainWindow::studySearch() const {
  return browser_->studySearch();
}

void MainWindow::refreshStudies() {
  browser_->refreshStudies();
}
void MainWindow::showSlice(int index) {
  viewer_->showSlice(index);
}
void MainWindow::setVerdictOfSelected(client::Verdict verdict) {
  review_->setVerdictOfSelected(verdict);
}
void MainWindow::approveAllProposals() {
  review_->approveAll();
}
void MainWindow::storeReview() {
  review_->store();
}
void MainWindow::flushOutbox() {
  review_->flushOutbox();
}
void MainWindow::refreshStructureSets() {
  review_->refreshStructureSets();
}

// ---- layout and wiring ------------------------------------------------------------------------------

void MainWindow::buildUi() {
  auto* tools = addToolBar(tr("Connection"));
  tools->setObjectName("connectionToolbar");
  tools->setMovable(false);
  tools->addAction(tr("Settings…"), this, &MainWindow::openSettings);
  tools->addAction(tr("Check connection"), this, &MainWindow::checkConnection);
  tools->addAction(tr("Refresh studies"), this, &MainWindow::refreshStudies);
  w_.connection = new QLabel(tr("● not checked"));
  w_.connection->setObjectName("connection");
  w_.connection->setContentsMargins(12, 0, 12, 0);
  tools->addWidget(w_.connection);

  browser_ = new StudyBrowser(*holder_);
  viewer_ = new SliceViewer;
  // AI ROI, review, store, outbox, stored sets, errors
  auto* side = new QWidget;
  auto* sl = new QVBoxLayout(side);
  ai_ = new AiRoiController(*holder_);
  review_ = new ReviewPanel(*holder_);
  w_.error = new QLabel;
  w_.error->setObjectName("error");
  w_.error->setWordWrap(true);
  w_.error->setStyleSheet("color: #b00000; font-weight: bold");
  w_.error->setVisible(false);
  w_.error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  sl->addWidget(ai_);
  sl->addWidget(review_, 1);
  sl->addWidget(w_.error);

  auto* split = new QSplitter;
  split->addWidget(browser_);
  split->addWidget(viewer_);
  split->addWidget(side);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 5);
  split->setStretchFactor(2, 2);
  split->setSizes({420, 720, 360});
  setCentralWidget(split);
  resize(1500, 900);

  // the parts' widgets, under one name for the tests and the benchmark
  static_cast<StudyBrowser::Widgets&>(w_) = browser_->widgets();
  static_cast<SliceViewer::Widgets&>(w_) = viewer_->widgets();
  static_cast<AiRoiController::Widgets&>(w_) = ai_->widgets();
  static_cast<ReviewPanel::Widgets&>(w_) = review_->widgets();
}

void MainWindow::wire() {
  connect(browser_, &StudyBrowser::errorRaised, this, &MainWindow::showError);
  connect(viewer_, &SliceViewer::errorRaised, this, &MainWindow::showError);
  connect(ai_, &AiRoiController::errorRaised, this, &MainWindow::showError);
  connect(review_, &ReviewPanel::errorRaised, this, &MainWindow::showError);
  connect(browser_, &StudyBrowser::errorCleared, this, &MainWindow::clearError);
  connect(ai_, &AiRoiController::errorCleared, this, &MainWindow::clearError);
  connect(review_, &ReviewPanel::errorCleared, this, &MainWindow::clearError);

  connect(browser_, &StudyBrowser::studiesLoaded, this, &MainWindow::studiesLoaded);
  connect(browser_, &StudyBrowser::seriesListed, this, &MainWindow::seriesListed);
  connect(browser_, &StudyBrowser::openingStarted, viewer_, &SliceViewer::stopPlay);
  connect(browser_, &StudyBrowser::seriesOpened, this, &MainWindow::showOpenedSeries);
  connect(browser_, &StudyBrowser::openingFailed, this, [this] { emit seriesOpened(0); });

  connect(viewer_, &SliceViewer::sliceChanged, this, &MainWindow::updateOverlays);
  connect(viewer_, &SliceViewer::sliceShown, this, &MainWindow::sliceShown);

  connect(ai_, &AiRoiController::runOnSliceRequested, this, &MainWindow::runAiRoi);
  connect(ai_, &AiRoiController::runOnSeriesRequested, this, &MainWindow::runAiRoiOnSeries);
  connect(ai_, &AiRoiController::busyChanged, review_, &ReviewPanel::setLocked);
  connect(ai_, &AiRoiController::predictionsReady, this, &MainWindow::predictionsReady);
  connect(ai_, &AiRoiController::nothingMatched, this, [this] { emit proposalsShown(0); });
  connect(ai_, &AiRoiController::failed, this, &MainWindow::aiRoiFailed);

  connect(review_, &ReviewPanel::overlaysChanged, this, &MainWindow::updateOverlays);
  connect(review_, &ReviewPanel::proposalSelected, this, &MainWindow::showProposalSlice);
  connect(review_, &ReviewPanel::storeFinished, this, &MainWindow::storeFinished);
  connect(review_, &ReviewPanel::outboxChanged, this, &MainWindow::outboxChanged);
  connect(review_, &ReviewPanel::structureSetsListed, this, &MainWindow::structureSetsListed);
  // editing: the slice view's brush follows the review's tool; its strokes go to the review's editor
  connect(review_, &ReviewPanel::editingChanged, this,
          [this](bool active, bool /*brush*/, double radius) { w_.view->setBrush(active, radius); });
  connect(w_.view, &SliceView::brushPressed, review_, &ReviewPanel::brushPressed);
  connect(w_.view, &SliceView::brushMoved, review_, &ReviewPanel::brushMoved);
  connect(w_.view, &SliceView::brushReleased, review_, &ReviewPanel::brushReleased);
}

void MainWindow::buildShortcuts() {
  const auto add = [this](const QKeySequence& key, auto slot, QWidget* scope = nullptr) {
    auto* s = new QShortcut(key, scope == nullptr ? static_cast<QWidget*>(this) : scope);
    if (scope != nullptr) s->setContext(Qt::WidgetWithChildrenShortcut);
    connect(s, &QShortcut::activated, this, slot);
  };
  add(QKeySequence(Qt::CTRL | Qt::Key_R), [this] { runAiRoi(); });
  add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), [this] { runAiRoiOnSeries(); });
  add(QKeySequence(Qt::Key_A), [this] { setVerdictOfSelected(client::Verdict::Approved); });
  add(QKeySequence(Qt::Key_X), [this] { setVerdictOfSelected(client::Verdict::Rejected); });
  add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A), [this] { approveAllProposals(); });
  add(QKeySequence(Qt::CTRL | Qt::Key_S), [this] { storeReview(); });
  add(QKeySequence(Qt::CTRL | Qt::Key_E), [this] { checkConnection(); });
  add(QKeySequence(Qt::Key_F5), [this] { refreshStudies(); });
  add(QKeySequence(Qt::CTRL | Qt::Key_F), [this] { w_.studyFilter->setFocus(); });
  add(QKeySequence(Qt::Key_Escape), [this] {
    if (review_->editing()) {
      review_->cancelEditing();
    } else {
      cancelRunning();
    }
  });
  // correcting and drawing (docs/viewer.md, "Correcting a proposal")
  add(QKeySequence(Qt::Key_C), [this] { review_->startCorrecting(); });
  add(QKeySequence(Qt::Key_D), [this] { review_->startDrawing(); });
  add(QKeySequence(Qt::Key_B), [this] { review_->setTool(true); });
  add(QKeySequence(Qt::Key_E), [this] { review_->setTool(false); });
  add(QKeySequence(Qt::Key_BracketLeft), [this] { review_->changeRadius(-1); });
  add(QKeySequence(Qt::Key_BracketRight), [this] { review_->changeRadius(1); });
  add(QKeySequence(Qt::CTRL | Qt::Key_Z), [this] { review_->undoEdit(); });
  add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), [this] { review_->redoEdit(); });
  add(QKeySequence(Qt::CTRL | Qt::Key_Y), [this] { review_->redoEdit(); });
  add(QKeySequence(Qt::Key_Return), [this] { review_->finishEditing(); });
  add(QKeySequence(Qt::Key_Enter), [this] { review_->finishEditing(); });
  // navigation while the slice area has the focus (arrows stay with tables elsewhere)
  QWidget* area = viewer_;
  const auto step = [this](int n) { return [this, n] { viewer_->stepSlice(n); }; };
  add(QKeySequence(Qt::Key_Right), step(1), area);
  add(QKeySequence(Qt::Key_Down), step(1), area);
  add(QKeySequence(Qt::Key_Left), step(-1), area);
  add(QKeySequence(Qt::Key_Up), step(-1), area);
  add(QKeySequence(Qt::Key_PageDown), step(10), area);
  add(QKeySequence(Qt::Key_PageUp), step(-10), area);
  add(
      QKeySequence(Qt::Key_Home), [this] { viewer_->showSlice(0); }, area);
  add(
      QKeySequence(Qt::Key_End), [this] { viewer_->showSlice(viewer_->count() - 1); }, area);
  add(
      QKeySequence(Qt::Key_Space), [this] { viewer_->togglePlay(); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_0), [this] { w_.view->fit(); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_Plus), [this] { w_.view->setZoom(w_.view->zoom() * 1.25); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_Minus), [this] { w_.view->setZoom(w_.view->zoom() / 1.25); }, area);
}

void MainWindow::applyConfig() {
  const auto& config = holder_->config();
  const auto& n = config.network;
  statusBar()->showMessage(tr("PACS %1, our AE %2, %3, reviewer %4")
                               .arg(n.pacs.aeTitle.empty() && !n.pacs.isWeb() ? tr("(none)") : q(n.pacs.toString()),
                                    q(n.callingAeTitle),
                                    n.pacs.isWeb()                             ? tr("DICOMweb")
                                    : n.retrieve == client::RetrieveMode::Move ? tr("C-MOVE to port %1").arg(n.movePort)
                                                                               : tr("C-GET"),
                                    config.reviewer.empty() ? tr("(not set)") : q(config.reviewer)));
}

void MainWindow::showError(const QString& message) {
  w_.error->setText(message);
  w_.error->setVisible(true);
  statusBar()->showMessage(message, 15000);
  emit errorShown(message);
}

void MainWindow::clearError() {
  w_.error->clear();
  w_.error->setVisible(false);
}

// ---- connection and settings ------------------------------------------------------------------------

void MainWindow::checkConnection() {
  const auto peer = q(holder_->config().network.pacs.toString());
  const auto ws = holder_->workstation();
  if (!ws || !holder_->problem().isEmpty()) {
    w_.connection->setText(tr("● the configuration is refused: Settings"));
    w_.connection->setStyleSheet("color: #c00000");
    w_.connection->setToolTip(holder_->problem());
    emit connectionChecked(false);
    return;
  }
  w_.connection->setText(tr("● checking…"));
  w_.connection->setStyleSheet("color: #a0a000");
  runInBackground<double>(
      this,
      [ws] {
        const auto t = std::chrono::steady_clock::now();
        ws->pacs().echo();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
      },
      [this, peer](const Outcome<double>& r) {
        if (r.value) {
          w_.connection->setText(tr("● %1 answers (C-ECHO %2 ms)").arg(peer).arg(*r.value, 0, 'f', 0));
          w_.connection->setStyleSheet("color: #108010");
          w_.connection->setToolTip({});
        } else {
          w_.connection->setText(tr("● %1: no answer").arg(peer));
          w_.connection->setStyleSheet("color: #c00000");
          w_.connection->setToolTip(r.error);
        }
        emit connectionChecked(r.value.has_value());
      });
}

void MainWindow::openSettings() {
  SettingsDialog dialog(holder_->config(), this);
  if (dialog.exec() != QDialog::Accepted) return;
  try {
    auto config = dialog.config();
    const auto path = client::configSavePath(config);
    client::saveClientConfig(config, path, "written by iodeep-viewer");
    config.source = path;
    holder_->replace(std::move(config));  // jobs running keep the workstation they started with
    applyConfig();
    clearError();
    if (!holder_->problem().isEmpty()) showError(tr("Configuration: %1").arg(holder_->problem()));
    review_->refreshOutbox();
    checkConnection();
    refreshStudies();
  } catch (const Error& e) {
    showError(q(e.what()));
  }
}

// ---- between the parts ------------------------------------------------------------------------------

void MainWindow::showOpenedSeries(const OpenedSeries& opened) {
  review_->setSeries(opened.series);
  viewer_->setSeries(opened);
  emit seriesOpened(viewer_->count());
  review_->refreshStructureSets();
}

void MainWindow::updateOverlays() {
  const int current = viewer_->current();
  if (current < 0) {
    viewer_->setOverlays({});
    return;
  }
  const auto& sop = viewer_->instances()[static_cast<std::size_t>(current)].sopInstanceUid;
  review_->setCurrentSlice(sop);  // where a new ROI would be drawn
  viewer_->setOverlays(review_->overlaysFor(sop, viewer_->currentAttributes()));
}

void MainWindow::showProposalSlice(const QString& sop) {
  const auto uid = sop.toStdString();
  const auto& all = viewer_->instances();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].sopInstanceUid == uid && static_cast<int>(i) != viewer_->current()) {
      viewer_->showSlice(static_cast<int>(i));  // its overlays come with it
      return;
    }
  }
  updateOverlays();
}

void MainWindow::runAiRoi() {
  if (viewer_->current() < 0) {
    showError(tr("Open a series first."));
    return;
  }
  ai_->run({viewer_->instances()[static_cast<std::size_t>(viewer_->current())].file}, false);
}

void MainWindow::runAiRoiOnSeries() {
  if (viewer_->count() == 0) {
    showError(tr("Open a series first."));
    return;
  }
  std::vector<fs::path> files;
  for (const auto& i : viewer_->instances()) files.push_back(i.file);
  ai_->run(files, true);
}

void MainWindow::predictionsReady(const std::vector<client::PredictResult>& results, bool wholeSeries) {
  review_->accept(results, wholeSeries);  // its overlays drawn on the slice
  w_.view->repaint();                     // drawn now, before the signal
  emit proposalsShown(static_cast<int>(review_->review().size()));
}

}  // namespace iodeep::gui

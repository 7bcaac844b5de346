#include "MainWindow.hpp"

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QElapsedTimer>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QRegularExpressionValidator>
#include <QShortcut>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QThreadPool>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <chrono>
#include <cmath>

#include "Background.hpp"
#include "SettingsDialog.hpp"
#include "SliceView.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/stores/Outbox.hpp"

namespace iodeep::gui {

namespace fs = std::filesystem;

namespace {

QString q(const std::string& s) {
  return QString::fromStdString(s);
}

QImage toQImage(const client::DisplayImage& d) {
  const auto format = d.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
  const QImage view(d.bytes.data(), d.columns, d.rows, static_cast<qsizetype>(d.columns) * d.channels, format);
  return view.copy();  // owns its pixels
}

QString areaText(const netparser::Proposal& p) {
  if (p.areaMm2 >= 0) return QString::number(p.areaMm2, 'f', 1) + " mm²";
  return QString::number(p.areaPixels) + " px";
}

QString verdictText(client::Verdict v) {
  switch (v) {
    case client::Verdict::Approved: return QObject::tr("approved");
    case client::Verdict::Rejected: return QObject::tr("rejected");
    case client::Verdict::Pending: break;
  }
  return QObject::tr("to review");
}

const QColor kProposed(230, 30, 30);
const QColor kApproved(40, 200, 60);
const QColor kRejected(130, 130, 130);

// What an AI ROI run brings back to the UI thread.
struct AiResult {
  client::SelectionReport selection;
  std::optional<client::ModelFetch> model;
  std::vector<client::PredictResult> predictions;
  std::size_t slices{0};
  double ms{0};
};

}  // namespace

MainWindow::MainWindow(client::ClientConfig config, const QString& configProblem, QWidget* parent)
    : QMainWindow(parent), config_(std::move(config)) {
  setWindowTitle(tr("iodeep viewer"));
  client::preloadInference();  // libtorch loads while the physician browses
  buildUi();
  buildShortcuts();
  applyConfig();
  if (!configProblem.isEmpty()) showError(tr("Configuration: %1").arg(configProblem));
  updateOutboxLabel();
  if (!config_.network.pacs.aeTitle.empty()) {
    QTimer::singleShot(0, this, [this] {
      checkConnection();
      refreshStudies();
    });
  } else {
    w_.connection->setText(tr("● no PACS configured: Settings"));
  }
}

MainWindow::~MainWindow() {
  // background calls post back to this window: stop them and wait before it goes
  if (openCancel_) *openCancel_ = true;
  if (aiCancel_) *aiCancel_ = true;
  QThreadPool::globalInstance()->waitForDone();
  client::awaitInferenceLoad();  // the load started in the constructor must end before the program does
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (playTimer_ != nullptr) playTimer_->stop();
  event->accept();
}

fs::path MainWindow::workParent() const {
  return config_.cacheDir.parent_path().empty() ? fs::temp_directory_path() : config_.cacheDir.parent_path();
}

// ---- layout ---------------------------------------------------------------------------------------

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

  // browser: studies, series, retrieval progress
  auto* browser = new QWidget;
  auto* bl = new QVBoxLayout(browser);
  // the PACS is asked with the user's search (C-FIND keys), never for every study it holds
  auto* searchRow = new QHBoxLayout;
  const auto searchEdit = [&](QLineEdit*& edit, const QString& placeholder, const char* name) {
    edit = new QLineEdit;
    edit->setPlaceholderText(placeholder);
    edit->setObjectName(name);
    edit->setClearButtonEnabled(true);
    searchRow->addWidget(edit);
    connect(edit, &QLineEdit::returnPressed, this, &MainWindow::refreshStudies);
  };
  searchEdit(w_.searchName, tr("Patient name"), "searchName");
  searchEdit(w_.searchId, tr("Patient ID"), "searchId");
  searchEdit(w_.searchFrom, tr("Studies from (YYYYMMDD)"), "searchFrom");
  searchEdit(w_.searchTo, tr("to (YYYYMMDD)"), "searchTo");
  for (auto* date : {w_.searchFrom, w_.searchTo}) {
    date->setValidator(new QRegularExpressionValidator(QRegularExpression("[0-9]{0,8}"), date));
  }
  w_.search = new QPushButton(tr("Search PACS"));
  w_.search->setObjectName("search");
  connect(w_.search, &QPushButton::clicked, this, &MainWindow::refreshStudies);
  searchRow->addWidget(w_.search);
  w_.studiesNote = new QLabel;
  w_.studiesNote->setObjectName("studiesNote");
  w_.studyFilter = new QLineEdit;
  w_.studyFilter->setPlaceholderText(tr("Filter the list (name, ID, date, description)"));
  w_.studyFilter->setClearButtonEnabled(true);
  studyModel_ = new QStandardItemModel(0, 6, this);
  studyModel_->setHorizontalHeaderLabels(
      {tr("Patient"), tr("Patient ID"), tr("Birth date"), tr("Study date"), tr("Description"), tr("Modalities")});
  studyProxy_ = new QSortFilterProxyModel(this);
  studyProxy_->setSourceModel(studyModel_);
  studyProxy_->setFilterKeyColumn(-1);
  studyProxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  connect(w_.studyFilter, &QLineEdit::textChanged, studyProxy_, &QSortFilterProxyModel::setFilterFixedString);
  w_.studies = new QTableView;
  w_.studies->setModel(studyProxy_);
  w_.studies->setSelectionBehavior(QAbstractItemView::SelectRows);
  w_.studies->setSelectionMode(QAbstractItemView::SingleSelection);
  w_.studies->setEditTriggers(QAbstractItemView::NoEditTriggers);
  w_.studies->setSortingEnabled(true);
  w_.studies->verticalHeader()->hide();
  w_.studies->horizontalHeader()->setStretchLastSection(true);
  connect(w_.studies->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::studySelected);
  w_.series = new QTableWidget(0, 5);
  w_.series->setHorizontalHeaderLabels({tr("No."), tr("Modality"), tr("Description"), tr("Images"), tr("Kind")});
  w_.series->setSelectionBehavior(QAbstractItemView::SelectRows);
  w_.series->setSelectionMode(QAbstractItemView::SingleSelection);
  w_.series->setEditTriggers(QAbstractItemView::NoEditTriggers);
  w_.series->verticalHeader()->hide();
  w_.series->horizontalHeader()->setStretchLastSection(true);
  connect(w_.series, &QTableWidget::cellActivated, this, [this](int row, int) { seriesActivated(row); });
  connect(w_.series, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { seriesActivated(row); });
  w_.openProgress = new QProgressBar;
  w_.openProgress->setFormat(tr("%v of %m images"));
  w_.openProgress->setVisible(false);
  w_.cancelOpen = new QPushButton(tr("Cancel"));
  w_.cancelOpen->setVisible(false);
  connect(w_.cancelOpen, &QPushButton::clicked, this, [this] {
    if (openCancel_) *openCancel_ = true;
  });
  auto* progressRow = new QHBoxLayout;
  progressRow->addWidget(w_.openProgress, 1);
  progressRow->addWidget(w_.cancelOpen);
  bl->addLayout(searchRow);
  bl->addWidget(w_.studiesNote);
  bl->addWidget(w_.studyFilter);
  bl->addWidget(w_.studies, 3);
  bl->addWidget(new QLabel(tr("Series (double-click to open)")));
  bl->addWidget(w_.series, 2);
  bl->addLayout(progressRow);

  // the slice and its navigation
  auto* centre = new QWidget;
  centre->setObjectName("viewerArea");
  auto* cl = new QVBoxLayout(centre);
  w_.view = new SliceView;
  connect(w_.view, &SliceView::windowDragged, this, &MainWindow::adjustWindow);
  connect(w_.view, &SliceView::sliceStep, this, &MainWindow::stepSlice);
  auto* nav = new QHBoxLayout;
  w_.previous = new QPushButton(tr("◀"));
  w_.previous->setToolTip(tr("Previous slice (Left, Up, wheel)"));
  w_.next = new QPushButton(tr("▶"));
  w_.next->setToolTip(tr("Next slice (Right, Down, wheel)"));
  w_.slider = new QSlider(Qt::Horizontal);
  w_.slider->setRange(0, 0);
  w_.sliceLabel = new QLabel(tr("no series"));
  w_.play = new QPushButton(tr("Play"));
  w_.play->setCheckable(true);
  w_.play->setToolTip(tr("Autoplay (Space)"));
  w_.speed = new QSpinBox;
  w_.speed->setRange(1, 30);
  w_.speed->setValue(8);
  w_.speed->setSuffix(tr(" fps"));
  w_.presets = new QComboBox;
  w_.presets->setToolTip(tr("Window presets (or drag with the left button)"));
  nav->addWidget(w_.previous);
  nav->addWidget(w_.slider, 1);
  nav->addWidget(w_.next);
  nav->addWidget(w_.sliceLabel);
  nav->addWidget(w_.play);
  nav->addWidget(w_.speed);
  nav->addWidget(w_.presets);
  cl->addWidget(w_.view, 1);
  cl->addLayout(nav);
  connect(w_.previous, &QPushButton::clicked, this, [this] { stepSlice(-1); });
  connect(w_.next, &QPushButton::clicked, this, [this] { stepSlice(1); });
  connect(w_.slider, &QSlider::valueChanged, this, &MainWindow::showSlice);
  playTimer_ = new QTimer(this);
  connect(playTimer_, &QTimer::timeout, this, [this] {
    if (instances_.empty()) return;
    showSlice((current_ + 1) % static_cast<int>(instances_.size()));
  });
  connect(w_.play, &QPushButton::toggled, this, [this](bool on) {
    if (on && !instances_.empty()) {
      playTimer_->start(1000 / w_.speed->value());
      w_.play->setText(tr("Pause"));
    } else {
      playTimer_->stop();
      w_.play->setChecked(false);
      w_.play->setText(tr("Play"));
    }
  });
  connect(w_.speed, &QSpinBox::valueChanged, this, [this](int fps) {
    if (playTimer_->isActive()) playTimer_->start(1000 / fps);
  });
  connect(w_.presets, &QComboBox::activated, this, &MainWindow::presetChosen);

  // AI ROI, review, store, outbox, stored sets
  auto* side = new QWidget;
  auto* sl = new QVBoxLayout(side);
  w_.aiRoi = new QPushButton(tr("AI ROI"));
  w_.aiRoi->setToolTip(tr("Propose ROIs on this slice (Ctrl+R)"));
  w_.aiRoi->setStyleSheet("font-weight: bold; padding: 6px");
  w_.aiRoiSeries = new QPushButton(tr("AI ROI on the series"));
  w_.aiRoiSeries->setToolTip(tr("Propose ROIs on every slice of the series (Ctrl+Shift+R)"));
  w_.aiProgress = new QProgressBar;
  w_.aiProgress->setVisible(false);
  w_.cancelAi = new QPushButton(tr("Cancel"));
  w_.cancelAi->setVisible(false);
  connect(w_.cancelAi, &QPushButton::clicked, this, [this] {
    if (aiCancel_) *aiCancel_ = true;
  });
  connect(w_.aiRoi, &QPushButton::clicked, this, &MainWindow::runAiRoi);
  connect(w_.aiRoiSeries, &QPushButton::clicked, this, &MainWindow::runAiRoiOnSeries);
  auto* aiRow = new QHBoxLayout;
  aiRow->addWidget(w_.aiRoi, 1);
  aiRow->addWidget(w_.aiRoiSeries, 1);
  auto* aiProgressRow = new QHBoxLayout;
  aiProgressRow->addWidget(w_.aiProgress, 1);
  aiProgressRow->addWidget(w_.cancelAi);
  w_.network = new QLabel(tr("No network chosen yet."));
  w_.network->setWordWrap(true);
  w_.network->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);  // never squeezed below its text
  w_.explanation = new QPlainTextEdit;
  w_.explanation->setReadOnly(true);
  w_.explanation->setMaximumHeight(150);
  w_.explanation->setPlaceholderText(tr("Which network was chosen and why, or why none matched."));
  w_.proposals = new QTableWidget(0, 5);
  w_.proposals->setHorizontalHeaderLabels({tr("#"), tr("Slice"), tr("Label"), tr("Area"), tr("Verdict")});
  w_.proposals->setSelectionBehavior(QAbstractItemView::SelectRows);
  w_.proposals->setSelectionMode(QAbstractItemView::SingleSelection);
  w_.proposals->setEditTriggers(QAbstractItemView::NoEditTriggers);
  w_.proposals->verticalHeader()->hide();
  w_.proposals->horizontalHeader()->setStretchLastSection(true);
  connect(w_.proposals, &QTableWidget::itemSelectionChanged, this, &MainWindow::proposalRowSelected);
  w_.approve = new QPushButton(tr("Approve"));
  w_.approve->setToolTip(tr("Approve the selected ROI (A)"));
  w_.reject = new QPushButton(tr("Reject"));
  w_.reject->setToolTip(tr("Reject the selected ROI (X)"));
  w_.approveAll = new QPushButton(tr("Approve all"));
  w_.approveAll->setToolTip(tr("Ctrl+Shift+A"));
  connect(w_.approve, &QPushButton::clicked, this, [this] { setVerdictOfSelected(client::Verdict::Approved); });
  connect(w_.reject, &QPushButton::clicked, this, [this] { setVerdictOfSelected(client::Verdict::Rejected); });
  connect(w_.approveAll, &QPushButton::clicked, this, &MainWindow::approveAllProposals);
  auto* reviewRow = new QHBoxLayout;
  reviewRow->addWidget(w_.approve);
  reviewRow->addWidget(w_.reject);
  reviewRow->addWidget(w_.approveAll);
  w_.store = new QPushButton(tr("Store approved ROIs"));
  w_.store->setToolTip(tr("Store the approved ROIs on the PACS as an RT Structure Set (Ctrl+S)"));
  connect(w_.store, &QPushButton::clicked, this, &MainWindow::storeReview);
  w_.storeStatus = new QLabel;
  w_.storeStatus->setWordWrap(true);
  w_.outbox = new QLabel;
  w_.flush = new QPushButton(tr("Send outbox"));
  connect(w_.flush, &QPushButton::clicked, this, &MainWindow::flushOutbox);
  auto* outboxRow = new QHBoxLayout;
  outboxRow->addWidget(w_.outbox, 1);
  outboxRow->addWidget(w_.flush);
  w_.storedSets = new QListWidget;
  w_.storedSets->setMaximumHeight(120);
  connect(w_.storedSets, &QListWidget::itemChanged, this, &MainWindow::storedSetToggled);
  auto* refreshSets = new QPushButton(tr("Refresh"));
  connect(refreshSets, &QPushButton::clicked, this, &MainWindow::refreshStructureSets);
  w_.error = new QLabel;
  w_.error->setObjectName("error");
  w_.error->setWordWrap(true);
  w_.error->setStyleSheet("color: #b00000; font-weight: bold");
  w_.error->setVisible(false);
  w_.error->setTextInteractionFlags(Qt::TextSelectableByMouse);

  sl->addLayout(aiRow);
  sl->addLayout(aiProgressRow);
  sl->addWidget(w_.network);
  sl->addWidget(w_.explanation);
  sl->addWidget(new QLabel(tr("Proposals")));
  sl->addWidget(w_.proposals, 1);
  sl->addLayout(reviewRow);
  sl->addWidget(w_.store);
  sl->addWidget(w_.storeStatus);
  sl->addLayout(outboxRow);
  auto* setsHeader = new QHBoxLayout;
  setsHeader->addWidget(new QLabel(tr("Structure sets on the PACS for this series")), 1);
  setsHeader->addWidget(refreshSets);
  sl->addLayout(setsHeader);
  sl->addWidget(w_.storedSets);
  sl->addWidget(w_.error);

  auto* split = new QSplitter;
  split->addWidget(browser);
  split->addWidget(centre);
  split->addWidget(side);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 5);
  split->setStretchFactor(2, 2);
  split->setSizes({420, 720, 360});
  setCentralWidget(split);
  resize(1500, 900);
  setAiBusy(false);
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
    if (aiCancel_) *aiCancel_ = true;
    if (openCancel_) *openCancel_ = true;
  });
  // navigation while the slice area has the focus (arrows stay with tables elsewhere)
  QWidget* area = w_.view->parentWidget();
  add(
      QKeySequence(Qt::Key_Right), [this] { stepSlice(1); }, area);
  add(
      QKeySequence(Qt::Key_Down), [this] { stepSlice(1); }, area);
  add(
      QKeySequence(Qt::Key_Left), [this] { stepSlice(-1); }, area);
  add(
      QKeySequence(Qt::Key_Up), [this] { stepSlice(-1); }, area);
  add(
      QKeySequence(Qt::Key_PageDown), [this] { stepSlice(10); }, area);
  add(
      QKeySequence(Qt::Key_PageUp), [this] { stepSlice(-10); }, area);
  add(
      QKeySequence(Qt::Key_Home), [this] { showSlice(0); }, area);
  add(
      QKeySequence(Qt::Key_End), [this] { showSlice(sliceCount() - 1); }, area);
  add(
      QKeySequence(Qt::Key_Space), [this] { togglePlay(); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_0), [this] { w_.view->fit(); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_Plus), [this] { w_.view->setZoom(w_.view->zoom() * 1.25); }, area);
  add(
      QKeySequence(Qt::CTRL | Qt::Key_Minus), [this] { w_.view->setZoom(w_.view->zoom() / 1.25); }, area);
}

void MainWindow::applyConfig() {
  const auto& n = config_.network;
  statusBar()->showMessage(
      tr("PACS %1, our AE %2, %3, reviewer %4")
          .arg(n.pacs.aeTitle.empty() ? tr("(none)") : q(n.pacs.toString()), q(n.callingAeTitle),
               n.retrieve == client::RetrieveMode::Move ? tr("C-MOVE to port %1").arg(n.movePort) : tr("C-GET"),
               config_.reviewer.empty() ? tr("(not set)") : q(config_.reviewer)));
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

// ---- connection and browsing ----------------------------------------------------------------------

void MainWindow::checkConnection() {
  w_.connection->setText(tr("● checking…"));
  w_.connection->setStyleSheet("color: #a0a000");
  const auto options = config_.network;
  runInBackground<double>(
      this,
      [options] {
        const auto t = std::chrono::steady_clock::now();
        client::Pacs(options).echo();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
      },
      [this, peer = q(options.pacs.toString())](const Outcome<double>& r) {
        if (r.value) {
          w_.connection->setText(tr("● %1 answers (C-ECHO %2 ms)").arg(peer).arg(*r.value, 0, 'f', 0));
          w_.connection->setStyleSheet("color: #108010");
        } else {
          w_.connection->setText(tr("● %1: no answer").arg(peer));
          w_.connection->setStyleSheet("color: #c00000");
          w_.connection->setToolTip(r.error);
        }
        emit connectionChecked(r.value.has_value());
      });
}

void MainWindow::openSettings() {
  SettingsDialog dialog(config_, this);
  if (dialog.exec() != QDialog::Accepted) return;
  try {
    config_ = dialog.config();
    const auto path = client::configSavePath(config_);
    client::saveClientConfig(config_, path, "written by iodeep-viewer");
    config_.source = path;
    applyConfig();
    clearError();
    checkConnection();
    refreshStudies();
  } catch (const Error& e) {
    showError(q(e.what()));
  }
}

client::StudyFilter MainWindow::studySearch() const {
  // a name or ID without wildcards matches as a prefix, as PACS viewers search
  const auto prefix = [](const QLineEdit* edit) {
    std::string v = edit->text().trimmed().toStdString();
    if (!v.empty() && v.find_first_of("*?") == std::string::npos) v += '*';
    return v;
  };
  client::StudyFilter f;
  f.patientName = prefix(w_.searchName);
  f.patientId = prefix(w_.searchId);
  const std::string from = w_.searchFrom->text().trimmed().toStdString();
  const std::string to = w_.searchTo->text().trimmed().toStdString();
  if (!from.empty() || !to.empty()) f.studyDate = from == to ? from : from + "-" + to;  // DICOM date range
  return f;
}

void MainWindow::refreshStudies() {
  const auto options = config_.network;
  const auto request = ++studiesRequest_;
  const auto filter = studySearch();
  runInBackground<client::StudyList>(
      this, [options, filter] { return client::listStudies(client::Pacs(options), filter); },
      [this, request](const Outcome<client::StudyList>& r) {
        if (request != studiesRequest_) return;  // a newer refresh is on its way
        if (!r.value) {
          showError(tr("Studies: %1").arg(r.error));
          emit studiesLoaded(0);
          return;
        }
        studies_ = r.value->studies;
        // the PACS had more than the client takes from one C-FIND (max_find_results)
        w_.studiesNote->setText(
            r.value->truncated
                ? tr("The PACS has more studies than the %1 shown: narrow the search.").arg(studies_.size())
                : QString());
        studyModel_->removeRows(0, studyModel_->rowCount());
        for (std::size_t i = 0; i < studies_.size(); ++i) {
          const auto& s = studies_[i];
          QList<QStandardItem*> row;
          for (const auto& text :
               {client::formatPersonName(s.patientName), s.patientId, client::formatDate(s.patientBirthDate),
                client::formatDate(s.studyDate), s.studyDescription, s.modalitiesInStudy}) {
            auto* item = new QStandardItem(q(text));
            item->setData(static_cast<int>(i), Qt::UserRole);
            row.append(item);
          }
          studyModel_->appendRow(row);
        }
        w_.studies->resizeColumnsToContents();
        emit studiesLoaded(static_cast<int>(studies_.size()));
      });
}

void MainWindow::studySelected() {
  const auto rows = w_.studies->selectionModel()->selectedRows();
  if (rows.isEmpty()) return;
  const int index = studyProxy_->mapToSource(rows.front()).data(Qt::UserRole).toInt();
  if (index < 0 || index >= static_cast<int>(studies_.size())) return;
  const auto studyUid = studies_[static_cast<std::size_t>(index)].studyInstanceUid;
  const auto options = config_.network;
  const auto request = ++seriesRequest_;
  runInBackground<std::vector<client::SeriesInfo>>(
      this, [options, studyUid] { return client::findSeries(client::Pacs(options), studyUid); },
      [this, request](const Outcome<std::vector<client::SeriesInfo>>& r) {
        if (request != seriesRequest_) return;  // another study was chosen since: its answer counts
        if (!r.value) {
          showError(tr("Series: %1").arg(r.error));
          emit seriesListed(0);
          return;
        }
        series_ = *r.value;
        w_.series->setRowCount(0);
        for (const auto& s : series_) {
          const int row = w_.series->rowCount();
          w_.series->insertRow(row);
          const bool structureSets = s.modality == "RTSTRUCT";
          const QStringList cells{q(s.seriesNumber), q(s.modality), q(s.seriesDescription), q(s.numberOfInstances),
                                  s.iodeepModels  ? tr("IODeep networks")
                                  : structureSets ? tr("structure sets")
                                                  : tr("images")};
          for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (s.iodeepModels || structureSets) {
              // networks and structure sets, not images to read: listed, never opened (structure
              // sets are shown over the series they contour)
              item->setFlags(Qt::NoItemFlags);
              item->setToolTip(s.iodeepModels ? tr("IODeep networks on the PACS (found by AI ROI, not read as images)")
                                              : tr("Shown over the images they contour (list on the right)"));
            }
            w_.series->setItem(row, c, item);
          }
        }
        w_.series->resizeColumnsToContents();
        emit seriesListed(static_cast<int>(series_.size()));
      });
}

void MainWindow::seriesActivated(int row) {
  if (row < 0 || row >= static_cast<int>(series_.size())) return;
  const auto& s = series_[static_cast<std::size_t>(row)];
  if (s.iodeepModels || s.modality == "RTSTRUCT") {
    showError(s.iodeepModels ? tr("This series holds IODeep networks, not images.")
                             : tr("This series holds structure sets: open the images they contour."));
    return;
  }
  openSeries(s);
}

void MainWindow::openSeries(const client::SeriesInfo& series) {
  if (opening_) return;
  opening_ = true;
  clearError();
  if (playTimer_->isActive()) w_.play->setChecked(false);
  openCancel_ = std::make_shared<std::atomic<bool>>(false);
  w_.openProgress->setRange(0, std::max(1, QString::fromStdString(series.numberOfInstances).toInt()));
  w_.openProgress->setValue(0);
  w_.openProgress->setVisible(true);
  w_.cancelOpen->setVisible(true);
  const auto config = config_;
  auto cancel = openCancel_;
  QPointer<MainWindow> self(this);
  runInBackground<std::vector<client::LocalInstance>>(
      this,
      [config, series, cancel, self] {
        client::ImageCache cache(config.imageCacheDir, config.imageCacheMaxBytes);
        return cache.openSeries(
            client::Pacs(config.network), series.studyInstanceUid, series.seriesInstanceUid,
            [cancel, self](const client::SeriesProgress& p) {
              postToUi(self, [self, p] {
                if (!self) return;
                self->w_.openProgress->setMaximum(static_cast<int>(std::max<std::size_t>(1, p.total)));
                self->w_.openProgress->setValue(static_cast<int>(p.present));
              });
              return !*cancel;
            });
      },
      [this, series](const Outcome<std::vector<client::LocalInstance>>& r) {
        opening_ = false;
        w_.openProgress->setVisible(false);
        w_.cancelOpen->setVisible(false);
        if (!r.value) {
          showError(r.code == ErrorCode::Cancelled ? tr("Opening the series was cancelled.")
                                                   : tr("Opening the series: %1").arg(r.error));
          emit seriesOpened(0);
          return;
        }
        openSeries_ = series;
        instances_ = *r.value;
        decoded_.clear();
        predictions_.clear();
        review_.reset({});
        fillProposalTable();
        storedSets_.clear();
        w_.storedSets->clear();
        windowFromUser_ = false;
        current_ = -1;
        w_.slider->blockSignals(true);
        w_.slider->setRange(0, std::max(0, static_cast<int>(instances_.size()) - 1));
        w_.slider->setValue(0);
        w_.slider->blockSignals(false);
        if (instances_.empty()) {
          w_.view->clearImage();
          w_.sliceLabel->setText(tr("no images"));
        } else {
          showSlice(static_cast<int>(instances_.size()) / 2);  // start in the middle of the volume
        }
        emit seriesOpened(static_cast<int>(instances_.size()));
        refreshStructureSets();
      });
}

// ---- the slice ------------------------------------------------------------------------------------

std::shared_ptr<const iod::SliceImage> MainWindow::sliceAt(int index) {
  if (const auto it = decoded_.find(index); it != decoded_.end()) return it->second;
  auto slice =
      std::make_shared<const iod::SliceImage>(iod::readSlice(instances_.at(static_cast<std::size_t>(index)).file));
  // keep a window of slices around the current one
  for (auto it = decoded_.begin(); it != decoded_.end();) {
    it = std::abs(it->first - index) > 16 ? decoded_.erase(it) : std::next(it);
  }
  decoded_[index] = slice;
  return slice;
}

void MainWindow::showSlice(int index) {
  if (instances_.empty()) return;
  index = std::clamp(index, 0, static_cast<int>(instances_.size()) - 1);
  std::shared_ptr<const iod::SliceImage> slice;
  try {
    slice = sliceAt(index);
  } catch (const Error& e) {
    showError(tr("Slice %1: %2").arg(index + 1).arg(q(e.what())));
    return;
  }
  current_ = index;
  if (!windowFromUser_) window_ = client::initialWindow(*slice);
  presets_ = client::windowPresets(*slice);
  w_.presets->blockSignals(true);
  w_.presets->clear();
  w_.presets->addItem(tr("Window…"));
  for (const auto& p : presets_) {
    w_.presets->addItem(QString("%1 (%2/%3)").arg(q(p.name)).arg(p.window.center).arg(p.window.width));
  }
  w_.presets->blockSignals(false);
  const auto& a = slice->attributes;
  std::vector<std::pair<QString, QString>> patient;
  std::vector<std::pair<QString, QString>> clinical;
  for (const auto& [k, v] : client::patientBlock(a)) patient.emplace_back(q(k), q(v));
  for (const auto& [k, v] : client::clinicalBlock(a)) clinical.emplace_back(q(k), q(v));
  w_.view->setInformation(std::move(patient), std::move(clinical));
  const auto edges = client::orientationLabels(a);
  w_.view->setOrientation(q(edges.left), q(edges.right), q(edges.top), q(edges.bottom));
  renderCurrent();
  updateOverlays();
  w_.slider->blockSignals(true);
  w_.slider->setValue(index);
  w_.slider->blockSignals(false);
  w_.sliceLabel->setText(tr("%1 / %2").arg(index + 1).arg(instances_.size()));
  emit sliceShown(index);
}

void MainWindow::renderCurrent() {
  if (current_ < 0) return;
  const auto slice = decoded_.at(current_);
  w_.view->setImage(toQImage(client::renderForDisplay(*slice, window_)));
  w_.view->setStatusText(tr("Image %1 / %2   W %3  L %4   zoom %5%")
                             .arg(current_ + 1)
                             .arg(instances_.size())
                             .arg(window_.width, 0, 'f', 0)
                             .arg(window_.center, 0, 'f', 0)
                             .arg(std::lround(w_.view->zoom() * 100)));
}

void MainWindow::stepSlice(int step) {
  if (instances_.empty()) return;
  showSlice(std::clamp(current_ + step, 0, static_cast<int>(instances_.size()) - 1));
}

void MainWindow::togglePlay() {
  w_.play->setChecked(!w_.play->isChecked());
}

void MainWindow::adjustWindow(int dx, int dy) {
  if (current_ < 0) return;
  const double step = std::max(1.0, window_.width / 256.0);
  window_.width = std::max(1.0, window_.width + dx * step);
  window_.center += dy * step;
  windowFromUser_ = true;
  renderCurrent();
}

void MainWindow::presetChosen(int index) {
  if (index <= 0 || index > static_cast<int>(presets_.size())) return;
  window_ = presets_[static_cast<std::size_t>(index - 1)].window;
  windowFromUser_ = true;
  renderCurrent();
}

void MainWindow::updateOverlays() {
  std::vector<Overlay> overlays;
  if (current_ < 0) {
    w_.view->setOverlays({});
    return;
  }
  const auto& sop = instances_[static_cast<std::size_t>(current_)].sopInstanceUid;
  const int selected = w_.proposals->currentRow();
  for (std::size_t flat = 0; flat < review_.size(); ++flat) {
    const auto& ref = review_.at(flat);
    const auto& prediction = predictions_[ref.prediction];
    if (prediction.slice.attributes.sopInstanceUid != sop) continue;
    const auto& p = prediction.proposals[ref.proposal];
    const auto v = review_.verdict(flat);
    Overlay o;
    o.rings = p.rings;
    o.color = v == client::Verdict::Approved ? kApproved : v == client::Verdict::Rejected ? kRejected : kProposed;
    o.label = QString("%1 %2  %3").arg(flat + 1).arg(q(p.label.name), areaText(p));
    o.emphasised = static_cast<int>(flat) == selected;
    overlays.push_back(std::move(o));
  }
  if (const auto it = decoded_.find(current_); it != decoded_.end()) {
    for (const auto& s : storedSets_) {
      if (!s.visible) continue;
      for (const auto& roi : rtstruct::roisOnImage(s.set, it->second->attributes)) {
        Overlay o;
        o.rings = roi.rings;
        o.color = QColor(roi.roi.color[0], roi.roi.color[1], roi.roi.color[2]);
        o.label = QString("%1: %2").arg(q(s.set.label), q(roi.roi.name));
        overlays.push_back(std::move(o));
      }
    }
  }
  w_.view->setOverlays(std::move(overlays));
}

// ---- AI ROI ---------------------------------------------------------------------------------------

void MainWindow::setAiBusy(bool busy, const QString& what) {
  aiBusy_ = busy;
  w_.aiRoi->setEnabled(!busy);
  w_.aiRoiSeries->setEnabled(!busy);
  w_.aiProgress->setVisible(busy);
  w_.cancelAi->setVisible(busy);
  if (busy) {
    w_.aiProgress->setRange(0, 0);  // busy until a count is known
    w_.aiProgress->setFormat(what);
    w_.network->setText(what);
  }
  const bool reviewable = !busy && review_.size() > 0;
  w_.approve->setEnabled(reviewable);
  w_.reject->setEnabled(reviewable);
  w_.approveAll->setEnabled(reviewable);
  w_.store->setEnabled(!busy && !storing_ && review_.count(client::Verdict::Approved) > 0);
}

void MainWindow::runAiRoi() {
  if (current_ < 0) {
    showError(tr("Open a series first."));
    return;
  }
  startAiRoi({instances_[static_cast<std::size_t>(current_)].file}, false);
}

void MainWindow::runAiRoiOnSeries() {
  if (instances_.empty()) {
    showError(tr("Open a series first."));
    return;
  }
  std::vector<fs::path> files;
  for (const auto& i : instances_) files.push_back(i.file);
  startAiRoi(files, true);
}

// Both flavours: selection on the first slice, the chosen network local (cache or PACS), then the
// core's series prediction over the slices (one slice or all), with progress and cancel.
void MainWindow::startAiRoi(const std::vector<fs::path>& files, bool wholeSeries) {
  if (aiBusy_) return;
  clearError();
  setAiBusy(true, tr("Selecting a network…"));
  aiCancel_ = std::make_shared<std::atomic<bool>>(false);
  const auto config = config_;
  const auto parent = workParent();
  auto cancel = aiCancel_;
  QPointer<MainWindow> self(this);
  const auto say = [self](const QString& text) {
    postToUi(self, [self, text] {
      if (!self) return;
      self->w_.network->setText(text);
      self->w_.aiProgress->setFormat(text);
    });
  };
  runInBackground<AiResult>(
      this,
      [config, files, parent, cancel, self, say, wholeSeries] {
        const auto t = std::chrono::steady_clock::now();
        AiResult r;
        const iod::TemporaryDirectory work(parent, "viewer-");
        r.selection = client::selectForLocalSlices(config, {files.front()}, work.path());
        if (!r.selection.selection.matched()) return r;
        say(QObject::tr("Retrieving %1…")
                .arg(q(r.selection.models.at(*r.selection.selection.chosen).seriesDescription)));
        r.model = client::fetchSelectedModel(config, r.selection, work.path() / "model");
        if (!r.model) return r;  // every matching network refused for its content: no match, with reasons
        say(QObject::tr("Running %1…").arg(q(r.model->model.name)));
        client::SeriesPredictOptions so;  // slices decoded ahead of the network
        so.model = r.model->model.file;
        so.images = files;
        so.allowTorchScript = config.allowTorchScript;
        so.modelVerified = true;
        so.engineMaxBytes = config.engineMaxBytes;
        so.policy = client::runPolicy(config, r.model->trust);
        so.onProgress = [self, cancel, wholeSeries](std::size_t done, std::size_t n) {
          if (wholeSeries) {
            postToUi(self, [self, done, n] {
              if (!self) return;
              self->w_.aiProgress->setRange(0, static_cast<int>(n));
              self->w_.aiProgress->setValue(static_cast<int>(done));
              self->w_.aiProgress->setFormat(QObject::tr("slice %v of %m"));
            });
          }
          return !*cancel;
        };
        auto series = client::predictSeries(so);
        r.slices = series.slices.size();
        for (auto& p : series.slices) {
          if (!p.proposals.empty() || !wholeSeries) r.predictions.push_back(std::move(p));
        }
        r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        return r;
      },
      [this, wholeSeries](Outcome<AiResult> r) {
        setAiBusy(false);
        if (!r.value) {
          const bool cancelled = r.code == ErrorCode::Cancelled;
          w_.network->setText(cancelled ? tr("AI ROI cancelled.") : tr("AI ROI failed."));
          if (!cancelled) showError(tr("AI ROI: %1").arg(r.error));
          emit aiRoiFailed(r.error);
          return;
        }
        auto& result = *r.value;
        w_.explanation->setPlainText(q(result.selection.toText()));
        if (!result.selection.selection.matched()) {
          w_.network->setText(wholeSeries ? tr("No IODeep network on the PACS matches this series (reasons below).")
                                          : tr("No IODeep network on the PACS matches this slice (reasons below)."));
          emit proposalsShown(0);
          return;
        }
        const auto& m = result.model->model;
        w_.network->setText(tr("%1 %2 (%3) on %4 slice(s) in %5 ms")
                                .arg(q(m.name), q(m.version), result.model->fromCache ? tr("cached") : tr("retrieved"))
                                .arg(result.slices)
                                .arg(result.ms, 0, 'f', 0));
        acceptPredictions(std::move(result.predictions), wholeSeries);
      });
}

void MainWindow::acceptPredictions(std::vector<client::PredictResult> results, bool replaceAll) {
  if (replaceAll) {
    predictions_ = std::move(results);
  } else {
    // a new run on a slice replaces that slice's proposals; the other slices' stay
    for (auto& r : results) {
      const auto& sop = r.slice.attributes.sopInstanceUid;
      std::erase_if(predictions_,
                    [&](const client::PredictResult& p) { return p.slice.attributes.sopInstanceUid == sop; });
      predictions_.push_back(std::move(r));
    }
  }
  review_.reset(predictions_);
  fillProposalTable();
  setAiBusy(false);
  updateOverlays();
  w_.view->repaint();  // drawn now, before the signal
  emit proposalsShown(static_cast<int>(review_.size()));
}

void MainWindow::fillProposalTable() {
  w_.proposals->blockSignals(true);
  w_.proposals->setRowCount(0);
  for (std::size_t flat = 0; flat < review_.size(); ++flat) {
    const auto& ref = review_.at(flat);
    const auto& prediction = predictions_[ref.prediction];
    const auto& p = prediction.proposals[ref.proposal];
    const int row = w_.proposals->rowCount();
    w_.proposals->insertRow(row);
    const QStringList cells{QString::number(flat + 1), q(prediction.slice.attributes.instanceNumber), q(p.label.name),
                            areaText(p), verdictText(review_.verdict(flat))};
    for (int c = 0; c < cells.size(); ++c) w_.proposals->setItem(row, c, new QTableWidgetItem(cells[c]));
    const auto v = review_.verdict(flat);
    w_.proposals->item(row, 4)->setForeground(v == client::Verdict::Approved   ? kApproved
                                              : v == client::Verdict::Rejected ? kRejected
                                                                               : kProposed);
  }
  w_.proposals->blockSignals(false);
  w_.proposals->resizeColumnsToContents();
  setAiBusy(aiBusy_);
}

void MainWindow::proposalRowSelected() {
  const int row = w_.proposals->currentRow();
  if (row < 0 || row >= static_cast<int>(review_.size())) return;
  // go to the proposal's slice
  const auto& sop = predictions_[review_.at(static_cast<std::size_t>(row)).prediction].slice.attributes.sopInstanceUid;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    if (instances_[i].sopInstanceUid == sop && static_cast<int>(i) != current_) {
      showSlice(static_cast<int>(i));
      return;
    }
  }
  updateOverlays();
}

void MainWindow::setVerdictOfSelected(client::Verdict verdict) {
  const int row = w_.proposals->currentRow();
  if (row < 0 || row >= static_cast<int>(review_.size())) return;
  review_.set(static_cast<std::size_t>(row), verdict);
  fillProposalTable();
  // the next proposal to review
  const int next = std::min(row + 1, static_cast<int>(review_.size()) - 1);
  w_.proposals->selectRow(next);
  updateOverlays();
}

void MainWindow::approveAllProposals() {
  review_.approveAll();
  fillProposalTable();
  updateOverlays();
}

// ---- store, outbox, stored sets -------------------------------------------------------------------

void MainWindow::storeReview() {
  if (storing_ || review_.count(client::Verdict::Approved) == 0) return;
  if (config_.reviewer.empty()) {
    showError(tr("Set the reviewer's name in Settings before storing."));
    return;
  }
  storing_ = true;
  w_.store->setEnabled(false);
  w_.storeStatus->setText(tr("Storing…"));
  const auto config = config_;
  const auto predictions = predictions_;
  const auto decision = review_.decision(config_.reviewer);
  runInBackground<client::StoreReport>(
      this, [config, predictions, decision] { return client::storeReview(config, predictions, decision); },
      [this](const Outcome<client::StoreReport>& r) {
        storing_ = false;
        setAiBusy(aiBusy_);
        if (!r.value || !r.value->approvedSet) {
          w_.storeStatus->setText(tr("Not stored."));
          showError(tr("Store: %1").arg(r.error));
          emit storeFinished(false);
          return;
        }
        const auto& set = *r.value->approvedSet;
        if (set.stored) {
          w_.storeStatus->setStyleSheet("color: #108010");
          w_.storeStatus->setText(tr("Stored on the PACS: %1 ROI(s), %2 contour(s)%3")
                                      .arg(set.rois)
                                      .arg(set.contours)
                                      .arg(set.foundOnPacs ? tr(", found there by C-FIND") : QString()));
          predictions_.clear();
          review_.reset({});
          fillProposalTable();
          updateOverlays();
          refreshStructureSets();
        } else {
          w_.storeStatus->setStyleSheet("color: #c06000; font-weight: bold");
          w_.storeStatus->setText(tr("⚠ The PACS did not store the set: it waits in the outbox (%1). Send the outbox "
                                     "when the PACS is back.")
                                      .arg(q(set.storeError)));
          predictions_.clear();  // kept in the outbox, not lost; not stored twice
          review_.reset({});
          fillProposalTable();
          updateOverlays();
        }
        updateOutboxLabel();
        emit storeFinished(set.stored);
      });
}

void MainWindow::updateOutboxLabel() {
  int waiting = 0;
  int notOurs = 0;  // files iodeep did not write there: never sent, said so
  try {
    const auto contents = client::Outbox(config_.outboxDir).contents();
    waiting = static_cast<int>(contents.waiting.size());
    notOurs = static_cast<int>(contents.notOurs.size());
  } catch (const Error& e) {
    showError(q(e.what()));
  }
  w_.outbox->setText(
      (waiting == 0 ? tr("Outbox empty") : tr("⚠ %1 set(s) waiting in the outbox").arg(waiting)) +
      (notOurs == 0 ? QString() : tr("; %1 file(s) there not written by iodeep: not sent").arg(notOurs)));
  w_.outbox->setStyleSheet(waiting + notOurs == 0 ? QString() : QString("color: #c06000; font-weight: bold"));
  w_.flush->setEnabled(waiting > 0);
  emit outboxChanged(waiting);
}

void MainWindow::flushOutbox() {
  w_.flush->setEnabled(false);
  const auto config = config_;
  runInBackground<client::FlushResult>(
      this, [config] { return client::Outbox(config.outboxDir).flush(client::Pacs(config.network), config.auditLog); },
      [this](const Outcome<client::FlushResult>& r) {
        if (!r.value) {
          showError(tr("Outbox: %1").arg(r.error));
        } else if (!r.value->failed.empty()) {
          showError(tr("Outbox: %1 stored, %2 still waiting (%3)")
                        .arg(r.value->stored.size())
                        .arg(r.value->failed.size())
                        .arg(q(r.value->failed.front().lastError)));
        } else {
          clearError();
          w_.storeStatus->setStyleSheet("color: #108010");
          w_.storeStatus->setText(tr("Outbox sent: %1 set(s) stored on the PACS.").arg(r.value->stored.size()));
          refreshStructureSets();
        }
        updateOutboxLabel();
      });
}

void MainWindow::refreshStructureSets() {
  if (!openSeries_) return;
  const auto config = config_;
  const auto series = *openSeries_;
  const auto dir = fs::path(config.imageCacheDir) / "structure-sets" / series.seriesInstanceUid;
  runInBackground<std::vector<StoredSetView>>(
      this,
      [config, series, dir] {
        std::vector<StoredSetView> out;
        for (auto& s : client::findStructureSets(client::Pacs(config.network), series.studyInstanceUid,
                                                 series.seriesInstanceUid, dir)) {
          StoredSetView v;
          if (s.damaged.empty()) v.set = rtstruct::readStructureSet(s.file);  // a damaged one is shown, never drawn
          v.visible = s.damaged.empty();
          v.summary = std::move(s);
          out.push_back(std::move(v));
        }
        return out;
      },
      [this, uid = series.seriesInstanceUid](const Outcome<std::vector<StoredSetView>>& r) {
        if (!openSeries_ || openSeries_->seriesInstanceUid != uid) return;  // another series by now
        if (!r.value) {
          showError(tr("Structure sets: %1").arg(r.error));
          emit structureSetsListed(0);
          return;
        }
        storedSets_ = *r.value;
        w_.storedSets->blockSignals(true);
        w_.storedSets->clear();
        for (const auto& s : storedSets_) {
          const auto& i = s.summary;
          auto* item =
              new QListWidgetItem(tr("%1 %2 by %3 on %4 %5 (%6 ROI)")
                                      .arg(q(i.label), q(i.approvalStatus), q(client::formatPersonName(i.reviewerName)),
                                           q(client::formatDate(i.reviewDate)), q(client::formatTime(i.reviewTime)))
                                      .arg(i.roiNames.size()));
          item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
          item->setCheckState(s.visible ? Qt::Checked : Qt::Unchecked);
          item->setToolTip(q(i.sopInstanceUid));
          if (!i.damaged.empty()) {  // another system's set that cannot be read: said so, skipped
            item->setText(tr("⚠ damaged: %1").arg(q(i.damaged)));
            item->setFlags(Qt::ItemIsEnabled);
          }
          w_.storedSets->addItem(item);
        }
        w_.storedSets->blockSignals(false);
        updateOverlays();
        emit structureSetsListed(static_cast<int>(storedSets_.size()));
      });
}

void MainWindow::storedSetToggled() {
  for (int i = 0; i < w_.storedSets->count() && i < static_cast<int>(storedSets_.size()); ++i) {
    storedSets_[static_cast<std::size_t>(i)].visible = w_.storedSets->item(i)->checkState() == Qt::Checked;
  }
  updateOverlays();
}

}  // namespace iodeep::gui

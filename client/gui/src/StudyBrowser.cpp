#include "StudyBrowser.hpp"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QRegularExpressionValidator>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include "Background.hpp"
#include "GuiText.hpp"
#include "iodeep/iod/IodeepObject.hpp"

namespace iodeep::gui {

StudyBrowser::StudyBrowser(const WorkstationHolder& holder, QWidget* parent) : QWidget(parent), holder_(holder) {
  buildUi();
}

StudyBrowser::~StudyBrowser() {
  cancelOpening();
}

void StudyBrowser::buildUi() {
  auto* bl = new QVBoxLayout(this);
  bl->setContentsMargins(0, 0, 0, 0);
  // the PACS is asked with the user's search (C-FIND keys), never for every study it holds
  auto* searchRow = new QHBoxLayout;
  const auto searchEdit = [&](QLineEdit*& edit, const QString& placeholder, const char* name) {
    edit = new QLineEdit;
    edit->setPlaceholderText(placeholder);
    edit->setObjectName(name);
    edit->setClearButtonEnabled(true);
    searchRow->addWidget(edit);
    connect(edit, &QLineEdit::returnPressed, this, &StudyBrowser::refreshStudies);
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
  connect(w_.search, &QPushButton::clicked, this, &StudyBrowser::refreshStudies);
  searchRow->addWidget(w_.search);
  // the networks' own study is not the physician's: hidden unless asked for
  w_.showNetworks = new QCheckBox(tr("Networks"));
  w_.showNetworks->setToolTip(
      tr("Also list the IODeep networks' own studies (%1)").arg(q(std::string(iod::kStudyDescription))));
  connect(w_.showNetworks, &QCheckBox::toggled, this, &StudyBrowser::fillStudies);
  searchRow->addWidget(w_.showNetworks);
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
  connect(w_.studies->selectionModel(), &QItemSelectionModel::selectionChanged, this, &StudyBrowser::studySelected);
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
  connect(w_.cancelOpen, &QPushButton::clicked, this, &StudyBrowser::cancelOpening);
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
}

std::shared_ptr<client::Workstation> StudyBrowser::workstation() {
  auto ws = holder_.workstation();
  if (ws && holder_.problem().isEmpty()) return ws;
  emit errorRaised(tr("Configuration: %1").arg(holder_.problem()));
  return nullptr;
}

void StudyBrowser::cancelOpening() {
  if (openCancel_) *openCancel_ = true;
}

client::StudyFilter StudyBrowser::studySearch() const {
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

void StudyBrowser::refreshStudies() {
  const auto ws = workstation();
  if (!ws) return;
  const auto request = ++studiesRequest_;
  const auto filter = studySearch();
  runInBackground<client::StudyList>(
      this, [ws, filter] { return client::listStudies(ws->pacs(), filter); },
      [this, request](const Outcome<client::StudyList>& r) {
        if (request != studiesRequest_) return;  // a newer refresh is on its way
        if (!r.value) {
          emit errorRaised(tr("Studies: %1").arg(r.error));
          emit studiesLoaded(0);
          return;
        }
        allStudies_ = r.value->studies;
        // the PACS had more than the client takes from one C-FIND (max_find_results)
        w_.studiesNote->setText(
            r.value->truncated
                ? tr("The PACS has more studies than the %1 shown: narrow the search.").arg(allStudies_.size())
                : QString());
        fillStudies();
        emit studiesLoaded(static_cast<int>(studies_.size()));
      });
}

void StudyBrowser::fillStudies() {
  studies_.clear();
  for (const auto& s : allStudies_) {
    if (w_.showNetworks->isChecked() || s.studyDescription != iod::kStudyDescription) studies_.push_back(s);
  }
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
}

void StudyBrowser::studySelected() {
  const auto rows = w_.studies->selectionModel()->selectedRows();
  if (rows.isEmpty()) return;
  const int index = studyProxy_->mapToSource(rows.front()).data(Qt::UserRole).toInt();
  if (index < 0 || index >= static_cast<int>(studies_.size())) return;
  const auto studyUid = studies_[static_cast<std::size_t>(index)].studyInstanceUid;
  const auto ws = workstation();
  if (!ws) return;
  const auto request = ++seriesRequest_;
  runInBackground<std::vector<client::SeriesInfo>>(
      this, [ws, studyUid] { return client::findSeries(ws->pacs(), studyUid); },
      [this, request](const Outcome<std::vector<client::SeriesInfo>>& r) {
        if (request != seriesRequest_) return;  // another study was chosen since: its answer counts
        if (!r.value) {
          emit errorRaised(tr("Series: %1").arg(r.error));
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

void StudyBrowser::seriesActivated(int row) {
  if (row < 0 || row >= static_cast<int>(series_.size())) return;
  const auto& s = series_[static_cast<std::size_t>(row)];
  if (s.iodeepModels || s.modality == "RTSTRUCT") {
    emit errorRaised(s.iodeepModels ? tr("This series holds IODeep networks, not images.")
                                    : tr("This series holds structure sets: open the images they contour."));
    return;
  }
  open(s);
}

void StudyBrowser::open(const client::SeriesInfo& series) {
  if (opening_) return;
  const auto ws = workstation();
  if (!ws) return;
  opening_ = true;
  emit errorCleared();
  emit openingStarted();
  openCancel_ = std::make_shared<std::atomic<bool>>(false);
  w_.openProgress->setRange(0, std::max(1, QString::fromStdString(series.numberOfInstances).toInt()));
  w_.openProgress->setValue(0);
  w_.openProgress->setVisible(true);
  w_.cancelOpen->setVisible(true);
  auto cancel = openCancel_;
  QPointer<StudyBrowser> self(this);
  runInBackground<OpenedSeries>(
      this,
      [ws, series, cancel, self] {
        return openSeries(*ws, series, [cancel, self](const client::SeriesProgress& p) {
          postToUi(self, [self, p] {
            if (!self) return;
            self->w_.openProgress->setMaximum(static_cast<int>(std::max<std::size_t>(1, p.total)));
            self->w_.openProgress->setValue(static_cast<int>(p.present));
          });
          return !*cancel;
        });
      },
      [this](const Outcome<OpenedSeries>& r) {
        opening_ = false;
        w_.openProgress->setVisible(false);
        w_.cancelOpen->setVisible(false);
        if (!r.value) {
          emit errorRaised(r.code == ErrorCode::Cancelled ? tr("Opening the series was cancelled.")
                                                          : tr("Opening the series: %1").arg(r.error));
          emit openingFailed();
          return;
        }
        emit seriesOpened(*r.value);
      });
}

}  // namespace iodeep::gui

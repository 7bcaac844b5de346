#include "ReviewPanel.hpp"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "Background.hpp"
#include "GuiText.hpp"
#include "iodeep/reports/Display.hpp"
#include "iodeep/workflow/StoreReview.hpp"

namespace iodeep::gui {

namespace fs = std::filesystem;

namespace {

// A background call that changed the outbox brings back its contents for the label.
template <typename T>
struct WithOutbox {
  T result;
  std::optional<client::OutboxContents> outbox;
  QString outboxError;
};

template <typename T>
WithOutbox<T> withOutbox(client::Workstation& ws, T result) {
  WithOutbox<T> out{std::move(result), std::nullopt, {}};
  try {
    out.outbox = ws.outbox().contents();
  } catch (const Error& e) {
    out.outboxError = q(e.what());
  }
  return out;
}

}  // namespace

ReviewPanel::ReviewPanel(const WorkstationHolder& holder, QWidget* parent) : QWidget(parent), holder_(holder) {
  buildUi();
  updateButtons();
}

void ReviewPanel::buildUi() {
  auto* sl = new QVBoxLayout(this);
  sl->setContentsMargins(0, 0, 0, 0);
  w_.proposals = new QTableWidget(0, 5);
  w_.proposals->setHorizontalHeaderLabels({tr("#"), tr("Slice"), tr("Label"), tr("Area"), tr("Verdict")});
  w_.proposals->setSelectionBehavior(QAbstractItemView::SelectRows);
  w_.proposals->setSelectionMode(QAbstractItemView::SingleSelection);
  w_.proposals->setEditTriggers(QAbstractItemView::NoEditTriggers);
  w_.proposals->verticalHeader()->hide();
  w_.proposals->horizontalHeader()->setStretchLastSection(true);
  connect(w_.proposals, &QTableWidget::itemSelectionChanged, this, &ReviewPanel::proposalRowSelected);
  w_.approve = new QPushButton(tr("Approve"));
  w_.approve->setToolTip(tr("Approve the selected ROI (A)"));
  w_.reject = new QPushButton(tr("Reject"));
  w_.reject->setToolTip(tr("Reject the selected ROI (X)"));
  w_.approveAll = new QPushButton(tr("Approve all"));
  w_.approveAll->setToolTip(tr("Ctrl+Shift+A"));
  connect(w_.approve, &QPushButton::clicked, this, [this] { setVerdictOfSelected(client::Verdict::Approved); });
  connect(w_.reject, &QPushButton::clicked, this, [this] { setVerdictOfSelected(client::Verdict::Rejected); });
  connect(w_.approveAll, &QPushButton::clicked, this, &ReviewPanel::approveAll);
  auto* reviewRow = new QHBoxLayout;
  reviewRow->addWidget(w_.approve);
  reviewRow->addWidget(w_.reject);
  reviewRow->addWidget(w_.approveAll);
  w_.store = new QPushButton(tr("Store approved ROIs"));
  w_.store->setToolTip(tr("Store the approved ROIs on the PACS as an RT Structure Set (Ctrl+S)"));
  connect(w_.store, &QPushButton::clicked, this, &ReviewPanel::store);
  w_.storeStatus = new QLabel;
  w_.storeStatus->setWordWrap(true);
  w_.outbox = new QLabel;
  w_.flush = new QPushButton(tr("Send outbox"));
  w_.flush->setEnabled(false);
  connect(w_.flush, &QPushButton::clicked, this, &ReviewPanel::flushOutbox);
  auto* outboxRow = new QHBoxLayout;
  outboxRow->addWidget(w_.outbox, 1);
  outboxRow->addWidget(w_.flush);
  w_.storedSets = new QListWidget;
  w_.storedSets->setMaximumHeight(120);
  connect(w_.storedSets, &QListWidget::itemChanged, this, &ReviewPanel::storedSetToggled);
  auto* refreshSets = new QPushButton(tr("Refresh"));
  connect(refreshSets, &QPushButton::clicked, this, &ReviewPanel::refreshStructureSets);
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
}

// ---- proposals and the review ---------------------------------------------------------------------

void ReviewPanel::setSeries(const client::SeriesInfo& series) {
  series_ = series;
  predictions_.clear();
  review_.reset({});
  fillProposalTable();
  storedSets_.clear();
  w_.storedSets->clear();
  emit overlaysChanged();
}

void ReviewPanel::accept(const std::vector<client::PredictResult>& results, bool replaceAll) {
  if (replaceAll) {
    predictions_ = results;
  } else {
    // a new run on a slice replaces that slice's proposals; the other slices' stay
    for (const auto& r : results) {
      const auto& sop = r.slice.attributes.sopInstanceUid;
      std::erase_if(predictions_,
                    [&](const client::PredictResult& p) { return p.slice.attributes.sopInstanceUid == sop; });
      predictions_.push_back(r);
    }
  }
  review_.reset(predictions_);
  fillProposalTable();
  emit overlaysChanged();
}

void ReviewPanel::setLocked(bool locked) {
  locked_ = locked;
  updateButtons();
}

void ReviewPanel::updateButtons() {
  const bool reviewable = !locked_ && review_.size() > 0;
  w_.approve->setEnabled(reviewable);
  w_.reject->setEnabled(reviewable);
  w_.approveAll->setEnabled(reviewable);
  w_.store->setEnabled(!locked_ && !storing_ && review_.count(client::Verdict::Approved) > 0);
}

void ReviewPanel::fillProposalTable() {
  w_.proposals->blockSignals(true);
  w_.proposals->setRowCount(0);
  for (std::size_t flat = 0; flat < review_.size(); ++flat) {
    const auto& ref = review_.at(flat);
    const auto& prediction = predictions_[ref.prediction];
    const auto& p = prediction.proposals[ref.proposal];
    const int row = w_.proposals->rowCount();
    w_.proposals->insertRow(row);
    const auto v = review_.verdict(flat);
    const QStringList cells{QString::number(flat + 1), q(prediction.slice.attributes.instanceNumber), q(p.label.name),
                            areaText(p), verdictText(v)};
    for (int c = 0; c < cells.size(); ++c) w_.proposals->setItem(row, c, new QTableWidgetItem(cells[c]));
    w_.proposals->item(row, 4)->setForeground(verdictColor(v));
  }
  w_.proposals->blockSignals(false);
  w_.proposals->resizeColumnsToContents();
  updateButtons();
}

void ReviewPanel::proposalRowSelected() {
  const int row = w_.proposals->currentRow();
  if (row < 0 || row >= static_cast<int>(review_.size())) return;
  emit proposalSelected(
      q(predictions_[review_.at(static_cast<std::size_t>(row)).prediction].slice.attributes.sopInstanceUid));
}

void ReviewPanel::setVerdictOfSelected(client::Verdict verdict) {
  const int row = w_.proposals->currentRow();
  if (locked_ || row < 0 || row >= static_cast<int>(review_.size())) return;
  review_.set(static_cast<std::size_t>(row), verdict);
  fillProposalTable();
  // the next proposal to review
  const int next = std::min(row + 1, static_cast<int>(review_.size()) - 1);
  w_.proposals->selectRow(next);
  emit overlaysChanged();
}

void ReviewPanel::approveAll() {
  if (locked_) return;
  review_.approveAll();
  fillProposalTable();
  emit overlaysChanged();
}

std::vector<Overlay> ReviewPanel::overlaysFor(const std::string& sop, const iod::SliceAttributes* attributes) const {
  std::vector<Overlay> overlays;
  const int selected = w_.proposals->currentRow();
  for (std::size_t flat = 0; flat < review_.size(); ++flat) {
    const auto& ref = review_.at(flat);
    const auto& prediction = predictions_[ref.prediction];
    if (prediction.slice.attributes.sopInstanceUid != sop) continue;
    const auto& p = prediction.proposals[ref.proposal];
    Overlay o;
    o.rings = p.rings;
    o.color = verdictColor(review_.verdict(flat));
    o.label = QString("%1 %2  %3").arg(flat + 1).arg(q(p.label.name), areaText(p));
    o.emphasised = static_cast<int>(flat) == selected;
    overlays.push_back(std::move(o));
  }
  if (attributes == nullptr) return overlays;
  for (const auto& s : storedSets_) {
    if (!s.visible) continue;
    for (const auto& roi : rtstruct::roisOnImage(s.set, *attributes)) {
      Overlay o;
      o.rings = roi.rings;
      o.color = QColor(roi.roi.color[0], roi.roi.color[1], roi.roi.color[2]);
      o.label = QString("%1: %2").arg(q(s.set.label), q(roi.roi.name));
      overlays.push_back(std::move(o));
    }
  }
  return overlays;
}

// ---- store and the outbox ---------------------------------------------------------------------------

void ReviewPanel::store() {
  if (locked_ || storing_ || review_.count(client::Verdict::Approved) == 0) return;
  const auto ws = holder_.workstation();
  if (!ws) {
    emit errorRaised(tr("Configuration: %1").arg(holder_.problem()));
    return;
  }
  if (ws->config().reviewer.empty()) {
    emit errorRaised(tr("Set the reviewer's name in Settings before storing."));
    return;
  }
  storing_ = true;
  w_.store->setEnabled(false);
  w_.storeStatus->setText(tr("Storing…"));
  const auto predictions = predictions_;
  const auto decision = review_.decision(ws->config().reviewer);
  using Stored = WithOutbox<client::StoreReport>;
  runInBackground<Stored>(
      this, [ws, predictions, decision] { return withOutbox(*ws, client::storeReview(*ws, predictions, decision)); },
      [this](const Outcome<Stored>& r) {
        storing_ = false;
        updateButtons();
        if (!r.value || !r.value->result.approvedSet) {
          w_.storeStatus->setText(tr("Not stored."));
          emit errorRaised(tr("Store: %1").arg(r.error));
          emit storeFinished(false);
          return;
        }
        const auto& set = *r.value->result.approvedSet;
        if (set.stored) {
          w_.storeStatus->setStyleSheet("color: #108010");
          w_.storeStatus->setText(tr("Stored on the PACS: %1 ROI(s), %2 contour(s)%3")
                                      .arg(set.rois)
                                      .arg(set.contours)
                                      .arg(set.foundOnPacs ? tr(", found there by C-FIND") : QString()));
        } else {
          w_.storeStatus->setStyleSheet("color: #c06000; font-weight: bold");
          w_.storeStatus->setText(tr("⚠ The PACS did not store the set: it waits in the outbox (%1). Send the outbox "
                                     "when the PACS is back.")
                                      .arg(q(set.storeError)));
        }
        predictions_.clear();  // stored, or kept in the outbox: not lost, not stored twice
        review_.reset({});
        fillProposalTable();
        emit overlaysChanged();
        if (set.stored) refreshStructureSets();
        showOutbox(r.value->outbox, r.value->outboxError);
        emit storeFinished(set.stored);
      });
}

void ReviewPanel::showOutbox(const std::optional<client::OutboxContents>& contents, const QString& error) {
  if (!contents) {
    if (!error.isEmpty()) emit errorRaised(tr("Outbox: %1").arg(error));
    w_.outbox->setText(tr("Outbox: not readable"));
    w_.flush->setEnabled(false);
    emit outboxChanged(0);
    return;
  }
  const int waiting = static_cast<int>(contents->waiting.size());
  const int notOurs = static_cast<int>(contents->notOurs.size());  // not written by iodeep: never sent, said so
  w_.outbox->setText(
      (waiting == 0 ? tr("Outbox empty") : tr("⚠ %1 set(s) waiting in the outbox").arg(waiting)) +
      (notOurs == 0 ? QString() : tr("; %1 file(s) there not written by iodeep: not sent").arg(notOurs)));
  w_.outbox->setStyleSheet(waiting + notOurs == 0 ? QString() : QString("color: #c06000; font-weight: bold"));
  w_.flush->setEnabled(waiting > 0);
  emit outboxChanged(waiting);
}

void ReviewPanel::refreshOutbox() {
  const auto ws = holder_.workstation();
  if (!ws) {
    showOutbox(std::nullopt, {});
    w_.outbox->setText(tr("Outbox: once the configuration is set (Settings)"));
    return;
  }
  using Read = WithOutbox<bool>;
  runInBackground<Read>(
      this, [ws] { return withOutbox(*ws, true); },
      [this](const Outcome<Read>& r) {
        if (r.value)
          showOutbox(r.value->outbox, r.value->outboxError);
        else
          showOutbox(std::nullopt, r.error);
      });
}

void ReviewPanel::flushOutbox() {
  const auto ws = holder_.workstation();
  if (!ws || !holder_.problem().isEmpty()) {
    emit errorRaised(tr("Configuration: %1").arg(holder_.problem()));
    return;
  }
  w_.flush->setEnabled(false);
  using Flushed = WithOutbox<client::FlushResult>;
  runInBackground<Flushed>(
      this, [ws] { return withOutbox(*ws, ws->outbox().flush(ws->pacs(), ws->auditLog())); },
      [this](const Outcome<Flushed>& r) {
        if (!r.value) {
          emit errorRaised(tr("Outbox: %1").arg(r.error));
          refreshOutbox();
          return;
        }
        const auto& flushed = r.value->result;
        if (!flushed.failed.empty()) {
          emit errorRaised(tr("Outbox: %1 stored, %2 still waiting (%3)")
                               .arg(flushed.stored.size())
                               .arg(flushed.failed.size())
                               .arg(q(flushed.failed.front().lastError)));
        } else {
          emit errorCleared();
          w_.storeStatus->setStyleSheet("color: #108010");
          w_.storeStatus->setText(tr("Outbox sent: %1 set(s) stored on the PACS.").arg(flushed.stored.size()));
          refreshStructureSets();
        }
        showOutbox(r.value->outbox, r.value->outboxError);
      });
}

// ---- structure sets on the PACS ---------------------------------------------------------------------

void ReviewPanel::refreshStructureSets() {
  if (!series_) return;
  const auto ws = holder_.workstation();
  if (!ws || !holder_.problem().isEmpty()) return;
  const auto series = *series_;
  const auto dir = fs::path(ws->config().imageCacheDir) / "structure-sets" / series.seriesInstanceUid;
  runInBackground<std::vector<StoredSetView>>(
      this,
      [ws, series, dir] {
        std::vector<StoredSetView> out;
        for (auto& s : client::findStructureSets(ws->pacs(), series.studyInstanceUid, series.seriesInstanceUid, dir)) {
          StoredSetView v;
          if (s.damaged.empty()) v.set = rtstruct::readStructureSet(s.file);  // a damaged one is shown, never drawn
          v.visible = s.damaged.empty();
          v.summary = std::move(s);
          out.push_back(std::move(v));
        }
        return out;
      },
      [this, uid = series.seriesInstanceUid](const Outcome<std::vector<StoredSetView>>& r) {
        if (!series_ || series_->seriesInstanceUid != uid) return;  // another series by now
        if (!r.value) {
          emit errorRaised(tr("Structure sets: %1").arg(r.error));
          emit structureSetsListed(0);
          return;
        }
        showStructureSets(*r.value);
      });
}

void ReviewPanel::showStructureSets(std::vector<StoredSetView> sets) {
  storedSets_ = std::move(sets);
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
  emit overlaysChanged();
  emit structureSetsListed(static_cast<int>(storedSets_.size()));
}

void ReviewPanel::storedSetToggled() {
  for (int i = 0; i < w_.storedSets->count() && i < static_cast<int>(storedSets_.size()); ++i) {
    storedSets_[static_cast<std::size_t>(i)].visible = w_.storedSets->item(i)->checkState() == Qt::Checked;
  }
  emit overlaysChanged();
}

}  // namespace iodeep::gui

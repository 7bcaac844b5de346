#include "ReviewPanel.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>

#include "Background.hpp"
#include "GuiText.hpp"
#include "iodeep/reports/Display.hpp"
#include "iodeep/trust/Signing.hpp"
#include "iodeep/workflow/Masks.hpp"
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
  // correcting and drawing
  w_.correct = new QPushButton(tr("Correct"));
  w_.correct->setToolTip(tr("Correct the selected proposal with the brush and the eraser (C)"));
  w_.draw = new QPushButton(tr("Draw"));
  w_.draw->setToolTip(tr("Draw a new ROI of the chosen label on the slice shown (D)"));
  w_.drawLabel = new QComboBox;
  w_.drawLabel->setToolTip(tr("The label of a new ROI: one the network knows"));
  w_.brush = new QToolButton;
  w_.brush->setText(tr("Brush"));
  w_.brush->setCheckable(true);
  w_.brush->setToolTip(tr("Paint: adds to the ROI (B)"));
  w_.eraser = new QToolButton;
  w_.eraser->setText(tr("Eraser"));
  w_.eraser->setCheckable(true);
  w_.eraser->setToolTip(tr("Erase: removes from the ROI (E)"));
  w_.radius = new QSpinBox;
  w_.radius->setRange(1, 50);
  w_.radius->setValue(4);
  w_.radius->setSuffix(tr(" px"));
  w_.radius->setToolTip(tr("Brush radius in the slice's pixels ([ smaller, ] larger)"));
  w_.undo = new QPushButton(tr("Undo"));
  w_.undo->setToolTip(tr("Ctrl+Z"));
  w_.redo = new QPushButton(tr("Redo"));
  w_.redo->setToolTip(tr("Ctrl+Shift+Z or Ctrl+Y"));
  w_.done = new QPushButton(tr("Done"));
  w_.done->setToolTip(tr("Keep the edit: the proposal is approved as corrected, a drawn ROI is added (Enter)"));
  w_.cancel = new QPushButton(tr("Cancel"));
  w_.cancel->setToolTip(tr("Drop the edit (Esc)"));
  w_.editStatus = new QLabel;
  w_.editStatus->setWordWrap(true);
  connect(w_.correct, &QPushButton::clicked, this, &ReviewPanel::startCorrecting);
  connect(w_.draw, &QPushButton::clicked, this, &ReviewPanel::startDrawing);
  connect(w_.brush, &QToolButton::clicked, this, [this] { setTool(true); });
  connect(w_.eraser, &QToolButton::clicked, this, [this] { setTool(false); });
  connect(w_.radius, &QSpinBox::valueChanged, this, [this] { editChanged(); });
  connect(w_.undo, &QPushButton::clicked, this, &ReviewPanel::undoEdit);
  connect(w_.redo, &QPushButton::clicked, this, &ReviewPanel::redoEdit);
  connect(w_.done, &QPushButton::clicked, this, &ReviewPanel::finishEditing);
  connect(w_.cancel, &QPushButton::clicked, this, &ReviewPanel::cancelEditing);
  auto* editRow = new QHBoxLayout;
  editRow->addWidget(w_.correct);
  editRow->addWidget(w_.draw);
  editRow->addWidget(w_.drawLabel, 1);
  auto* toolRow = new QHBoxLayout;
  for (QWidget* widget :
       std::initializer_list<QWidget*>{w_.brush, w_.eraser, w_.radius, w_.undo, w_.redo, w_.done, w_.cancel}) {
    toolRow->addWidget(widget);
  }
  w_.store = new QPushButton(tr("Store approved ROIs"));
  w_.store->setToolTip(tr("Store the approved ROIs on the PACS as an RT Structure Set (Ctrl+S)"));
  connect(w_.store, &QPushButton::clicked, this, &ReviewPanel::store);
  w_.storeFormat = new QComboBox;
  w_.storeFormat->addItem(tr("as an RT Structure Set"), "rtstruct");
  w_.storeFormat->addItem(tr("as a DICOM Segmentation"), "seg");
  w_.storeFormat->addItem(tr("as both"), "both");
  if (const auto ws = holder_.workstation()) {
    const int at = w_.storeFormat->findData(QString::fromStdString(ws->config().resultFormat));
    if (at >= 0) w_.storeFormat->setCurrentIndex(at);
  }
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
  sl->addLayout(editRow);
  sl->addLayout(toolRow);
  sl->addWidget(w_.editStatus);
  auto* storeRow = new QHBoxLayout;
  storeRow->addWidget(w_.store, 1);
  storeRow->addWidget(w_.storeFormat);
  sl->addLayout(storeRow);
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
  cancelEditing();
  series_ = series;
  predictions_.clear();
  review_.reset({});
  fillProposalTable();
  storedSets_.clear();
  w_.storedSets->clear();
  emit overlaysChanged();
}

void ReviewPanel::accept(const std::vector<client::PredictResult>& results, bool replaceAll) {
  cancelEditing();
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
  fillLabels();
  emit overlaysChanged();
}

void ReviewPanel::setLocked(bool locked) {
  locked_ = locked;
  updateButtons();
}

void ReviewPanel::updateButtons() {
  const bool edit = editor_.active();
  const bool reviewable = !locked_ && review_.size() > 0 && !edit;
  w_.approve->setEnabled(reviewable);
  w_.reject->setEnabled(reviewable);
  w_.approveAll->setEnabled(reviewable);
  const int row = w_.proposals->currentRow();
  w_.correct->setEnabled(reviewable && row >= 0 && row < static_cast<int>(review_.size()));
  w_.draw->setEnabled(!locked_ && !edit && predictionOf(currentSop_) >= 0 && w_.drawLabel->count() > 0);
  for (QWidget* widget : std::initializer_list<QWidget*>{w_.brush, w_.eraser, w_.radius, w_.done, w_.cancel}) {
    widget->setEnabled(edit);
  }
  w_.brush->setChecked(edit && brushTool_);
  w_.eraser->setChecked(edit && !brushTool_);
  w_.undo->setEnabled(edit && editor_.canUndo());
  w_.redo->setEnabled(edit && editor_.canRedo());
  w_.store->setEnabled(!locked_ && !storing_ && !edit && review_.anythingToStore());
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
    const QString verdict = review_.correction(flat) != nullptr ? tr("approved (corrected)") : verdictText(v);
    const auto* corrected = review_.correction(flat);
    const QString area = corrected == nullptr
                             ? areaText(p)
                             : tr("%1 px").arg(client::maskOfRings(*corrected, prediction.slice.attributes.rows,
                                                                   prediction.slice.attributes.columns)
                                                   .area());
    const QStringList cells{QString::number(flat + 1), q(prediction.slice.attributes.instanceNumber), q(p.label.name),
                            area, verdict};
    for (int c = 0; c < cells.size(); ++c) w_.proposals->setItem(row, c, new QTableWidgetItem(cells[c]));
    w_.proposals->item(row, 4)->setForeground(verdictColor(v));
  }
  // the ROIs the physician drew, after the proposals (not selectable for a verdict)
  for (std::size_t i = 0; i < review_.drawn().size(); ++i) {
    const auto& d = review_.drawn()[i];
    const int row = w_.proposals->rowCount();
    w_.proposals->insertRow(row);
    const auto area = client::maskOfRings(d.rings, predictions_[d.slice].slice.attributes.rows,
                                          predictions_[d.slice].slice.attributes.columns)
                          .area();
    const QStringList cells{tr("D%1").arg(i + 1), q(predictions_[d.slice].slice.attributes.instanceNumber),
                            q(d.label.name), tr("%1 px").arg(area), tr("drawn")};
    for (int c = 0; c < cells.size(); ++c) w_.proposals->setItem(row, c, new QTableWidgetItem(cells[c]));
    w_.proposals->item(row, 4)->setForeground(verdictColor(client::Verdict::Approved));
  }
  w_.proposals->blockSignals(false);
  w_.proposals->resizeColumnsToContents();
  updateButtons();
}

void ReviewPanel::proposalRowSelected() {
  updateButtons();
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
    if (editor_.active() && editedProposal_ == flat) continue;  // drawn from the editor below
    Overlay o;
    const auto* corrected = review_.correction(flat);
    o.rings = corrected != nullptr ? *corrected : p.rings;
    o.color = verdictColor(review_.verdict(flat));
    o.label = QString("%1 %2  %3%4")
                  .arg(flat + 1)
                  .arg(q(p.label.name), areaText(p), corrected != nullptr ? tr(" (corrected)") : QString());
    o.emphasised = static_cast<int>(flat) == selected;
    overlays.push_back(std::move(o));
  }
  for (std::size_t i = 0; i < review_.drawn().size(); ++i) {
    const auto& d = review_.drawn()[i];
    if (predictions_[d.slice].slice.attributes.sopInstanceUid != sop) continue;
    Overlay o;
    o.rings = d.rings;
    o.color = verdictColor(client::Verdict::Approved);
    o.label = tr("D%1 %2 (drawn)").arg(i + 1).arg(q(d.label.name));
    overlays.push_back(std::move(o));
  }
  if (editor_.active() && predictions_[editedPrediction_].slice.attributes.sopInstanceUid == sop) {
    Overlay o;
    o.rings = client::ringsOfMask(editor_.mask());
    o.color = QColor(255, 210, 0);  // being edited
    o.label = editedProposal_ ? tr("%1 editing").arg(*editedProposal_ + 1) : tr("new %1").arg(q(drawnLabel_.name));
    o.emphasised = true;
    overlays.push_back(std::move(o));
  }
  if (attributes == nullptr) return overlays;
  for (const auto& s : storedSets_) {
    if (!s.visible) continue;
    if (s.seg) {  // a Segmentation: each segment's mask on this image, outlined
      for (const auto& on : seg::segmentsOnImage(*s.seg, *attributes)) {
        Overlay o;
        o.rings = client::ringsOfMask(client::Mask{attributes->rows, attributes->columns, on.mask});
        const auto& status = s.seg->approvalStatus;
        o.color = status == "APPROVED"   ? verdictColor(client::Verdict::Approved)
                  : status == "REJECTED" ? QColor(150, 150, 150)
                                         : QColor(on.segment.color[0], on.segment.color[1], on.segment.color[2]);
        o.label = QString("%1 (SEG): %2").arg(q(s.seg->contentLabel), q(on.segment.label));
        overlays.push_back(std::move(o));
      }
      continue;
    }
    for (const auto& roi : rtstruct::roisOnImage(s.set, *attributes)) {
      Overlay o;
      o.rings = roi.rings;
      // a reviewed set in the review's colours (approved green, rejected grey), another system's in its own
      const auto& status = s.set.approvalStatus;
      o.color = status == "APPROVED"   ? verdictColor(client::Verdict::Approved)
                : status == "REJECTED" ? QColor(150, 150, 150)
                                       : QColor(roi.roi.color[0], roi.roi.color[1], roi.roi.color[2]);
      o.label = QString("%1: %2").arg(q(s.set.label), q(roi.roi.name));
      overlays.push_back(std::move(o));
    }
  }
  return overlays;
}

// ---- correcting and drawing -------------------------------------------------------------------------

int ReviewPanel::predictionOf(const std::string& sop) const {
  for (std::size_t i = 0; i < predictions_.size(); ++i) {
    if (!sop.empty() && predictions_[i].slice.attributes.sopInstanceUid == sop) return static_cast<int>(i);
  }
  return -1;
}

void ReviewPanel::setCurrentSlice(const std::string& sopInstanceUid) {
  currentSop_ = sopInstanceUid;
  fillLabels();
}

void ReviewPanel::fillLabels() {
  const int prediction = predictionOf(currentSop_);
  const QString chosen = w_.drawLabel->currentText();
  w_.drawLabel->clear();
  if (prediction >= 0) {
    for (const auto& l : predictions_[static_cast<std::size_t>(prediction)].labels) w_.drawLabel->addItem(q(l.name));
  }
  if (const int i = w_.drawLabel->findText(chosen); i >= 0) w_.drawLabel->setCurrentIndex(i);
  updateButtons();
}

void ReviewPanel::startCorrecting() {
  const int row = w_.proposals->currentRow();
  if (locked_ || editor_.active() || row < 0 || row >= static_cast<int>(review_.size())) return;
  const auto flat = static_cast<std::size_t>(row);
  const auto& ref = review_.at(flat);
  const auto& prediction = predictions_[ref.prediction];
  const auto& a = prediction.slice.attributes;
  const auto* corrected = review_.correction(flat);
  editedProposal_ = flat;
  editedPrediction_ = ref.prediction;
  editor_.begin(client::maskOfRings(corrected != nullptr ? *corrected : prediction.proposals[ref.proposal].rings,
                                    a.rows, a.columns));
  brushTool_ = true;
  emit proposalSelected(q(a.sopInstanceUid));  // its slice is shown
  editChanged();
}

void ReviewPanel::startDrawing() {
  const int prediction = predictionOf(currentSop_);
  if (locked_ || editor_.active() || prediction < 0 || w_.drawLabel->currentIndex() < 0) return;
  const auto& p = predictions_[static_cast<std::size_t>(prediction)];
  drawnLabel_ = p.labels.at(static_cast<std::size_t>(w_.drawLabel->currentIndex()));
  editedProposal_.reset();
  editedPrediction_ = static_cast<std::size_t>(prediction);
  const auto& a = p.slice.attributes;
  editor_.begin(client::Mask{a.rows, a.columns, std::vector<std::uint8_t>(std::size_t{a.rows} * a.columns, 0)});
  brushTool_ = true;
  editChanged();
}

void ReviewPanel::setTool(bool brush) {
  if (!editor_.active()) return;
  brushTool_ = brush;
  editChanged();
}

void ReviewPanel::changeRadius(int delta) {
  if (!editor_.active()) return;
  w_.radius->setValue(w_.radius->value() + delta);  // editChanged follows
}

void ReviewPanel::undoEdit() {
  if (editor_.undo()) editChanged();
}

void ReviewPanel::redoEdit() {
  if (editor_.redo()) editChanged();
}

void ReviewPanel::brushPressed(QPointF pixel) {
  if (!editor_.active()) return;
  editor_.beginStroke(pixel.x(), pixel.y(), w_.radius->value(), brushTool_);
  emit overlaysChanged();
}

void ReviewPanel::brushMoved(QPointF pixel) {
  if (!editor_.stroking()) return;
  editor_.continueStroke(pixel.x(), pixel.y());
  emit overlaysChanged();
}

void ReviewPanel::brushReleased() {
  if (!editor_.stroking()) return;
  editor_.endStroke();
  editChanged();
}

void ReviewPanel::finishEditing() {
  if (!editor_.active()) return;
  editor_.endStroke();
  const auto rings = client::ringsOfMask(editor_.mask());
  if (editedProposal_) {
    if (rings.empty()) {
      review_.set(*editedProposal_, client::Verdict::Rejected);  // all of it erased: nothing to approve
    } else if (editor_.changed()) {
      review_.setCorrection(*editedProposal_, rings);
    }
  } else if (!rings.empty()) {
    (void)review_.addDrawn({editedPrediction_, drawnLabel_, rings});
  }
  editor_.end();
  editedProposal_.reset();
  fillProposalTable();
  editChanged();
}

void ReviewPanel::cancelEditing() {
  if (!editor_.active()) return;
  editor_.end();
  editedProposal_.reset();
  editChanged();
}

void ReviewPanel::editChanged() {
  if (editor_.active()) {
    const auto area = editor_.mask().area();
    w_.editStatus->setText((editedProposal_ ? tr("Correcting proposal %1").arg(*editedProposal_ + 1)
                                            : tr("Drawing a new %1").arg(q(drawnLabel_.name))) +
                           tr(": %1 px, %2 radius %3 px. Enter keeps it, Esc drops it.")
                               .arg(area)
                               .arg(brushTool_ ? tr("brush") : tr("eraser"))
                               .arg(w_.radius->value()));
  } else {
    w_.editStatus->clear();
  }
  updateButtons();
  emit editingChanged(editor_.active(), brushTool_, w_.radius->value());
  emit overlaysChanged();
}

// ---- store and the outbox ---------------------------------------------------------------------------

void ReviewPanel::store() {
  if (locked_ || storing_ || editor_.active() || !review_.anythingToStore()) return;
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
  auto decision = review_.decision(ws->config().reviewer);
  decision.format = client::resultFormatFrom(w_.storeFormat->currentData().toString().toStdString());
  // the configuration's signing key: the reviewer's approval signed before it enters the outbox
  std::optional<iod::SigningCredentials> signing;
  if (const auto& s = ws->config().signing; !s.key.empty()) {
    try {
      signing = client::signingCredentials(s.key, s.certificate, s.passphraseFile);
    } catch (const Error& e) {
      storing_ = false;
      updateButtons();
      w_.storeStatus->setText(tr("Not stored."));
      emit errorRaised(tr("Signing: %1").arg(q(e.what())));
      return;
    }
  }
  using Stored = WithOutbox<client::StoreReport>;
  runInBackground<Stored>(
      this,
      [ws, predictions, decision, signing] {
        return withOutbox(*ws, client::storeReview(*ws, predictions, decision, false, signing));
      },
      [this](const Outcome<Stored>& r) {
        storing_ = false;
        updateButtons();
        if (!r.value || (!r.value->result.approvedSet && !r.value->result.approvedSeg)) {
          w_.storeStatus->setText(tr("Not stored."));
          emit errorRaised(tr("Store: %1").arg(r.error));
          emit storeFinished(false);
          return;
        }
        const auto& result = r.value->result;
        // the structure set when there is one, else the Segmentation; both must be stored
        const bool segOnly = !result.approvedSet;
        const auto& set = segOnly ? *result.approvedSeg : *result.approvedSet;
        const bool stored = set.stored && (!result.approvedSeg || result.approvedSeg->stored);
        if (stored) {
          w_.storeStatus->setStyleSheet("color: #108010");
          w_.storeStatus->setText(
              tr("Stored on the PACS: %1 ROI(s), %2 %3%4%5%6")
                  .arg(set.rois)
                  .arg(set.contours)
                  .arg(segOnly ? tr("frame(s) (DICOM Segmentation)") : tr("contour(s)"))
                  .arg(!segOnly && result.approvedSeg ? tr(" and a DICOM Segmentation") : QString())
                  .arg(set.foundOnPacs ? tr(", found there by C-FIND") : QString())
                  .arg(set.signedBy.empty() ? QString() : tr(", signed by %1").arg(q(set.signedBy))));
        } else {
          const auto& failed = set.stored ? *result.approvedSeg : set;
          w_.storeStatus->setStyleSheet("color: #c06000; font-weight: bold");
          w_.storeStatus->setText(tr("⚠ The PACS did not store the set: it waits in the outbox (%1). Send the outbox "
                                     "when the PACS is back.")
                                      .arg(q(failed.storeError)));
        }
        predictions_.clear();  // stored, or kept in the outbox: not lost, not stored twice
        review_.reset({});
        fillProposalTable();
        emit overlaysChanged();
        if (stored) refreshStructureSets();
        showOutbox(r.value->outbox, r.value->outboxError);
        emit storeFinished(stored);
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
        for (auto& s :
             client::findStructureSets(ws->pacs(), series.studyInstanceUid, series.seriesInstanceUid, dir, true)) {
          StoredSetView v;
          // a damaged one is shown, never drawn
          if (s.damaged.empty() && s.modality == "SEG") {
            v.seg = seg::readSegmentation(s.file);
          } else if (s.damaged.empty()) {
            v.set = rtstruct::readStructureSet(s.file);
          }
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
        new QListWidgetItem(tr("%1 %2 by %3 on %4 %5 (%6 %7)")
                                .arg(q(i.label), q(i.approvalStatus), q(client::formatPersonName(i.reviewerName)),
                                     q(client::formatDate(i.reviewDate)), q(client::formatTime(i.reviewTime)))
                                .arg(i.roiNames.size())
                                .arg(i.modality == "SEG" ? tr("segment(s), DICOM Segmentation") : tr("ROI")));
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

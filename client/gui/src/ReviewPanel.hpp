#pragma once
// The review and what is stored: the proposals of the AI ROI runs (table, approve, reject,
// approve all), their overlays, storing the approved ones as an RT Structure Set
// (client::storeReview), the outbox (its label and Send outbox), and the structure sets already
// on the PACS for the open series (listed, drawn in their colours, hidden on request). The
// workstation's calls run in the thread pool; the outbox is read there too.

#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "SliceView.hpp"
#include "WorkstationHolder.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/seg/Segmentation.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/workflow/MaskEditor.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/StructureSets.hpp"

class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QToolButton;

namespace iodeep::gui {

class ReviewPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ReviewPanel(const WorkstationHolder& holder, QWidget* parent = nullptr);

  struct Widgets {
    QTableWidget* proposals{nullptr};
    QPushButton* approve{nullptr};
    QPushButton* reject{nullptr};
    QPushButton* approveAll{nullptr};
    QPushButton* store{nullptr};
    /// What the review is stored as: RT Structure Set, DICOM Segmentation, or both (docs/seg.md);
    /// the configuration's "result_format" first
    QComboBox* storeFormat{nullptr};
    QLabel* storeStatus{nullptr};
    QLabel* outbox{nullptr};
    QPushButton* flush{nullptr};
    QListWidget* storedSets{nullptr};
    // correcting a proposal, drawing a new ROI (docs/viewer.md, "Correcting")
    QPushButton* correct{nullptr};
    QPushButton* draw{nullptr};
    QComboBox* drawLabel{nullptr};
    QToolButton* brush{nullptr};
    QToolButton* eraser{nullptr};
    QSpinBox* radius{nullptr};
    QPushButton* undo{nullptr};
    QPushButton* redo{nullptr};
    QPushButton* done{nullptr};
    QPushButton* cancel{nullptr};
    QLabel* editStatus{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }
  [[nodiscard]] const std::vector<client::PredictResult>& predictions() const noexcept { return predictions_; }
  [[nodiscard]] const client::ReviewState& review() const noexcept { return review_; }

  /// A newly opened series: no proposals, its structure sets not listed yet.
  void setSeries(const client::SeriesInfo& series);
  /// An AI ROI run's proposals: all of them (@p replaceAll), or those of its slices replacing
  /// what those slices had.
  void accept(const std::vector<client::PredictResult>& results, bool replaceAll);
  /// While AI ROI runs, nothing is reviewed or stored.
  void setLocked(bool locked);
  /// What to draw on the slice @p sop (@p attributes: its geometry, for the stored sets).
  [[nodiscard]] std::vector<Overlay> overlaysFor(const std::string& sop, const iod::SliceAttributes* attributes) const;

  void setVerdictOfSelected(client::Verdict verdict);
  /// The slice on screen: a new ROI is drawn on it.
  void setCurrentSlice(const std::string& sopInstanceUid);
  /// Editing: the selected proposal's mask (C), or a new ROI of the chosen label on the current
  /// slice (D); brush (B) or eraser (E); radius ([ and ]); undo/redo; done (Enter) or cancel (Esc).
  void startCorrecting();
  void startDrawing();
  void setTool(bool brush);
  void changeRadius(int delta);
  void undoEdit();
  void redoEdit();
  void finishEditing();
  void cancelEditing();
  [[nodiscard]] bool editing() const noexcept { return editor_.active(); }
  [[nodiscard]] const client::MaskEditor& editor() const noexcept { return editor_; }
  /// The slice view's brush, in the slice's pixel coordinates (centres at whole numbers).
  void brushPressed(QPointF pixel);
  void brushMoved(QPointF pixel);
  void brushReleased();
  void approveAll();
  void store();
  void flushOutbox();
  void refreshOutbox();
  void refreshStructureSets();

 signals:
  void overlaysChanged();
  void proposalSelected(QString sopInstanceUid);  ///< its slice is to be shown
  void storeFinished(bool stored);                ///< false: the set waits in the outbox
  void outboxChanged(int waiting);
  void structureSetsListed(int count);
  void errorRaised(QString message);
  void errorCleared();
  /// Editing began or ended, or its tool or radius changed: the slice view's brush follows.
  void editingChanged(bool active, bool brush, double radius);

 private:
  struct StoredSetView {
    client::StructureSetOnPacs summary;
    rtstruct::StructureSetInfo set;            ///< an RT Structure Set
    std::optional<seg::SegmentationInfo> seg;  ///< a DICOM Segmentation instead
    bool visible{true};
  };
  void buildUi();
  void fillProposalTable();
  void updateButtons();
  void proposalRowSelected();
  void showOutbox(const std::optional<client::OutboxContents>& contents, const QString& error);
  void showStructureSets(std::vector<StoredSetView> sets);
  void storedSetToggled();
  void editChanged();
  void fillLabels();
  [[nodiscard]] int predictionOf(const std::string& sop) const;

  const WorkstationHolder& holder_;
  Widgets w_;
  std::optional<client::SeriesInfo> series_;
  std::vector<client::PredictResult> predictions_;
  client::ReviewState review_;
  std::vector<StoredSetView> storedSets_;
  bool locked_{false}, storing_{false};
  // the ROI being edited: a proposal (flat index) or a new one (label) on a prediction's slice
  client::MaskEditor editor_;
  std::optional<std::size_t> editedProposal_;
  std::size_t editedPrediction_{0};
  netparser::LabelSpec drawnLabel_;
  bool brushTool_{true};
  std::string currentSop_;
};

}  // namespace iodeep::gui

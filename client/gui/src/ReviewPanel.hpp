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
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/StructureSets.hpp"

class QLabel;
class QListWidget;
class QPushButton;
class QTableWidget;

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
    QLabel* storeStatus{nullptr};
    QLabel* outbox{nullptr};
    QPushButton* flush{nullptr};
    QListWidget* storedSets{nullptr};
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

 private:
  struct StoredSetView {
    client::StructureSetOnPacs summary;
    rtstruct::StructureSetInfo set;
    bool visible{true};
  };
  void buildUi();
  void fillProposalTable();
  void updateButtons();
  void proposalRowSelected();
  void showOutbox(const std::optional<client::OutboxContents>& contents, const QString& error);
  void showStructureSets(std::vector<StoredSetView> sets);
  void storedSetToggled();

  const WorkstationHolder& holder_;
  Widgets w_;
  std::optional<client::SeriesInfo> series_;
  std::vector<client::PredictResult> predictions_;
  client::ReviewState review_;
  std::vector<StoredSetView> storedSets_;
  bool locked_{false}, storing_{false};
};

}  // namespace iodeep::gui

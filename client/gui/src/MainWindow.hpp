#pragma once
// The viewer's window: connection, study and series browsing, the slice view with navigation,
// window/level and autoplay, AI ROI on a slice or a series, the review of each proposal, storing
// the approved ones, the outbox, and the structure sets already on the PACS. Every PACS, file,
// selection and inference step is a client-core call run off the UI thread (Background.hpp);
// the window keeps state and paints.

#include <QMainWindow>
#include <QPointer>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "iodeep/network/Query.hpp"
#include "iodeep/reports/Display.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/StructureSets.hpp"

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSortFilterProxyModel;
class QSpinBox;
class QStandardItemModel;
class QTableView;
class QTableWidget;
class QTimer;
class QToolButton;

namespace iodeep::gui {

class SliceView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(client::ClientConfig config, const QString& configProblem = {}, QWidget* parent = nullptr);
  ~MainWindow() override;
  MainWindow(const MainWindow&) = delete;
  MainWindow& operator=(const MainWindow&) = delete;

  /// The widgets, for the window's tests and the benchmark (they drive them as a user would).
  struct Widgets {
    QLabel* connection{nullptr};
    QLineEdit* studyFilter{nullptr};
    // what the PACS is asked for (C-FIND keys): patient name, patient ID, study dates
    QLineEdit* searchName{nullptr};
    QLineEdit* searchId{nullptr};
    QLineEdit* searchFrom{nullptr};
    QLineEdit* searchTo{nullptr};
    QPushButton* search{nullptr};
    QLabel* studiesNote{nullptr};
    QTableView* studies{nullptr};
    QTableWidget* series{nullptr};
    QProgressBar* openProgress{nullptr};
    QPushButton* cancelOpen{nullptr};
    SliceView* view{nullptr};
    QSlider* slider{nullptr};
    QLabel* sliceLabel{nullptr};
    QPushButton* previous{nullptr};
    QPushButton* next{nullptr};
    QPushButton* play{nullptr};
    QSpinBox* speed{nullptr};
    QComboBox* presets{nullptr};
    QPushButton* aiRoi{nullptr};
    QPushButton* aiRoiSeries{nullptr};
    QProgressBar* aiProgress{nullptr};
    QPushButton* cancelAi{nullptr};
    QLabel* network{nullptr};
    QPlainTextEdit* explanation{nullptr};
    QTableWidget* proposals{nullptr};
    QPushButton* approve{nullptr};
    QPushButton* reject{nullptr};
    QPushButton* approveAll{nullptr};
    QPushButton* store{nullptr};
    QLabel* storeStatus{nullptr};
    QLabel* outbox{nullptr};
    QPushButton* flush{nullptr};
    QListWidget* storedSets{nullptr};
    QLabel* error{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }
  [[nodiscard]] const client::ClientConfig& config() const noexcept { return config_; }
  [[nodiscard]] int currentSlice() const noexcept { return current_; }
  [[nodiscard]] int sliceCount() const noexcept { return static_cast<int>(instances_.size()); }
  [[nodiscard]] const std::vector<client::LocalInstance>& instances() const noexcept { return instances_; }
  [[nodiscard]] const std::vector<client::PredictResult>& predictions() const noexcept { return predictions_; }
  [[nodiscard]] const client::ReviewState& review() const noexcept { return review_; }
  [[nodiscard]] const client::WindowLevel& window() const noexcept { return window_; }
  /// The C-FIND keys of the search fields (prefix matching for name and ID, a date range): the
  /// PACS is asked with them, never for every study it holds.
  [[nodiscard]] client::StudyFilter studySearch() const;

 public slots:
  void checkConnection();
  void refreshStudies();
  void openSettings();
  void showSlice(int index);
  void runAiRoi();
  void runAiRoiOnSeries();
  void setVerdictOfSelected(client::Verdict verdict);
  void approveAllProposals();
  void storeReview();
  void flushOutbox();
  void refreshStructureSets();

 signals:
  void connectionChecked(bool ok);
  void studiesLoaded(int count);
  void seriesListed(int count);
  void seriesOpened(int count);
  void sliceShown(int index);
  void proposalsShown(int count);  ///< proposals drawn (or none found): AI ROI finished
  void aiRoiFailed(QString message);
  void storeFinished(bool stored);  ///< false: the set waits in the outbox
  void outboxChanged(int waiting);
  void structureSetsListed(int count);
  void errorShown(QString message);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildUi();
  void buildShortcuts();
  void applyConfig();
  void showError(const QString& message);
  void clearError();
  void studySelected();
  void seriesActivated(int row);
  void openSeries(const client::SeriesInfo& series);
  void stepSlice(int step);
  void togglePlay();
  void adjustWindow(int dx, int dy);
  void presetChosen(int index);
  void renderCurrent();
  void updateOverlays();
  void fillProposalTable();
  void proposalRowSelected();
  void updateOutboxLabel();
  void setAiBusy(bool busy, const QString& what = {});
  [[nodiscard]] std::shared_ptr<const iod::SliceImage> sliceAt(int index);
  void startAiRoi(const std::vector<std::filesystem::path>& files, bool wholeSeries);
  void acceptPredictions(std::vector<client::PredictResult> results, bool replaceAll);
  void storedSetToggled();
  [[nodiscard]] std::filesystem::path workParent() const;

  client::ClientConfig config_;
  Widgets w_;
  QStandardItemModel* studyModel_{nullptr};
  QSortFilterProxyModel* studyProxy_{nullptr};
  QTimer* playTimer_{nullptr};

  std::vector<client::StudyInfo> studies_;
  std::vector<client::SeriesInfo> series_;
  std::optional<client::SeriesInfo> openSeries_;
  std::vector<client::LocalInstance> instances_;
  int current_{-1};
  std::map<int, std::shared_ptr<const iod::SliceImage>> decoded_;  ///< a few slices around the current one
  client::WindowLevel window_;
  bool windowFromUser_{false};
  std::vector<client::WindowPreset> presets_;

  std::vector<client::PredictResult> predictions_;
  client::ReviewState review_;

  struct StoredSetView {
    client::StructureSetOnPacs summary;
    rtstruct::StructureSetInfo set;
    bool visible{true};
  };
  std::vector<StoredSetView> storedSets_;

  std::shared_ptr<std::atomic<bool>> openCancel_, aiCancel_;
  bool opening_{false}, aiBusy_{false}, storing_{false};
  std::uint64_t studiesRequest_{0}, seriesRequest_{0};  ///< only the latest answer is shown
};

}  // namespace iodeep::gui

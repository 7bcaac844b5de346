#pragma once
// The viewer's window: it assembles the parts and wires them. The toolbar (settings, connection
// check), the browser (StudyBrowser: studies, series, opening one), the slice viewer
// (SliceViewer: the slice, navigation, window/level, autoplay; slices decoded off the UI
// thread), AI ROI (AiRoiController) and the review with what is stored (ReviewPanel). One
// client::Workstation built from the configuration (WorkstationHolder) serves every core call;
// Settings replace it. Every PACS, file, selection and inference step runs off the UI thread
// (Background.hpp); the window keeps state and paints.

#include <QMainWindow>
#include <memory>
#include <vector>

#include "AiRoiController.hpp"
#include "ReviewPanel.hpp"
#include "SliceViewer.hpp"
#include "StudyBrowser.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/reports/Display.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTableView;
class QTableWidget;

namespace iodeep::gui {

class SliceView;
class WorkstationHolder;
struct OpenedSeries;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(client::ClientConfig config, const QString& configProblem = {}, QWidget* parent = nullptr);
  ~MainWindow() override;
  MainWindow(const MainWindow&) = delete;
  MainWindow& operator=(const MainWindow&) = delete;

  /// The widgets, for the window's tests and the benchmark (they drive them as a user would).
  struct Widgets : StudyBrowser::Widgets, SliceViewer::Widgets, AiRoiController::Widgets, ReviewPanel::Widgets {
    QLabel* connection{nullptr};
    QLabel* error{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }
  [[nodiscard]] const client::ClientConfig& config() const noexcept;
  /// The slice asked for last (stepping moves it at once; its image follows: sliceShown).
  [[nodiscard]] int currentSlice() const noexcept;
  [[nodiscard]] int sliceCount() const noexcept;
  [[nodiscard]] const std::vector<client::LocalInstance>& instances() const noexcept;
  [[nodiscard]] const std::vector<client::PredictResult>& predictions() const noexcept;
  [[nodiscard]] const client::ReviewState& review() const noexcept;
  /// The review's mask editor (the ROI being corrected or drawn).
  [[nodiscard]] const client::MaskEditor& reviewEditor() const noexcept;
  [[nodiscard]] const client::WindowLevel& window() const noexcept;
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
  void sliceShown(int index);      ///< the slice's image is displayed
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
  void wire();
  void applyConfig();
  void showError(const QString& message);
  void clearError();
  void showOpenedSeries(const OpenedSeries& opened);
  void showProposalSlice(const QString& sop);
  void predictionsReady(const std::vector<client::PredictResult>& results, bool wholeSeries);
  void updateOverlays();
  void cancelRunning();

  std::unique_ptr<WorkstationHolder> holder_;
  Widgets w_;
  StudyBrowser* browser_{nullptr};
  SliceViewer* viewer_{nullptr};
  AiRoiController* ai_{nullptr};
  ReviewPanel* review_{nullptr};
};

}  // namespace iodeep::gui

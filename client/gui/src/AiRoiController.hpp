#pragma once
// AI ROI: on the current slice or on every slice of the series. In the thread pool: the network
// selected on the first slice (client::selectForLocalSlices), made local from the workstation's
// model cache or the PACS (fetchSelectedModel), then the core's series prediction with progress
// and cancel. The panel shows what runs, which network was chosen and why (or why none matched).

#include <QWidget>
#include <atomic>
#include <filesystem>
#include <memory>
#include <vector>

#include "WorkstationHolder.hpp"
#include "iodeep/workflow/Predict.hpp"

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace iodeep::gui {

class AiRoiController : public QWidget {
  Q_OBJECT
 public:
  explicit AiRoiController(const WorkstationHolder& holder, QWidget* parent = nullptr);
  ~AiRoiController() override;
  AiRoiController(const AiRoiController&) = delete;
  AiRoiController& operator=(const AiRoiController&) = delete;

  struct Widgets {
    QPushButton* aiRoi{nullptr};
    QPushButton* aiRoiSeries{nullptr};
    QProgressBar* aiProgress{nullptr};
    QPushButton* cancelAi{nullptr};
    QLabel* network{nullptr};
    QPlainTextEdit* explanation{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }
  [[nodiscard]] bool busy() const noexcept { return busy_; }

  /// Selection on the first of @p files, then proposals on each of them (one slice, or the
  /// series with its progress shown). Nothing when a run is on.
  void run(const std::vector<std::filesystem::path>& files, bool wholeSeries);
  void cancel();

 signals:
  void runOnSliceRequested();   ///< the AI ROI button
  void runOnSeriesRequested();  ///< the AI ROI on the series button
  void busyChanged(bool busy);
  /// Proposals of a run that chose a network (@p wholeSeries: the slices with proposals only).
  void predictionsReady(const std::vector<iodeep::client::PredictResult>& results, bool wholeSeries);
  void nothingMatched();  ///< no network on the PACS matches: the reasons are shown
  void failed(QString message);
  void errorRaised(QString message);
  void errorCleared();

 private:
  void buildUi();
  void setBusy(bool busy, const QString& what = {});

  const WorkstationHolder& holder_;
  Widgets w_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool busy_{false};
};

}  // namespace iodeep::gui

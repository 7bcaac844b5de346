#pragma once
// The slice viewer: the current slice of the open series in a SliceView, stepping (buttons,
// slider, keys, wheel), autoplay, window/level by drag and presets. Slices are decoded and
// rendered in a thread pool of their own, a few around the current one kept and the next ones in
// the direction of travel fetched ahead; a result for a slice the user has moved away from is
// dropped. The current index changes at once; the image follows when it is decoded (sliceShown).

#include <QThread>
#include <QThreadPool>
#include <QWidget>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "Background.hpp"
#include "SliceData.hpp"
#include "SliceView.hpp"

class QComboBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QTimer;

namespace iodeep::gui {

class SliceViewer : public QWidget {
  Q_OBJECT
 public:
  explicit SliceViewer(QWidget* parent = nullptr);
  ~SliceViewer() override;
  SliceViewer(const SliceViewer&) = delete;
  SliceViewer& operator=(const SliceViewer&) = delete;

  struct Widgets {
    SliceView* view{nullptr};
    QSlider* slider{nullptr};
    QLabel* sliceLabel{nullptr};
    QPushButton* previous{nullptr};
    QPushButton* next{nullptr};
    QPushButton* play{nullptr};
    QSpinBox* speed{nullptr};
    QComboBox* presets{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }

  /// The slice asked for last (its image may still be decoding), or -1.
  [[nodiscard]] int current() const noexcept { return current_; }
  [[nodiscard]] int count() const noexcept { return static_cast<int>(instances_.size()); }
  [[nodiscard]] const std::vector<client::LocalInstance>& instances() const noexcept { return instances_; }
  [[nodiscard]] const client::WindowLevel& window() const noexcept { return window_; }
  /// The current slice's attributes; null when it cannot be read.
  [[nodiscard]] const iod::SliceAttributes* currentAttributes() const;

  /// A newly opened series: shown at its first slice (decoded already when the open decoded it).
  void setSeries(const OpenedSeries& opened);
  void showSlice(int index);
  void stepSlice(int step);
  void togglePlay();
  void stopPlay();
  void setOverlays(std::vector<Overlay> overlays);

 signals:
  void sliceChanged(int index);  ///< the current index moved (its overlays are due)
  void sliceShown(int index);    ///< the slice's image is displayed
  void errorRaised(QString message);

 private:
  using Decoded = std::shared_ptr<const DecodedSlice>;
  void buildUi();
  void request(int index);
  void arrived(int index, std::uint64_t generation, const Outcome<Decoded>& result);
  void prefetch();
  void evict();
  void display(int index, const Decoded& decoded);
  void renderShown();
  void adjustWindow(int dx, int dy);
  void presetChosen(int index);

  Widgets w_;
  QTimer* playTimer_{nullptr};
  QThreadPool pool_;  ///< slice decoding only: never waits behind the PACS or a network

  std::vector<client::LocalInstance> instances_;
  std::vector<std::optional<iod::SliceAttributes>> attributes_;
  int current_{-1};
  int direction_{1};     ///< of the last step: where to fetch ahead
  bool waiting_{false};  ///< the current slice is being decoded
  int shown_{-1};        ///< the slice whose image is displayed
  Decoded shownSlice_;
  std::map<int, Decoded> cache_;              ///< decoded slices around the current one
  std::set<int> pending_;                     ///< decodes started
  std::uint64_t generation_{0};               ///< the open series: results of an earlier one are dropped
  std::shared_ptr<std::atomic<int>> wanted_;  ///< the current index, for jobs not started yet
  client::WindowLevel window_;
  bool windowFromUser_{false};
  std::vector<client::WindowPreset> presets_;
};

}  // namespace iodeep::gui

#pragma once
// The browser: the PACS asked with the user's search (C-FIND keys), the studies it matched
// (filtered locally as one types), the series of the chosen study, and opening a series into the
// workstation's image cache with progress and cancel. Every PACS call runs in the thread pool.

#include <QWidget>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "SliceData.hpp"
#include "WorkstationHolder.hpp"
#include "iodeep/network/Query.hpp"

class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;
class QTableWidget;

namespace iodeep::gui {

class StudyBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit StudyBrowser(const WorkstationHolder& holder, QWidget* parent = nullptr);
  ~StudyBrowser() override;
  StudyBrowser(const StudyBrowser&) = delete;
  StudyBrowser& operator=(const StudyBrowser&) = delete;

  struct Widgets {
    QLineEdit* studyFilter{nullptr};
    QLineEdit* searchName{nullptr};
    QLineEdit* searchId{nullptr};
    QLineEdit* searchFrom{nullptr};
    QLineEdit* searchTo{nullptr};
    QPushButton* search{nullptr};
    QCheckBox* showNetworks{nullptr};  ///< list the networks' own studies (IODEEP MODELS) too
    QLabel* studiesNote{nullptr};
    QTableView* studies{nullptr};
    QTableWidget* series{nullptr};
    QProgressBar* openProgress{nullptr};
    QPushButton* cancelOpen{nullptr};
  };
  [[nodiscard]] const Widgets& widgets() const noexcept { return w_; }
  /// The C-FIND keys of the search fields (prefixes for name and ID, a date range).
  [[nodiscard]] client::StudyFilter studySearch() const;

  void refreshStudies();
  void cancelOpening();

 signals:
  void studiesLoaded(int count);
  void seriesListed(int count);
  void openingStarted();
  void seriesOpened(const iodeep::gui::OpenedSeries& opened);
  void openingFailed();  ///< cancelled, or the PACS failed (errorRaised says which)
  void errorRaised(QString message);
  void errorCleared();

 private:
  void buildUi();
  void fillStudies();
  void studySelected();
  void seriesActivated(int row);
  void open(const client::SeriesInfo& series);
  [[nodiscard]] std::shared_ptr<client::Workstation> workstation();

  const WorkstationHolder& holder_;
  Widgets w_;
  QStandardItemModel* studyModel_{nullptr};
  QSortFilterProxyModel* studyProxy_{nullptr};
  std::vector<client::StudyInfo> studies_;     ///< the rows shown
  std::vector<client::StudyInfo> allStudies_;  ///< what the PACS answered
  std::vector<client::SeriesInfo> series_;
  std::shared_ptr<std::atomic<bool>> openCancel_;
  bool opening_{false};
  std::uint64_t studiesRequest_{0}, seriesRequest_{0};  ///< only the latest answer is shown
};

}  // namespace iodeep::gui

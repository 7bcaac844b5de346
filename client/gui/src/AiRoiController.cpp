#include "AiRoiController.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>
#include <chrono>

#include "Background.hpp"
#include "GuiText.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/service/ServiceClient.hpp"
#include "iodeep/workflow/ModelFetch.hpp"
#include "iodeep/workflow/Selection.hpp"

namespace iodeep::gui {

namespace fs = std::filesystem;

namespace {

// What an AI ROI run brings back to the UI thread.
struct AiResult {
  std::string service;         ///< the inference service that selected and ran the network, or empty
  std::string serviceNetwork;  ///< its network ("name version")
  bool serviceMatched{true};
  std::string serviceSelection;  ///< its selection (JSON text)
  client::SelectionReport selection;
  std::optional<client::ModelFetch> model;
  std::vector<client::PredictResult> predictions;
  std::size_t slices{0};
  double ms{0};
};

}  // namespace

AiRoiController::AiRoiController(const WorkstationHolder& holder, QWidget* parent) : QWidget(parent), holder_(holder) {
  buildUi();
  setBusy(false);
}

AiRoiController::~AiRoiController() {
  cancel();
}

void AiRoiController::buildUi() {
  auto* sl = new QVBoxLayout(this);
  sl->setContentsMargins(0, 0, 0, 0);
  w_.aiRoi = new QPushButton(tr("AI ROI"));
  w_.aiRoi->setToolTip(tr("Propose ROIs on this slice (Ctrl+R)"));
  w_.aiRoi->setStyleSheet("font-weight: bold; padding: 6px");
  w_.aiRoiSeries = new QPushButton(tr("AI ROI on the series"));
  w_.aiRoiSeries->setToolTip(tr("Propose ROIs on every slice of the series (Ctrl+Shift+R)"));
  w_.aiProgress = new QProgressBar;
  w_.aiProgress->setVisible(false);
  w_.cancelAi = new QPushButton(tr("Cancel"));
  w_.cancelAi->setVisible(false);
  connect(w_.cancelAi, &QPushButton::clicked, this, &AiRoiController::cancel);
  connect(w_.aiRoi, &QPushButton::clicked, this, &AiRoiController::runOnSliceRequested);
  connect(w_.aiRoiSeries, &QPushButton::clicked, this, &AiRoiController::runOnSeriesRequested);
  auto* aiRow = new QHBoxLayout;
  aiRow->addWidget(w_.aiRoi, 1);
  aiRow->addWidget(w_.aiRoiSeries, 1);
  auto* aiProgressRow = new QHBoxLayout;
  aiProgressRow->addWidget(w_.aiProgress, 1);
  aiProgressRow->addWidget(w_.cancelAi);
  w_.network = new QLabel(tr("No network chosen yet."));
  w_.network->setWordWrap(true);
  w_.network->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);  // never squeezed below its text
  w_.explanation = new QPlainTextEdit;
  w_.explanation->setReadOnly(true);
  w_.explanation->setMaximumHeight(150);
  w_.explanation->setPlaceholderText(tr("Which network was chosen and why, or why none matched."));
  sl->addLayout(aiRow);
  sl->addLayout(aiProgressRow);
  sl->addWidget(w_.network);
  sl->addWidget(w_.explanation);
}

void AiRoiController::cancel() {
  if (cancel_) *cancel_ = true;
}

void AiRoiController::setBusy(bool busy, const QString& what) {
  busy_ = busy;
  w_.aiRoi->setEnabled(!busy);
  w_.aiRoiSeries->setEnabled(!busy);
  w_.aiProgress->setVisible(busy);
  w_.cancelAi->setVisible(busy);
  if (busy) {
    w_.aiProgress->setRange(0, 0);  // busy until a count is known
    w_.aiProgress->setFormat(what);
    w_.network->setText(what);
  }
  emit busyChanged(busy);
}

// Both flavours: selection on the first slice, the chosen network local (cache or PACS), then the
// core's series prediction over the slices (one slice or all), with progress and cancel.
void AiRoiController::run(const std::vector<fs::path>& files, bool wholeSeries) {
  if (busy_ || files.empty()) return;
  const auto ws = holder_.workstation();
  if (!ws || !holder_.problem().isEmpty()) {
    emit errorRaised(tr("Configuration: %1").arg(holder_.problem()));
    return;
  }
  emit errorCleared();
  setBusy(true, tr("Selecting a network…"));
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  const auto& config = ws->config();
  const auto parent = config.cacheDir.parent_path().empty() ? fs::temp_directory_path() : config.cacheDir.parent_path();
  auto cancel = cancel_;
  QPointer<AiRoiController> self(this);
  const auto say = [self](const QString& text) {
    postToUi(self, [self, text] {
      if (!self) return;
      self->w_.network->setText(text);
      self->w_.aiProgress->setFormat(text);
    });
  };
  runInBackground<AiResult>(
      this,
      [ws, files, parent, cancel, self, say, wholeSeries] {
        const auto t = std::chrono::steady_clock::now();
        AiResult r;
        if (!ws->config().inferenceService.url.empty()) {
          // the inference service selects and predicts; the review and the store stay here
          const service::ServiceClient service(service::clientOptionsFor(ws->config().inferenceService));
          r.service = service.options().url;
          say(QObject::tr("Asking the inference service…"));
          for (std::size_t i = 0; i < files.size(); ++i) {
            if (*cancel) throw Error(ErrorCode::Cancelled, "AI ROI cancelled");
            const auto a = iod::readSliceAttributes(files[i]);
            client::InstanceInfo slice;
            slice.studyInstanceUid = a.studyInstanceUid;
            slice.seriesInstanceUid = a.seriesInstanceUid;
            slice.sopInstanceUid = a.sopInstanceUid;
            auto p = service::predictViaService(service, slice, files[i], 0);
            if (!p.matched) {
              r.serviceMatched = false;
              r.serviceSelection = p.selection;
              return r;
            }
            if (i == 0) {
              r.serviceNetwork = p.result.dnnName + (p.result.dnnVersion.empty() ? "" : " " + p.result.dnnVersion);
              r.serviceSelection = p.selection;
            }
            ++r.slices;
            if (!p.result.proposals.empty() || !wholeSeries) r.predictions.push_back(std::move(p.result));
            if (wholeSeries) {
              postToUi(self, [self, done = i + 1, n = files.size()] {
                if (!self) return;
                self->w_.aiProgress->setRange(0, static_cast<int>(n));
                self->w_.aiProgress->setValue(static_cast<int>(done));
                self->w_.aiProgress->setFormat(QObject::tr("slice %v of %m"));
              });
            }
          }
          r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
          return r;
        }
        const iod::TemporaryDirectory work(parent, "viewer-");
        r.selection = client::selectForLocalSlices(*ws, {files.front()}, work.path());
        if (!r.selection.selection.matched()) return r;
        say(QObject::tr("Retrieving %1…")
                .arg(q(r.selection.models.at(*r.selection.selection.chosen).seriesDescription)));
        r.model = client::fetchSelectedModel(*ws, r.selection, work.path() / "model");
        if (!r.model) return r;  // every matching network refused for its content: no match, with reasons
        say(QObject::tr("Running %1…").arg(q(r.model->model.name)));
        client::SeriesPredictOptions so;  // slices decoded ahead of the network
        so.model = r.model->model.file;
        so.images = files;
        so.allowTorchScript = ws->config().allowTorchScript;
        so.modelVerified = true;
        so.engineMaxBytes = ws->config().engineMaxBytes;
        so.engine = &ws->engine();
        so.policy = ws->runPolicy(r.model->trust);
        so.onProgress = [self, cancel, wholeSeries](std::size_t done, std::size_t n) {
          if (wholeSeries) {
            postToUi(self, [self, done, n] {
              if (!self) return;
              self->w_.aiProgress->setRange(0, static_cast<int>(n));
              self->w_.aiProgress->setValue(static_cast<int>(done));
              self->w_.aiProgress->setFormat(QObject::tr("slice %v of %m"));
            });
          }
          return !*cancel;
        };
        auto series = client::predictSeries(so);
        r.slices = series.slices.size();
        for (auto& p : series.slices) {
          if (!p.proposals.empty() || !wholeSeries) r.predictions.push_back(std::move(p));
        }
        r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        return r;
      },
      [this, wholeSeries](Outcome<AiResult> r) {
        setBusy(false);
        if (!r.value) {
          const bool cancelled = r.code == ErrorCode::Cancelled;
          w_.network->setText(cancelled ? tr("AI ROI cancelled.") : tr("AI ROI failed."));
          if (!cancelled) emit errorRaised(tr("AI ROI: %1").arg(r.error));
          emit failed(r.error);
          return;
        }
        auto& result = *r.value;
        if (!result.service.empty()) {
          w_.explanation->setPlainText(tr("Selected and run by the inference service at %1.\n%2")
                                           .arg(q(result.service), q(result.serviceSelection)));
          if (!result.serviceMatched) {
            w_.network->setText(tr("No IODeep network on the PACS matches (the inference service's selection below)."));
            emit nothingMatched();
            return;
          }
          w_.network->setText(tr("%1 (inference service) on %2 slice(s) in %3 ms")
                                  .arg(q(result.serviceNetwork))
                                  .arg(result.slices)
                                  .arg(result.ms, 0, 'f', 0));
          emit predictionsReady(result.predictions, wholeSeries);
          return;
        }
        w_.explanation->setPlainText(q(result.selection.toText()));
        if (!result.selection.selection.matched()) {
          w_.network->setText(wholeSeries ? tr("No IODeep network on the PACS matches this series (reasons below).")
                                          : tr("No IODeep network on the PACS matches this slice (reasons below)."));
          emit nothingMatched();
          return;
        }
        const auto& m = result.model->model;
        w_.network->setText(tr("%1 %2 (%3) on %4 slice(s) in %5 ms")
                                .arg(q(m.name), q(m.version), result.model->fromCache ? tr("cached") : tr("retrieved"))
                                .arg(result.slices)
                                .arg(result.ms, 0, 'f', 0));
        emit predictionsReady(result.predictions, wholeSeries);
      });
}

}  // namespace iodeep::gui

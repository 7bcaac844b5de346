#include "SliceViewer.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "GuiText.hpp"

namespace iodeep::gui {

namespace {

constexpr int kKeep = 8;                // decoded slices kept on each side of the current one
constexpr int kAhead = 3;               // fetched ahead in the direction of travel (one behind)
constexpr std::size_t kMaxPending = 2;  // decodes in flight before more are fetched ahead
constexpr int kNotWanted = -1000000;    // no slice: what has not started is skipped

bool same(const client::WindowLevel& a, const client::WindowLevel& b) {
  return a.center == b.center && a.width == b.width;
}

}  // namespace

SliceViewer::SliceViewer(QWidget* parent) : QWidget(parent), wanted_(std::make_shared<std::atomic<int>>(-1)) {
  pool_.setMaxThreadCount(std::clamp(QThread::idealThreadCount(), 1, 2));
  buildUi();
}

SliceViewer::~SliceViewer() {
  wanted_->store(kNotWanted);
  pool_.waitForDone();
}

void SliceViewer::buildUi() {
  setObjectName("viewerArea");
  auto* cl = new QVBoxLayout(this);
  w_.view = new SliceView;
  connect(w_.view, &SliceView::windowDragged, this, &SliceViewer::adjustWindow);
  connect(w_.view, &SliceView::sliceStep, this, &SliceViewer::stepSlice);
  auto* nav = new QHBoxLayout;
  w_.previous = new QPushButton(tr("◀"));
  w_.previous->setToolTip(tr("Previous slice (Left, Up, wheel)"));
  w_.next = new QPushButton(tr("▶"));
  w_.next->setToolTip(tr("Next slice (Right, Down, wheel)"));
  w_.slider = new QSlider(Qt::Horizontal);
  w_.slider->setRange(0, 0);
  w_.sliceLabel = new QLabel(tr("no series"));
  w_.play = new QPushButton(tr("Play"));
  w_.play->setCheckable(true);
  w_.play->setToolTip(tr("Autoplay (Space)"));
  w_.speed = new QSpinBox;
  w_.speed->setRange(1, 30);
  w_.speed->setValue(8);
  w_.speed->setSuffix(tr(" fps"));
  w_.presets = new QComboBox;
  w_.presets->setToolTip(tr("Window presets (or drag with the left button)"));
  nav->addWidget(w_.previous);
  nav->addWidget(w_.slider, 1);
  nav->addWidget(w_.next);
  nav->addWidget(w_.sliceLabel);
  nav->addWidget(w_.play);
  nav->addWidget(w_.speed);
  nav->addWidget(w_.presets);
  cl->addWidget(w_.view, 1);
  cl->addLayout(nav);
  connect(w_.previous, &QPushButton::clicked, this, [this] { stepSlice(-1); });
  connect(w_.next, &QPushButton::clicked, this, [this] { stepSlice(1); });
  connect(w_.slider, &QSlider::valueChanged, this, &SliceViewer::showSlice);
  playTimer_ = new QTimer(this);
  connect(playTimer_, &QTimer::timeout, this, [this] {
    if (instances_.empty() || waiting_) return;  // the next frame once this one is on screen
    showSlice((current_ + 1) % static_cast<int>(instances_.size()));
  });
  connect(w_.play, &QPushButton::toggled, this, [this](bool on) {
    if (on && !instances_.empty()) {
      playTimer_->start(1000 / w_.speed->value());
      w_.play->setText(tr("Pause"));
    } else {
      playTimer_->stop();
      w_.play->setChecked(false);
      w_.play->setText(tr("Play"));
    }
  });
  connect(w_.speed, &QSpinBox::valueChanged, this, [this](int fps) {
    if (playTimer_->isActive()) playTimer_->start(1000 / fps);
  });
  connect(w_.presets, &QComboBox::activated, this, &SliceViewer::presetChosen);
}

const iod::SliceAttributes* SliceViewer::currentAttributes() const {
  if (current_ < 0) return nullptr;
  const auto& a = attributes_[static_cast<std::size_t>(current_)];
  if (a) return &*a;
  if (shown_ == current_ && shownSlice_) return &shownSlice_->slice->attributes;
  return nullptr;
}

void SliceViewer::setSeries(const OpenedSeries& opened) {
  ++generation_;
  wanted_->store(kNotWanted);  // the jobs of the series open before that have not started
  wanted_ = std::make_shared<std::atomic<int>>(opened.first);
  cache_.clear();
  pending_.clear();
  instances_ = opened.instances;
  attributes_ = opened.attributes;
  attributes_.resize(instances_.size());
  current_ = -1;
  shown_ = -1;
  shownSlice_.reset();
  waiting_ = false;
  direction_ = 1;
  windowFromUser_ = false;
  w_.slider->blockSignals(true);
  w_.slider->setRange(0, std::max(0, count() - 1));
  w_.slider->setValue(0);
  w_.slider->blockSignals(false);
  if (instances_.empty()) {
    w_.view->clearImage();
    w_.view->setOverlays({});
    w_.sliceLabel->setText(tr("no images"));
    return;
  }
  if (opened.firstSlice) cache_[opened.first] = opened.firstSlice;
  showSlice(opened.first);
}

void SliceViewer::showSlice(int index) {
  if (instances_.empty()) return;
  index = std::clamp(index, 0, count() - 1);
  if (current_ >= 0 && index != current_) direction_ = index > current_ ? 1 : -1;
  current_ = index;
  wanted_->store(index);
  evict();
  w_.slider->blockSignals(true);
  w_.slider->setValue(index);
  w_.slider->blockSignals(false);
  w_.sliceLabel->setText(tr("%1 / %2").arg(index + 1).arg(count()));
  emit sliceChanged(index);
  if (const auto it = cache_.find(index); it != cache_.end()) {
    display(index, it->second);
  } else {
    waiting_ = true;
    w_.view->setPending(tr("Decoding slice %1…").arg(index + 1));  // never this slice's ROIs on another's pixels
    request(index);
  }
  prefetch();
}

void SliceViewer::stepSlice(int step) {
  if (instances_.empty()) return;
  showSlice(std::clamp(current_ + step, 0, count() - 1));
}

void SliceViewer::togglePlay() {
  w_.play->setChecked(!w_.play->isChecked());
}

void SliceViewer::stopPlay() {
  if (playTimer_->isActive()) w_.play->setChecked(false);
}

void SliceViewer::setOverlays(std::vector<Overlay> overlays) {
  w_.view->setOverlays(std::move(overlays));
}

// ---- decoding in the pool -----------------------------------------------------------------------

void SliceViewer::request(int index) {
  if (pending_.contains(index)) return;
  pending_.insert(index);
  const auto file = instances_[static_cast<std::size_t>(index)].file;
  const auto window = windowFromUser_ ? std::optional(window_) : std::nullopt;
  const auto wanted = wanted_;
  const auto generation = generation_;
  runInBackground<Decoded>(
      this, &pool_,
      [file, window, wanted, index]() -> Decoded {
        if (std::abs(index - wanted->load()) > kKeep) return nullptr;  // moved on before it started
        return decodeForDisplay(file, window);
      },
      [this, index, generation](const Outcome<Decoded>& r) { arrived(index, generation, r); });
}

void SliceViewer::arrived(int index, std::uint64_t generation, const Outcome<Decoded>& result) {
  if (generation != generation_) return;  // a slice of the series open before
  pending_.erase(index);
  if (!result.value) {
    if (index == current_) {
      waiting_ = false;
      w_.view->setPending(tr("Slice %1 cannot be shown: %2").arg(index + 1).arg(result.error));
      emit errorRaised(tr("Slice %1: %2").arg(index + 1).arg(result.error));
    }
    return;
  }
  const auto& decoded = *result.value;
  if (!decoded) {  // skipped when it was far from the current slice: wanted again since?
    if (index == current_) request(index);
    return;
  }
  if (std::abs(index - current_) > kKeep) return;  // the user has moved on: dropped
  cache_[index] = decoded;
  if (index == current_) display(index, decoded);
  prefetch();
}

void SliceViewer::prefetch() {
  if (current_ < 0) return;
  for (const int k : {1, 2, kAhead, -1}) {
    if (pending_.size() >= kMaxPending) return;
    const int i = current_ + direction_ * k;
    if (i < 0 || i >= count() || cache_.contains(i) || pending_.contains(i)) continue;
    request(i);
  }
}

void SliceViewer::evict() {
  std::erase_if(cache_, [this](const auto& e) { return std::abs(e.first - current_) > kKeep; });
}

// ---- on screen ----------------------------------------------------------------------------------

void SliceViewer::display(int index, const Decoded& decoded) {
  waiting_ = false;
  shown_ = index;
  shownSlice_ = decoded;
  if (!windowFromUser_) window_ = decoded->initialWindow;
  presets_ = decoded->presets;
  w_.presets->blockSignals(true);
  w_.presets->clear();
  w_.presets->addItem(tr("Window…"));
  for (const auto& p : presets_) {
    w_.presets->addItem(QString("%1 (%2/%3)").arg(q(p.name)).arg(p.window.center).arg(p.window.width));
  }
  w_.presets->blockSignals(false);
  const auto& a = decoded->slice->attributes;
  std::vector<std::pair<QString, QString>> patient;
  std::vector<std::pair<QString, QString>> clinical;
  for (const auto& [k, v] : client::patientBlock(a)) patient.emplace_back(q(k), q(v));
  for (const auto& [k, v] : client::clinicalBlock(a)) clinical.emplace_back(q(k), q(v));
  w_.view->setInformation(std::move(patient), std::move(clinical));
  const auto edges = client::orientationLabels(a);
  w_.view->setOrientation(q(edges.left), q(edges.right), q(edges.top), q(edges.bottom));
  renderShown();
  emit sliceShown(index);
}

void SliceViewer::renderShown() {
  if (!shownSlice_) return;
  // rendered in the pool through the window of the time; a window changed since: here (no decode)
  w_.view->setImage(same(shownSlice_->renderedWith, window_)
                        ? shownSlice_->image
                        : toQImage(client::renderForDisplay(*shownSlice_->slice, window_)));
  // a window changed while the current slice decodes: still not shown
  if (shown_ != current_) w_.view->setPending(tr("Decoding slice %1…").arg(current_ + 1));
  w_.view->setStatusText(tr("Image %1 / %2   W %3  L %4   zoom %5%")
                             .arg(shown_ + 1)
                             .arg(count())
                             .arg(window_.width, 0, 'f', 0)
                             .arg(window_.center, 0, 'f', 0)
                             .arg(std::lround(w_.view->zoom() * 100)));
}

void SliceViewer::adjustWindow(int dx, int dy) {
  if (!shownSlice_) return;
  const double step = std::max(1.0, window_.width / 256.0);
  window_.width = std::max(1.0, window_.width + dx * step);
  window_.center += dy * step;
  windowFromUser_ = true;
  renderShown();
}

void SliceViewer::presetChosen(int index) {
  if (index <= 0 || index > static_cast<int>(presets_.size())) return;
  window_ = presets_[static_cast<std::size_t>(index - 1)].window;
  windowFromUser_ = true;
  renderShown();
}

}  // namespace iodeep::gui

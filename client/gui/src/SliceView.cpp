#include "SliceView.hpp"

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

namespace iodeep::gui {

SliceView::SliceView(QWidget* parent) : QWidget(parent) {
  setMinimumSize(320, 320);
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(false);
  setAutoFillBackground(false);
  setAccessibleName("slice view");
}

void SliceView::setImage(QImage image) {
  const bool sameSize = !image_.isNull() && image.size() == image_.size();
  image_ = std::move(image);
  pending_.clear();
  if (!sameSize) fit();
  update();
}

void SliceView::setPending(QString message) {
  if (pending_ == message) return;
  pending_ = std::move(message);
  update();
}

void SliceView::clearImage() {
  image_ = QImage();
  pending_.clear();
  overlays_.clear();
  patient_.clear();
  clinical_.clear();
  left_ = right_ = top_ = bottom_ = status_ = QString();
  update();
}

void SliceView::setOverlays(std::vector<Overlay> overlays) {
  overlays_ = std::move(overlays);
  update();
}

void SliceView::setInformation(std::vector<std::pair<QString, QString>> patient,
                               std::vector<std::pair<QString, QString>> clinical) {
  patient_ = std::move(patient);
  clinical_ = std::move(clinical);
  update();
}

void SliceView::setOrientation(QString left, QString right, QString top, QString bottom) {
  left_ = std::move(left);
  right_ = std::move(right);
  top_ = std::move(top);
  bottom_ = std::move(bottom);
  update();
}

void SliceView::setStatusText(QString text) {
  status_ = std::move(text);
  update();
}

void SliceView::fit() {
  fitted_ = true;
  pan_ = {0, 0};
  if (image_.isNull() || image_.width() == 0 || image_.height() == 0) {
    zoom_ = 1.0;
    return;
  }
  zoom_ = std::min(static_cast<double>(width()) / image_.width(), static_cast<double>(height()) / image_.height());
  update();
}

void SliceView::setZoom(double zoom) {
  zoom_ = std::clamp(zoom, 0.05, 40.0);
  fitted_ = false;
  update();
}

QTransform SliceView::imageToWidget() const {
  QTransform t;
  t.translate(width() / 2.0 + pan_.x(), height() / 2.0 + pan_.y());
  t.scale(zoom_, zoom_);
  t.translate(-image_.width() / 2.0, -image_.height() / 2.0);
  return t;
}

void SliceView::paintEvent(QPaintEvent* /*event*/) {
  QPainter p(this);
  p.fillRect(rect(), Qt::black);
  if (image_.isNull()) {
    p.setPen(QColor(160, 160, 160));
    p.drawText(rect(), Qt::AlignCenter, tr("Open a series to read its slices"));
    return;
  }
  if (!pending_.isEmpty()) {  // the slice shown is not the current one: nothing of it, nor its ROIs
    p.setPen(QColor(160, 160, 160));
    p.drawText(rect(), Qt::AlignCenter, pending_);
    return;
  }
  const QTransform t = imageToWidget();
  p.save();
  p.setTransform(t);
  p.setRenderHint(QPainter::SmoothPixmapTransform, zoom_ < 1.0);
  p.drawImage(QPointF(0, 0), image_);
  p.restore();

  // ROIs: ring points are pixel-edge coordinates (a pixel's centre is at +0.5)
  p.setRenderHint(QPainter::Antialiasing, true);
  for (const auto& o : overlays_) {
    QPainterPath path;
    path.setFillRule(Qt::OddEvenFill);
    for (const auto& ring : o.rings) {
      if (ring.points.empty()) continue;
      QPolygonF poly;
      for (const auto& pt : ring.points) poly << QPointF(pt.column + 0.5, pt.row + 0.5);
      poly << poly.front();
      path.addPolygon(poly);
    }
    const QPainterPath onScreen = t.map(path);
    QColor fill = o.color;
    fill.setAlpha(45);
    p.fillPath(onScreen, fill);
    p.setPen(QPen(o.color, o.emphasised ? 3.0 : 1.8));
    p.drawPath(onScreen);
    if (!o.label.isEmpty()) {
      const QRectF box = onScreen.boundingRect();
      p.setPen(o.color);
      p.drawText(QPointF(box.right() + 4, box.top() + 12), o.label);
    }
  }
  if (brush_ && cursor_) {  // the brush: its size on the slice
    const double r = brushRadius_ * zoom_;
    p.setPen(QPen(QColor(255, 210, 0), 1.2));
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(*cursor_, r, r);
  }
  p.setRenderHint(QPainter::Antialiasing, false);

  drawBlock(p, patient_, false);
  drawBlock(p, clinical_, true);
  const QFontMetrics fm(font());
  p.setPen(QColor(255, 220, 120));
  p.drawText(QRect(0, 0, width(), height()).adjusted(6, 0, -6, 0), Qt::AlignLeft | Qt::AlignVCenter, left_);
  p.drawText(QRect(0, 0, width(), height()).adjusted(6, 0, -6, 0), Qt::AlignRight | Qt::AlignVCenter, right_);
  p.drawText(QRect(0, 4, width(), height()), Qt::AlignHCenter | Qt::AlignTop, top_);
  p.drawText(QRect(0, 0, width(), height() - 4), Qt::AlignHCenter | Qt::AlignBottom, bottom_);
  p.setPen(QColor(220, 220, 220));
  p.drawText(QRect(6, 0, width() / 2, height() - 4), Qt::AlignLeft | Qt::AlignBottom, status_);
}

void SliceView::drawBlock(QPainter& p, const std::vector<std::pair<QString, QString>>& lines, bool right) {
  const QFontMetrics fm(font());
  int y = 4 + fm.ascent();
  p.setPen(QColor(230, 230, 230));
  for (const auto& [label, value] : lines) {
    if (value.isEmpty()) continue;
    const QString text = right ? value + "  " + label : label + "  " + value;
    const int x = right ? width() - 6 - fm.horizontalAdvance(text) : 6;
    p.drawText(x, y, text);
    y += fm.height();
  }
}

void SliceView::setBrush(bool on, double radius) {
  brush_ = on;
  brushRadius_ = radius;
  setMouseTracking(on);
  setCursor(on ? Qt::CrossCursor : Qt::ArrowCursor);
  if (!on) cursor_.reset();
  if (!on && drag_ == Drag::Brush) drag_ = Drag::None;
  update();
}

QPointF SliceView::toPixel(QPointF widgetPosition) const {
  const QPointF image = imageToWidget().inverted().map(widgetPosition);
  return image - QPointF(0.5, 0.5);  // image coordinates put pixel centres at +0.5
}

QPointF SliceView::fromPixel(QPointF pixel) const {
  return imageToWidget().map(pixel + QPointF(0.5, 0.5));
}

void SliceView::leaveEvent(QEvent* /*event*/) {
  cursor_.reset();
  update();
}

void SliceView::mousePressEvent(QMouseEvent* event) {
  last_ = event->pos();
  if (brush_ && event->button() == Qt::LeftButton && !(event->modifiers() & Qt::ShiftModifier)) {
    drag_ = Drag::Brush;
    emit brushPressed(toPixel(event->position()));
    return;
  }
  if (event->button() == Qt::RightButton || event->button() == Qt::MiddleButton ||
      (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier))) {
    drag_ = Drag::Pan;
  } else if (event->button() == Qt::LeftButton) {
    drag_ = Drag::Window;
  }
}

void SliceView::mouseMoveEvent(QMouseEvent* event) {
  const QPoint d = event->pos() - last_;
  last_ = event->pos();
  if (brush_) {
    cursor_ = event->position();
    update();
  }
  if (drag_ == Drag::Brush) {
    emit brushMoved(toPixel(event->position()));
  } else if (drag_ == Drag::Window) {
    emit windowDragged(d.x(), d.y());
  } else if (drag_ == Drag::Pan) {
    pan_ += QPointF(d);
    fitted_ = false;
    update();
  }
}

void SliceView::mouseReleaseEvent(QMouseEvent* /*event*/) {
  if (drag_ == Drag::Brush) emit brushReleased();
  drag_ = Drag::None;
}

void SliceView::mouseDoubleClickEvent(QMouseEvent* /*event*/) {
  fit();
}

void SliceView::wheelEvent(QWheelEvent* event) {
  const int steps = event->angleDelta().y() / 120;
  if (steps == 0) return;
  if (event->modifiers() & Qt::ControlModifier) {
    setZoom(zoom_ * std::pow(1.15, steps));
  } else {
    emit sliceStep(steps > 0 ? -1 : 1);  // wheel away: previous slice, as PACS viewers do
  }
  event->accept();
}

void SliceView::resizeEvent(QResizeEvent* /*event*/) {
  if (fitted_) fit();
}

}  // namespace iodeep::gui

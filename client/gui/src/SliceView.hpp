#pragma once
// The slice on screen: the display image from the core (already windowed), zoom and pan, the ROI
// overlays (proposals red, approved green, stored sets in their own colour), the two information
// blocks and the orientation labels. Mouse: left drag = window/level, right drag or Shift+left =
// pan, Ctrl+wheel = zoom, wheel = next/previous slice; double click = fit. While editing (setBrush)
// a left drag paints instead, and a circle of the brush's size follows the mouse.

#include <QImage>
#include <QPainterPath>
#include <QString>
#include <QWidget>
#include <optional>
#include <utility>
#include <vector>

#include "iodeep/iod/Polygon.hpp"

namespace iodeep::gui {

/// One ROI drawn on the slice: rings in pixel-edge coordinates (outer rings and holes, even-odd).
struct Overlay {
  std::vector<iod::Ring> rings;
  QColor color;
  QString label;           ///< drawn beside the ROI
  bool emphasised{false};  ///< the selected proposal: thicker outline
};

class SliceView : public QWidget {
  Q_OBJECT
 public:
  explicit SliceView(QWidget* parent = nullptr);

  void setImage(QImage image);  ///< keeps zoom and pan when the size is unchanged
  void clearImage();
  /// While the current slice is being decoded (or could not be): @p message instead of the
  /// image, and nothing of the previous slice painted (no ROI over another slice's pixels); zoom
  /// and pan are kept. An empty message, or setImage, ends it.
  void setPending(QString message);
  [[nodiscard]] bool pending() const noexcept { return !pending_.isEmpty(); }
  void setOverlays(std::vector<Overlay> overlays);
  void setInformation(std::vector<std::pair<QString, QString>> patient,
                      std::vector<std::pair<QString, QString>> clinical);
  void setOrientation(QString left, QString right, QString top, QString bottom);
  void setStatusText(QString text);  ///< bottom left: slice, window, zoom

  void fit();
  [[nodiscard]] double zoom() const noexcept { return zoom_; }
  void setZoom(double zoom);
  [[nodiscard]] const std::vector<Overlay>& overlays() const noexcept { return overlays_; }
  [[nodiscard]] bool hasImage() const noexcept { return !image_.isNull(); }
  /// Editing on: a left drag paints (brushPressed, brushMoved, brushReleased) and a circle of
  /// @p radius slice pixels follows the mouse; off: a left drag sets the window again.
  void setBrush(bool on, double radius);
  [[nodiscard]] bool brushOn() const noexcept { return brush_; }
  /// A widget position in the slice's pixel coordinates (pixel centres at whole numbers).
  [[nodiscard]] QPointF toPixel(QPointF widgetPosition) const;
  /// The widget position of the slice's pixel coordinates @p pixel (toPixel's inverse).
  [[nodiscard]] QPointF fromPixel(QPointF pixel) const;

 signals:
  /// A left drag changed the window: @p dx, @p dy in screen pixels since the last event.
  void windowDragged(int dx, int dy);
  void sliceStep(int step);          ///< wheel: +1 next, -1 previous
  void brushPressed(QPointF pixel);  ///< the slice's pixel coordinates
  void brushMoved(QPointF pixel);
  void brushReleased();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  [[nodiscard]] QTransform imageToWidget() const;
  void drawBlock(QPainter& p, const std::vector<std::pair<QString, QString>>& lines, bool right);

  QImage image_;
  std::vector<Overlay> overlays_;
  std::vector<std::pair<QString, QString>> patient_, clinical_;
  QString left_, right_, top_, bottom_, status_;
  double zoom_{1.0};
  QPointF pan_{0, 0};
  bool fitted_{true};
  enum class Drag { None, Window, Pan, Brush } drag_{Drag::None};
  bool brush_{false};
  double brushRadius_{4.0};
  std::optional<QPointF> cursor_;  ///< where the brush circle is drawn (widget coordinates)
  QPoint last_;
  QString pending_;
};

}  // namespace iodeep::gui

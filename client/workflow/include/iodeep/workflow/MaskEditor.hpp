#pragma once
/// @file MaskEditor.hpp
/// Editing one ROI's mask at the slice's pixel grid, as the viewer's brush and eraser do (and a
/// test without a screen): round brush strokes that add or remove, one undo step per stroke,
/// undo and redo. Toolkit-free; the widget turns mouse events into these calls (docs/viewer.md).

#include <cstddef>
#include <vector>

#include "iodeep/workflow/Masks.hpp"

namespace iodeep::client {

class MaskEditor {
 public:
  /// Starts editing @p start (a proposal's mask, or an empty one for a new ROI); the history is
  /// cleared.
  void begin(Mask start);
  [[nodiscard]] bool active() const noexcept { return active_; }
  void end();

  /// A stroke: pixels whose centres lie within @p radius pixels of the segment from the stroke's
  /// last point to (@p column, @p row) (pixel coordinates, centres at whole numbers) are set
  /// (@p add) or cleared. The first point of a stroke paints a disc. One stroke is one undo step.
  void beginStroke(double column, double row, double radius, bool add);
  void continueStroke(double column, double row);
  void endStroke();
  [[nodiscard]] bool stroking() const noexcept { return stroking_; }

  bool undo();
  bool redo();
  [[nodiscard]] bool canUndo() const noexcept { return !undo_.empty(); }
  [[nodiscard]] bool canRedo() const noexcept { return !redo_.empty(); }

  [[nodiscard]] const Mask& mask() const noexcept { return mask_; }
  /// The mask differs from the one editing began with.
  [[nodiscard]] bool changed() const noexcept { return mask_ != start_; }

 private:
  void disc(double column, double row);

  bool active_{false}, stroking_{false}, add_{true};
  double radius_{1.0}, lastColumn_{0}, lastRow_{0};
  Mask mask_, start_;
  std::vector<Mask> undo_, redo_;  // masks before each stroke / before each undo
};

}  // namespace iodeep::client

// Brush and eraser strokes on a mask, with undo and redo.
#include "iodeep/workflow/MaskEditor.hpp"

#include <algorithm>
#include <cmath>

namespace iodeep::client {

namespace {
// Strokes kept for undo: a 512 x 512 mask is 256 KB, so at most 25 MB.
constexpr std::size_t kMaxUndo = 100;
}  // namespace

void MaskEditor::begin(Mask start) {
  mask_ = start;
  start_ = std::move(start);
  undo_.clear();
  redo_.clear();
  stroking_ = false;
  active_ = true;
}

void MaskEditor::end() {
  active_ = false;
  stroking_ = false;
  undo_.clear();
  redo_.clear();
}

void MaskEditor::disc(double column, double row) {
  const double r = std::max(radius_, 0.5);
  const auto r0 = static_cast<long>(std::ceil(row - r));
  const auto r1 = static_cast<long>(std::floor(row + r));
  const auto c0 = static_cast<long>(std::ceil(column - r));
  const auto c1 = static_cast<long>(std::floor(column + r));
  for (long y = std::max(0L, r0); y <= std::min(static_cast<long>(mask_.rows) - 1, r1); ++y) {
    for (long x = std::max(0L, c0); x <= std::min(static_cast<long>(mask_.columns) - 1, c1); ++x) {
      const double dy = static_cast<double>(y) - row;
      const double dx = static_cast<double>(x) - column;
      if (dx * dx + dy * dy <= r * r) {
        mask_.values[static_cast<std::size_t>(y) * mask_.columns + static_cast<std::size_t>(x)] = add_ ? 1 : 0;
      }
    }
  }
}

void MaskEditor::beginStroke(double column, double row, double radius, bool add) {
  if (!active_) return;
  if (stroking_) endStroke();
  undo_.push_back(mask_);
  if (undo_.size() > kMaxUndo) undo_.erase(undo_.begin());
  redo_.clear();
  stroking_ = true;
  add_ = add;
  radius_ = radius;
  lastColumn_ = column;
  lastRow_ = row;
  disc(column, row);
}

void MaskEditor::continueStroke(double column, double row) {
  if (!stroking_) return;
  // discs along the segment, at most half a pixel apart: no gaps when the mouse moves fast
  const double length = std::hypot(column - lastColumn_, row - lastRow_);
  const auto steps = static_cast<int>(std::ceil(length / 0.5));
  for (int s = 1; s <= steps; ++s) {
    const double t = static_cast<double>(s) / steps;
    disc(lastColumn_ + t * (column - lastColumn_), lastRow_ + t * (row - lastRow_));
  }
  lastColumn_ = column;
  lastRow_ = row;
}

void MaskEditor::endStroke() {
  if (!stroking_) return;
  stroking_ = false;
  if (!undo_.empty() && undo_.back() == mask_) undo_.pop_back();  // a stroke that changed nothing
}

bool MaskEditor::undo() {
  if (stroking_) endStroke();
  if (undo_.empty()) return false;
  redo_.push_back(std::move(mask_));
  mask_ = std::move(undo_.back());
  undo_.pop_back();
  return true;
}

bool MaskEditor::redo() {
  if (stroking_) endStroke();
  if (redo_.empty()) return false;
  undo_.push_back(std::move(mask_));
  mask_ = std::move(redo_.back());
  redo_.pop_back();
  return true;
}

}  // namespace iodeep::client

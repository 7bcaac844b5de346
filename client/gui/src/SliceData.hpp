#pragma once
// What the background jobs of the slice viewer and the study browser hand to the UI thread: a
// slice decoded and rendered for display, and an opened series (its local instances, their
// attributes, the slice it opens at, already decoded). Built in Qt's thread pool: the UI thread
// never decodes.

#include <QImage>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/reports/Display.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::gui {

/// A decoded slice, ready to paint: its window and presets, and its image through a window.
struct DecodedSlice {
  std::shared_ptr<const iod::SliceImage> slice;
  client::WindowLevel initialWindow;  ///< client::initialWindow
  std::vector<client::WindowPreset> presets;
  QImage image;  ///< rendered through renderedWith
  client::WindowLevel renderedWith;
};

/// An 8-bit display image as a QImage that owns its pixels.
[[nodiscard]] QImage toQImage(const client::DisplayImage& d);

/// Decodes @p file (iod::readSlice) and renders it through @p window, or through its own initial
/// window when none is given. Throws iodeep::Error. For a background thread.
[[nodiscard]] std::shared_ptr<const DecodedSlice> decodeForDisplay(const std::filesystem::path& file,
                                                                   const std::optional<client::WindowLevel>& window);

/// A series opened into the image cache.
struct OpenedSeries {
  client::SeriesInfo series;
  std::vector<client::LocalInstance> instances;  ///< display order
  /// Each instance's attributes (no pixels read); empty for a file that cannot be read, which
  /// says why when it is shown.
  std::vector<std::optional<iod::SliceAttributes>> attributes;
  int first{0};                                    ///< the slice it opens at: the middle of the volume
  std::shared_ptr<const DecodedSlice> firstSlice;  ///< null when it did not decode
};

/// Opens @p series into @p ws's image cache (ImageCache::openSeries, @p onProgress as there),
/// then reads each instance's attributes and decodes the first slice. Throws as openSeries.
[[nodiscard]] OpenedSeries openSeries(client::Workstation& ws, const client::SeriesInfo& series,
                                      const client::SeriesProgressHandler& onProgress);

}  // namespace iodeep::gui

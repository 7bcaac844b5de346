#pragma once
/// @file SegmentationReport.hpp
/// What `iodeep seg show` prints: a DICOM Segmentation's segments, their frames per referenced
/// image with pixel counts, the approval and the proposing network.

#include <filesystem>
#include <string>

#include "iodeep/seg/Segmentation.hpp"

namespace iodeep::client {

struct SegmentationReport {
  std::filesystem::path path;
  seg::SegmentationInfo seg;

  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Reads @p path (any binary or fractional Segmentation). Throws what seg::readSegmentation throws.
[[nodiscard]] SegmentationReport showSegmentation(const std::filesystem::path& path);

}  // namespace iodeep::client

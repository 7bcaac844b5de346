#pragma once
/// @file StructureSetReport.hpp
/// What `iodeep rtstruct show` prints (and the viewer lists): an RT Structure Set's ROIs, their
/// contours per image, the approval and the proposing network.

#include <filesystem>
#include <string>

#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::client {

struct StructureSetReport {
  std::filesystem::path path;
  rtstruct::StructureSetInfo set;

  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Reads @p path (any RT Structure Set). Throws what rtstruct::readStructureSet throws.
[[nodiscard]] StructureSetReport showStructureSet(const std::filesystem::path& path);

}  // namespace iodeep::client

#pragma once
/// @file StructureSetReport.hpp
/// What `iodeep rtstruct show` prints (and the viewer lists): an RT Structure Set's ROIs, their
/// contours per image, the approval and the proposing network.

#include <filesystem>
#include <optional>
#include <string>

#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/trust/Signing.hpp"

namespace iodeep::client {

struct StructureSetReport {
  std::filesystem::path path;
  rtstruct::StructureSetInfo set;
  /// Who signed the approval (every top-level signature, verified), and the trust decision when
  /// anchors were given.
  SignatureCheck signatures;

  /// No signature is broken or partial and, when trust was asked, the set is trusted.
  [[nodiscard]] bool ok() const noexcept { return signatures.ok(); }
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Reads @p path (any RT Structure Set) and verifies its signatures; with @p trust, decides
/// whether it is trusted. Throws what rtstruct::readStructureSet throws, and what
/// client::checkSignatures throws (a damaged signature sequence: SignatureInvalid).
[[nodiscard]] StructureSetReport showStructureSet(const std::filesystem::path& path,
                                                  const std::optional<iod::TrustAnchors>& trust = std::nullopt);

}  // namespace iodeep::client

#pragma once
// The rules of an IODeep object that writing it (IodeepObject.cpp) and reading and verifying it
// (IodeepReader.cpp) share. Private to iod/src: names DCMTK types.

#include <dcmtk/dcmdata/dctk.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/IodeepObject.hpp"

namespace iodeep::iod::detail {

/// The element at @p offset in the private block reserved at (0017,00xx), xx = @p creatorElement.
[[nodiscard]] DcmTagKey privateTag(std::uint16_t creatorElement, std::uint8_t offset);

/// Whether @p pi is a PhotometricInterpretation for @p spp samples per pixel.
[[nodiscard]] bool validPhotometric(std::uint16_t spp, std::string_view pi);

/// Problems with the object's identifying UIDs; the writer refuses them, verifyIodeep reports them.
[[nodiscard]] std::vector<std::string> uidProblems(const IodeepModel& m);

/// The DnnUID of a network from its canonical architecture JSON and the weights' SHA-256.
[[nodiscard]] std::string dnnUidFromCanonical(const std::string& canonical, std::string_view weightsSha256Hex);

}  // namespace iodeep::iod::detail

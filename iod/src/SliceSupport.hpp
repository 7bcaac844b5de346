#pragma once
// What the slice files share (Slice.cpp reads attributes, SliceChecks.cpp refuses what cannot be
// decoded, SliceDecode.cpp decodes): private to iod/src, names DCMTK types.

#include <dcmtk/dcmdata/dctk.h>

#include <cstdint>
#include <optional>
#include <string>

#include "iodeep/iod/Slice.hpp"

namespace iodeep::iod::detail {

/// A US value of @p key, or @p fallback when absent.
[[nodiscard]] std::uint16_t getUS(DcmItem& item, const DcmTagKey& key, std::uint16_t fallback = 0);

/// A value of the LUT Descriptor (0028,3002), whose VR is US or SS: its 16 bits.
[[nodiscard]] std::optional<std::uint16_t> lutDescriptorValue(DcmItem& item, unsigned long pos);

/// The attributes of a slice read from its data set and meta header (Slice.cpp).
[[nodiscard]] SliceAttributes attributesOf(DcmDataset& ds, DcmMetaInfo& meta);

/// Throws Error(UnsupportedImage, @p what).
[[noreturn]] void unsupported(const std::string& what);

/// JPEG 2000 (.90, .91): decoded a frame at a time by OpenJPEG, not by DCMTK.
[[nodiscard]] bool isJpeg2000Syntax(E_TransferSyntax xfer);

/// Everything about frame @p frame that can be refused before a pixel is decoded (SliceChecks.cpp).
void checkDecodable(DcmDataset& ds, const SliceAttributes& a, std::int32_t frame);

/// Frame @p frame of @p file decoded, after checkDecodable (SliceDecode.cpp).
[[nodiscard]] SliceImage decodeSlice(DcmFileFormat& file, std::int32_t frame);

}  // namespace iodeep::iod::detail

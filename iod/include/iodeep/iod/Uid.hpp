#pragma once
/// @file Uid.hpp
/// DICOM UIDs under the 2.25 root (ISO/IEC 9834-8: a 128-bit number in decimal).

#include <span>
#include <string>
#include <string_view>

#include "iodeep/iod/Sha256.hpp"

namespace iodeep::iod {

/// A fresh random UID "2.25.<uuid-v4 as decimal>".
[[nodiscard]] std::string makeRandomUid();
/// "2.25.<first 128 bits of the digest, as an RFC 4122 version-8 UUID, in decimal>": the same
/// digest always gives the same UID.
[[nodiscard]] std::string uidFromDigest(const Sha256Digest& digest);
/// True when @p uid is a syntactically valid DICOM UID (<= 64 chars, digits and dots,
/// no empty component, no leading zero).
[[nodiscard]] bool isValidUid(std::string_view uid) noexcept;

}  // namespace iodeep::iod

#pragma once
/// @file Text.hpp
/// UTF-8 text as the objects we write declare it (SpecificCharacterSet ISO_IR 192).

#include <cstddef>
#include <string>
#include <string_view>

namespace iodeep::iod {

/// True when @p s is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
[[nodiscard]] bool isValidUtf8(std::string_view s) noexcept;

/// The first @p maxCharacters characters (code points) of UTF-8 text: DICOM limits text values
/// in characters (LO: 64), and a cut never falls inside a character. Bytes of malformed
/// sequences count as one character each.
[[nodiscard]] std::string utf8Prefix(std::string_view s, std::size_t maxCharacters);

/// @p s with each byte that starts no well-formed UTF-8 sequence replaced by U+FFFD (as pydicom
/// decodes such text).
[[nodiscard]] std::string sanitizeUtf8(std::string_view s);

/// @p s as UTF-8 from ISO 8859-1 (every byte is a character).
[[nodiscard]] std::string latin1ToUtf8(std::string_view s);

}  // namespace iodeep::iod

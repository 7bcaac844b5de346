#pragma once
/// @file Text.hpp
/// UTF-8 text as the objects we write declare it (SpecificCharacterSet ISO_IR 192).

#include <cstddef>
#include <optional>
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

/// Japanese text of a data set whose SpecificCharacterSet names ISO 2022 IR 13 / 87 / 159 (what
/// Debian's DCMTK cannot convert with glibc's iconv): 7-bit runs with their ISO 2022 escape
/// sequences (JIS X 0208, JIS X 0212, JIS X 0201 Roman) through iconv's ISO-2022-JP-2, bytes
/// 0xA1-0xDF as half-width katakana (JIS X 0201, G1), as pydicom decodes them. Nothing when the
/// text cannot be converted.
[[nodiscard]] std::optional<std::string> japaneseIso2022ToUtf8(std::string_view s);

/// Free text for an object we write (ISO_IR 192): @p s cut at @p maxCharacters characters (the
/// VR's length), never inside one, malformed bytes replaced (sanitizeUtf8), a backslash (which would
/// make the value multi-valued) replaced by '/', control characters but ESC by a space.
[[nodiscard]] std::string textValue(std::string_view s, std::size_t maxCharacters);

/// A person name (PN) for an object we write: textValue of each component group (at most 64
/// characters, PS3.5 6.2), the groups separated by '=' as given.
[[nodiscard]] std::string personNameValue(std::string_view s);

/// @p s as UTF-8 from ISO 8859-1 (every byte is a character).
[[nodiscard]] std::string latin1ToUtf8(std::string_view s);

}  // namespace iodeep::iod

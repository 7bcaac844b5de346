#pragma once
/// @file Legacy.hpp
/// Objects written by the published IODeep reference code: no private creator, (0017,0016)
/// architecture as a Python-literal dict, (0017,0018) base64 of torch.save bytes, (0017,0020)
/// name, (0017,0022) UID, often Implicit VR, a random SOPClassUID.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"

namespace iodeep::iod {

struct LegacyObject {
  std::string architectureLiteral;  ///< (0017,0016) as stored
  std::string weightsBase64;        ///< (0017,0018) as stored (may be huge)
  std::string name;                 ///< (0017,0020)
  std::string uid;                  ///< (0017,0022)
  std::string modality;             ///< (0008,0060)
  std::string bodyPartExamined;     ///< (0018,0015)
  std::string samplesPerPixel;      ///< (0028,0002), as text, may be empty
  std::string photometricInterpretation;
  std::string transferSyntaxUid;
  std::string sopClassUid;
  std::string mediaStorageSopClassUid;
  std::vector<std::string> problems;  ///< what is wrong with it, one sentence each
};

/// Reads a legacy object. Throws Error(FileNotFound, NotDicom, TruncatedDicom, NotIodeep).
[[nodiscard]] LegacyObject readLegacy(const std::filesystem::path& path);

/// Converts a Python literal (dict, list, tuple, str, int, float, True/False/None) to JSON text.
/// Only literals are accepted: no names, calls or operators. Throws Error(InvalidPythonLiteral)
/// with the character offset.
[[nodiscard]] std::string pythonLiteralToJson(std::string_view literal);

/// Decodes base64 (standard alphabet, padding optional, whitespace ignored). Throws
/// Error(InvalidArgument) on any other character.
[[nodiscard]] ByteBuffer decodeBase64(std::string_view text);

}  // namespace iodeep::iod

// What the IOD reader takes from PACS content without DICOM around it: the safetensors payload
// (parse, NaN scan), the legacy Python-literal architecture and base64 weights.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  try {
    const auto st = iodeep::iod::Safetensors::parse(iodeep::iod::ByteBuffer::copyOf(bytes));
    st.checkFinite();
  } catch (const iodeep::Error&) {
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)iodeep::iod::pythonLiteralToJson(text);
  } catch (const iodeep::Error&) {
  }
  try {
    (void)iodeep::iod::decodeBase64(text);
  } catch (const iodeep::Error&) {
  }
  return 0;
}

// Both architecture front ends (ours and DNN-parser, told apart by their keys), shape inference
// and the expected weights. Any input must end in a result or an iodeep::Error: never a crash,
// a hang, a sanitizer report or an allocation proportional to what the JSON asks for.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  iodeep::netparser::Limits limits;
  limits.maxActivationBytes = 64LL * 1024 * 1024;  // keep the fuzzer's own memory small
  try {
    const auto arch = iodeep::netparser::parseArchitecture(text, limits);
    (void)iodeep::netparser::formatShapeTable(iodeep::netparser::inferShapes(arch, std::nullopt, limits));
    (void)iodeep::netparser::expectedTensors(arch);
  } catch (const iodeep::Error&) {
  }
  return 0;
}

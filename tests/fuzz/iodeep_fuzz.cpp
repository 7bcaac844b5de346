// The IOD reader on untrusted files from a PACS: probe, read, full verification (payload parse,
// SHA-256, NaN scan, architecture JSON). Any input must end in a result or an iodeep::Error.
#include <cstddef>
#include <cstdint>

#include "FuzzFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  iodeep::fuzz::quietDcmtk();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = iodeep::fuzz::writeInput(data, size);
  try {
    (void)iodeep::iod::probeObject(path);
  } catch (const iodeep::Error&) {
  }
  try {
    const auto file = iodeep::iod::readIodeep(path);
    (void)iodeep::iod::verifyIodeep(file);
  } catch (const iodeep::Error&) {
  }
  return 0;
}

// Weights import, torch-free: safetensors files are read (mapped) here; torch.save and TorchScript
// archives go to the inference module (TorchModule.hpp), opened only for them.
#include "iodeep/netparser/WeightsImport.hpp"

#include "TorchModule.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"

namespace iodeep::netparser {

namespace {

using torchmodule::contains;
using torchmodule::startsWith;

bool looksLikeSafetensors(std::span<const std::byte> b) {
  if (b.size() < 10) return false;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8; ++i) n |= std::to_integer<std::uint64_t>(b[i]) << (8U * i);
  return n >= 2 && n <= b.size() - 8 && b[8] == std::byte{'{'};
}

}  // namespace

void checkTorchScriptArchive(std::span<const std::byte> bytes, const ErrorContext& where) {
  if (!startsWith(bytes, "PK\x03\x04") || !contains(bytes, "constants.pkl")) {
    throw Error(ErrorCode::UnsupportedWeights, "not a TorchScript archive (torch.jit.save)", where);
  }
  torchmodule::api().loadTorchScript(bytes, where);
}

std::string_view toString(WeightsSource source) noexcept {
  switch (source) {
    case WeightsSource::Safetensors: return "safetensors";
    case WeightsSource::TorchStateDict: return "torch.save state dict";
    case WeightsSource::TorchScript: return "TorchScript archive";
  }
  return "?";
}

ImportedWeights importTorchBytes(std::span<const std::byte> bytes, const ErrorContext& where) {
  if (startsWith(bytes, "PK\x03\x04")) return torchmodule::api().importArchive(bytes, where);
  if (!bytes.empty() && bytes[0] == std::byte{0x80}) {
    throw Error(ErrorCode::UnsupportedWeights,
                "a legacy (pre-zip, PyTorch < 1.6 or _use_new_zipfile_serialization=False) "
                "torch.save file, which libtorch cannot read; re-save it with a current PyTorch: "
                "torch.save(dict(model.state_dict()), path), or as safetensors",
                where);
  }
  throw Error(ErrorCode::UnsupportedWeights,
              "unknown weights format (expected safetensors, a torch.save zip file or a TorchScript archive)", where);
}

ImportedWeights importWeights(const std::filesystem::path& path) {
  iod::ByteBuffer mapped = iod::ByteBuffer::mapFile(path);
  const ErrorContext where{.file = path.string()};
  if (looksLikeSafetensors(mapped.bytes())) {
    try {
      (void)iod::Safetensors::parse(mapped, "");  // validates; tensors stay in the mapped file
    } catch (Error& e) {
      e.inFile(where.file);
      throw;
    }
    return {mapped, WeightsSource::Safetensors};
  }
  return importTorchBytes(mapped.bytes(), where);
}

}  // namespace iodeep::netparser

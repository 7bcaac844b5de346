#pragma once
/// @file WeightsImport.hpp
/// Turns a model developer's weights file into our safetensors payload. Torch-free header.
///
/// Accepted at pack time (the developer's own files, never PACS content):
///  - safetensors: mapped, validated, used as is (no copy);
///  - a PyTorch state dict saved as a plain dict: torch.save(dict(model.state_dict()), f);
///  - a TorchScript archive (torch.jit.save): its parameters and buffers.
/// PACS content is only ever read as safetensors: no pickle from a PACS is parsed.

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::netparser {

enum class WeightsSource { Safetensors, TorchStateDict, TorchScript };

[[nodiscard]] std::string_view toString(WeightsSource source) noexcept;

struct ImportedWeights {
  iod::ByteBuffer safetensors;  ///< a valid safetensors buffer
  WeightsSource source{WeightsSource::Safetensors};
};

/// Reads @p path in any accepted format. Throws Error(FileNotFound, UnsupportedWeights,
/// InvalidSafetensors, UnsupportedDtype, TorchError) with a message that says what to do.
[[nodiscard]] ImportedWeights importWeights(const std::filesystem::path& path);

/// Converts torch.save bytes (zip format, a dict of tensors) or a TorchScript archive held in
/// memory. @p where says where the bytes came from (a file, a DICOM element): the context of the
/// errors, which are those of importWeights().
[[nodiscard]] ImportedWeights importTorchBytes(std::span<const std::byte> bytes, const ErrorContext& where);

/// Loads @p bytes as a TorchScript archive (the developer's own file, at pack time) to prove it
/// loads. Throws Error(UnsupportedWeights) with @p where as its context.
void checkTorchScriptArchive(std::span<const std::byte> bytes, const ErrorContext& where);

}  // namespace iodeep::netparser

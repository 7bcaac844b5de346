#pragma once
/// @file Overlay.hpp
/// The proposals drawn on the slice as a PNG (`iodeep predict --png`): no GUI toolkit needed.

#include <filesystem>
#include <vector>

#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Prediction.hpp"

namespace iodeep::client {

/// Draws the proposals' rings on the windowed slice and writes a PNG atomically.
/// Throws Error(OutputError).
void writeOverlayPng(const iod::SliceImage& slice, const std::vector<netparser::Proposal>& proposals,
                     const std::filesystem::path& path);

}  // namespace iodeep::client

#pragma once
/// @file DateTime.hpp
/// The current local date and time as DICOM DA and TM values.

#include <string>
#include <utility>

namespace iodeep::iod {

/// {YYYYMMDD, HHMMSS} of now, local time.
[[nodiscard]] std::pair<std::string, std::string> nowDicomDateTime();

}  // namespace iodeep::iod

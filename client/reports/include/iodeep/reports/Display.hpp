#pragma once
/// @file Display.hpp
/// What a viewer needs to show a decoded slice correctly, toolkit-free: the VOI window (the
/// file's, presets, the linear function of PS3.3 C.11.2.1.2), the 8-bit display image
/// (MONOCHROME1 inverted), orientation labels for the four edges, and the two information blocks
/// of the published IODeep viewer (patient, clinical). The Qt viewer only paints the result.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "iodeep/iod/Slice.hpp"

namespace iodeep::client {

/// A VOI window in modality units (after the modality LUT: Hounsfield units for CT).
struct WindowLevel {
  double center{0};
  double width{1};  ///< >= 1
};

struct WindowPreset {
  std::string name;
  WindowLevel window;
};

/// The window a slice opens with: the file's first VOI window, else the range from the 1st to
/// the 99th percentile of its values.
[[nodiscard]] WindowLevel initialWindow(const iod::SliceImage& slice);

/// The file's windows (named by their explanation, else "File 1", ...), then the usual presets
/// for its modality (CT: Brain 40/80, Subdural 75/215, Abdomen 40/400, Lung -600/1500,
/// Bone 300/1500), then "Full range".
[[nodiscard]] std::vector<WindowPreset> windowPresets(const iod::SliceImage& slice);

/// An 8-bit image to display: 1 channel (grey) or 3 (RGB), row-major.
struct DisplayImage {
  std::uint16_t rows{0}, columns{0}, channels{1};
  std::vector<std::uint8_t> bytes;
};

/// Grey slices through the window with DICOM's linear VOI function to 0-255, inverted for
/// MONOCHROME1; colour slices as decoded (no window).
[[nodiscard]] DisplayImage renderForDisplay(const iod::SliceImage& slice, const WindowLevel& window);

/// The DICOM linear VOI function (PS3.3 C.11.2.1.2.1) mapping @p value to [0, 255].
[[nodiscard]] double applyWindow(double value, const WindowLevel& window) noexcept;

/// Patient-direction letters (L/R, A/P, H/F; LPS) at the four edges of the displayed slice, from
/// ImageOrientationPatient: the row direction points to the right edge, the column direction to
/// the bottom. Oblique directions get up to three letters, strongest first. Empty without geometry.
struct EdgeLabels {
  std::string left, right, top, bottom;
};
[[nodiscard]] EdgeLabels orientationLabels(const iod::SliceAttributes& slice);

/// The letters of one direction vector (LPS), strongest component first (components below
/// 0.25 in magnitude are left out).
[[nodiscard]] std::string directionLetters(double x, double y, double z);

/// The information blocks: (label, value) pairs in the paper's order. Patient: PatientName,
/// PatientID, PatientBirthDate, PatientSex. Clinical: AccessionNumber, InstitutionName,
/// ReferringPhysicianName, StudyDate, StudyDescription, StudyID, StudyInstanceUID, StudyTime.
/// Names shown as "Family, Given"; dates as YYYY-MM-DD; times as HH:MM:SS.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> patientBlock(const iod::SliceAttributes& slice);
[[nodiscard]] std::vector<std::pair<std::string, std::string>> clinicalBlock(const iod::SliceAttributes& slice);

/// "Doe^Jane^^Dr" -> "Doe, Jane"; "YYYYMMDD" -> "YYYY-MM-DD"; "HHMMSS.frac" -> "HH:MM:SS".
[[nodiscard]] std::string formatPersonName(const std::string& pn);
[[nodiscard]] std::string formatDate(const std::string& da);
[[nodiscard]] std::string formatTime(const std::string& tm);

}  // namespace iodeep::client

#pragma once
/// @file Slice.hpp
/// A DICOM image slice as plain types: the attributes the product needs, decoded pixels with
/// the modality LUT applied, and its geometry. No DICOM toolkit type appears here.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace iodeep::iod {

struct WindowPreset {
  double center{0.0};
  double width{0.0};
  std::string explanation;
};

/// The Modality LUT Sequence (0028,3000) of a grey image: it takes precedence over
/// RescaleSlope/Intercept (PS3.3 C.11.1). The table itself is read when the pixels are decoded.
struct ModalityLut {
  std::uint32_t entries{0};       ///< number of entries (a descriptor's 0 means 65536)
  std::int32_t firstMapped{0};    ///< the first stored value mapped (US or SS as PixelRepresentation says)
  std::uint16_t bitsPerEntry{0};  ///< 8 to 16: the output range is 0 .. 2^bits - 1
  std::string type;               ///< ModalityLUTType (0028,3004), e.g. "HU"
};

struct SliceAttributes {
  // identification
  std::string sopClassUid, sopInstanceUid, studyInstanceUid, seriesInstanceUid, frameOfReferenceUid;
  std::string transferSyntaxUid;
  // what selection and the viewer read
  std::string modality, bodyPartExamined, studyDescription, seriesDescription;
  std::string patientName, patientId, patientBirthDate, patientSex;
  std::string accessionNumber, institutionName, referringPhysicianName, studyDate, studyTime, studyId;
  std::string seriesNumber, instanceNumber;
  // pixel module
  std::uint16_t samplesPerPixel{0}, rows{0}, columns{0};
  std::uint16_t bitsAllocated{0}, bitsStored{0}, highBit{0}, pixelRepresentation{0}, planarConfiguration{0};
  std::string photometricInterpretation;
  std::int32_t numberOfFrames{1};
  double rescaleSlope{1.0}, rescaleIntercept{0.0};  ///< 1 and 0 when a modality LUT sequence is present
  std::optional<ModalityLut> modalityLut;           ///< (0028,3000), when present
  std::vector<WindowPreset> windows;
  // geometry (absent for e.g. secondary captures)
  std::optional<std::array<double, 2>> pixelSpacing;             ///< [row spacing, column spacing] mm
  std::optional<std::array<double, 3>> imagePositionPatient;     ///< centre of the first pixel, mm
  std::optional<std::array<double, 6>> imageOrientationPatient;  ///< row direction, column direction
  std::optional<double> sliceThickness;                          ///< SliceThickness (0018,0050) mm, when given
};

/// Decoded pixels of one frame: row-major, samples interleaved (sample fastest), as float after
/// BitsStored/sign handling and the modality LUT (the Modality LUT Sequence when present, else
/// RescaleSlope/Intercept; grey images only). Colour data is RGB
/// (YBR converted); MONOCHROME1 is kept as stored (higher = darker) and flagged.
struct SliceImage {
  SliceAttributes attributes;
  std::int32_t frame{0};
  std::uint16_t samples{1};
  std::uint16_t rows{0};
  std::uint16_t columns{0};
  bool monochrome1{false};
  std::vector<float> pixels;

  [[nodiscard]] float at(std::size_t row, std::size_t column, std::size_t sample = 0) const {
    return pixels[(row * columns + column) * samples + sample];
  }
};

/// What a slice's header may declare before anything is allocated from it (docs/security.md,
/// "Limits"). Every size is also checked against what the file holds (Pixel Data length,
/// fragments, the JPEG and JPEG 2000 headers) before it is used.
struct SliceLimits {
  /// Samples of one frame (Rows x Columns x SamplesPerPixel): 8192 x 8192 grey, 4730 x 4730 RGB.
  static constexpr std::uint64_t kMaxFrameSamples = std::uint64_t{1} << 26U;
  /// Bytes a codec may decode at once (DCMTK decodes every frame of a compressed image).
  static constexpr std::uint64_t kMaxDecodedBytes = std::uint64_t{512} << 20U;
};

/// Reads the attributes without decoding pixels; parsing stops before Pixel Data. Text values
/// are UTF-8, converted from the slice's SpecificCharacterSet. Throws Error(FileNotFound, NotDicom,
/// TruncatedDicom).
[[nodiscard]] SliceAttributes readSliceAttributes(const std::filesystem::path& path);

/// Reads and decodes frame @p frame (0-based) of an image: every transfer syntax DCMTK decodes
/// (uncompressed, deflate, JPEG, JPEG-LS, RLE) and JPEG 2000 (OpenJPEG), MONOCHROME1/2, RGB,
/// YBR_FULL, YBR_FULL_422 (YBR_RCT/ICT in JPEG 2000), either planar configuration,
/// signed/unsigned, BitsStored < BitsAllocated, the Modality LUT Sequence. Throws
/// Error(FileNotFound, NotDicom, TruncatedDicom (also for Pixel Data shorter than Rows, Columns
/// and NumberOfFrames declare), UnsupportedImage (also for a modality LUT that cannot be applied,
/// a frame beyond SliceLimits, a compressed stream whose header disagrees with the attributes),
/// InvalidArgument for a frame out of range).
[[nodiscard]] SliceImage readSlice(const std::filesystem::path& path, std::int32_t frame = 0);

/// What readSlice refuses before it decodes anything (an unsupported pixel module, a frame out
/// of range, sizes beyond SliceLimits or beyond what the file holds), without decoding: cheap
/// enough to run before anything large is started for the slice. Throws as readSlice.
void checkSlice(const std::filesystem::path& path, std::int32_t frame = 0);

/// Patient coordinates (mm, LPS) of the pixel-space point (@p column, @p row), where integer
/// coordinates are pixel centres: P + column * spacing[1] * X + row * spacing[0] * Y.
/// Throws Error(MissingGeometry) when the slice has no geometry.
[[nodiscard]] std::array<double, 3> pixelToPatient(const SliceAttributes& slice, double column, double row);

/// The inverse for a point in the slice's plane: (column, row). Throws Error(MissingGeometry).
[[nodiscard]] std::array<double, 2> patientToPixel(const SliceAttributes& slice, const std::array<double, 3>& point);

}  // namespace iodeep::iod

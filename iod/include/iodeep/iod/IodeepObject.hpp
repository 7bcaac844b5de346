#pragma once
/// @file IodeepObject.hpp
/// The IODeep information object: a trained network in a DICOM Raw Data Storage instance with a
/// private block (creator "IODEEP 1") in group 0017. See docs/iodeep-iod.md.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Signature.hpp"

namespace iodeep::iod {

/// Private creator string that reserves the IODeep block. Readers find the block by this
/// string, wherever it is reserved in (0017,0010-00FF).
inline constexpr std::string_view kPrivateCreator = "IODEEP 1";
inline constexpr std::uint16_t kPrivateGroup = 0x0017;
/// Raw Data Storage.
inline constexpr std::string_view kRawDataStorageUid = "1.2.840.10008.5.1.4.1.1.66";
/// Value of DnnWeightsFormat for an embedded safetensors payload.
inline constexpr std::string_view kWeightsFormatSafetensors = "SAFETENSORS";
/// Value of DnnWeightsFormat for a TorchScript archive (code as well as data: see
/// docs/architecture-json.md, "TorchScript networks").
inline constexpr std::string_view kWeightsFormatTorchScript = "TORCHSCRIPT";
/// StudyDescription of every IODeep object, and the prefix of its SeriesDescription: the
/// C-FIND convention (docs/iodeep-iod.md, "Finding IODeep objects on a PACS").
inline constexpr std::string_view kStudyDescription = "IODEEP MODELS";
inline constexpr std::string_view kSeriesDescriptionPrefix = "IODEEP ";

/// Element offsets inside the private block: the element is (0017, xx00 + offset) where xx is
/// the block reserved by kPrivateCreator.
namespace element {
inline constexpr std::uint8_t kArchitecture = 0x01;    ///< UT, JSON
inline constexpr std::uint8_t kWeightsUri = 0x02;      ///< UT, optional URI
inline constexpr std::uint8_t kName = 0x03;            ///< LO
inline constexpr std::uint8_t kUid = 0x04;             ///< UI
inline constexpr std::uint8_t kVersion = 0x05;         ///< LO
inline constexpr std::uint8_t kDescription = 0x06;     ///< UT
inline constexpr std::uint8_t kWeightsFormat = 0x07;   ///< CS
inline constexpr std::uint8_t kWeightsSha256 = 0x08;   ///< LO, 64 lowercase hex digits
inline constexpr std::uint8_t kWeightsLength = 0x09;   ///< UL, payload bytes before DICOM padding
inline constexpr std::uint8_t kPredecessorUid = 0x0A;  ///< UI, DnnUID of the network this one was fine-tuned from
inline constexpr std::uint8_t kPredecessorSop = 0x0B;  ///< UI, SOP Instance UID of that network's object
inline constexpr std::uint8_t kTraining = 0x0C;        ///< UT, JSON: how it was fine-tuned (docs/finetuning.md)
inline constexpr std::uint8_t kWeightsPayload = 0x10;  ///< OB
}  // namespace element

/// What a network was trained for: the labels the selection algorithm compares.
struct TrainingTarget {
  std::string modality;          ///< (0008,0060), e.g. "MR"
  std::string bodyPartExamined;  ///< (0018,0015), e.g. "HEAD" (upper case)
  std::uint16_t samplesPerPixel{1};
  std::string photometricInterpretation{"MONOCHROME2"};
  std::string patientOrientation;  ///< (0020,0020), may be empty, e.g. "L\\P"
};

/// Every field of an IODeep object.
struct IodeepModel {
  // DNN module (private block)
  std::string architectureJson;
  std::string weightsUri;
  std::string name;
  std::string dnnUid;
  std::string version;
  std::string description;
  std::string weightsFormat{kWeightsFormatSafetensors};
  std::string weightsSha256;  ///< lowercase hex of the SHA-256 of the logical payload bytes
  ByteBuffer weights;         ///< the payload (safetensors or TorchScript archive), no DICOM padding
  /// A fine-tuned network: its predecessor (DnnUID, SOP Instance UID) and the training's
  /// provenance as JSON (slices, corrected/accepted, epochs, Dice before/after). Empty otherwise.
  std::string predecessorDnnUid, predecessorSopInstanceUid, trainingJson;

  TrainingTarget target;

  // identification and provenance
  std::string studyInstanceUid;
  std::string seriesInstanceUid;
  std::string sopInstanceUid;
  std::string studyDescription;
  std::string seriesDescription;
  std::string manufacturer;
  std::string softwareVersions;
  std::string contentDate;  ///< YYYYMMDD
  std::string contentTime;  ///< HHMMSS
  std::string creatorVersionUid;
};

/// What the model developer provides; everything else is derived.
struct PackInput {
  std::string architectureJson;
  ByteBuffer weights;  ///< safetensors bytes (validated by buildModel), or a TorchScript archive
  std::string weightsFormat{kWeightsFormatSafetensors};
  std::string name;
  TrainingTarget target;
  std::string version;
  std::string description;
  std::string weightsUri;
  std::string studyInstanceUid;  ///< empty: a fresh UID (pass one to group models in a study)
};

/// Validates @p input and fills every derived field: DnnUID from the SHA-256 of architecture +
/// weights, fresh Series/SOP UIDs, descriptions, dates. Throws Error(InvalidArgument,
/// InvalidJson, InvalidSafetensors, UnsupportedDtype, NonFiniteWeights).
[[nodiscard]] IodeepModel buildModel(PackInput input);

/// DnnUID of a network: 2.25 UID of SHA-256("IODEEP-DNNUID-1" | len | architecture | weights SHA-256).
[[nodiscard]] std::string deriveDnnUid(std::string_view architectureJson, std::string_view weightsSha256Hex);

/// Normalises and checks a CS value for Modality/BodyPartExamined: trimmed, upper case,
/// [A-Z0-9 _], 1-16 characters. Throws Error(InvalidArgument) naming @p what.
[[nodiscard]] std::string normaliseCodeString(std::string_view value, std::string_view what);

/// Writes @p model as a DICOM Part 10 file, Explicit VR Little Endian, atomically (temporary
/// file in the same directory, then rename). With @p signing, the object carries one signature
/// over all of it (Signature.hpp, signFile) before it first appears at @p path: the data set is
/// signed in memory and written once; returns that signature (nothing when not signing).
/// Throws Error(OutputError, MalformedIodeep), and Error(FileNotFound, SigningFailed) as
/// signFile does for the credentials (checked before anything is built).
std::optional<SignatureInfo> writeIodeep(const IodeepModel& model, const std::filesystem::path& path,
                                         const std::optional<SigningCredentials>& signing = std::nullopt);

/// A finding while reading or verifying a file: what the error would be (the code), how
/// serious it is, a one-line message and where in the object it is (the DICOM element, the part
/// read, the layer and JSON pointer; the file is the one read, so it is usually left empty).
struct Finding {
  enum class Severity { Warning, Error };
  Severity severity;
  ErrorCode code;
  std::string message;     ///< what is wrong, without its context
  ErrorContext context{};  ///< where it is

  /// The finding an Error amounts to: its code, detail and context.
  [[nodiscard]] static Finding of(const Error& error, Severity severity = Severity::Error);
  /// The message with its context in front, as Error::what() renders them, e.g.
  /// "(0017,0016): legacy architecture: not a Python literal at character 3: ...".
  [[nodiscard]] std::string text() const { return renderWithContext(context, message); }
};

/// An IODeep file as read, with the facts about its encoding.
struct IodeepFile {
  IodeepModel model;
  std::string transferSyntaxUid;
  std::string mediaStorageSopClassUid;
  std::string sopClassUid;
  std::uint16_t creatorElement{0};  ///< where kPrivateCreator was found, e.g. 0x0010
  std::vector<Finding> findings;    ///< inconsistencies found while reading
};

/// Kinds of DICOM file iodeep recognises.
enum class ObjectKind { Iodeep, Legacy, Other };

/// Classifies a file without failing on content. Throws Error(FileNotFound, NotDicom,
/// TruncatedDicom).
[[nodiscard]] ObjectKind probeObject(const std::filesystem::path& path);

/// Reads an IODeep file. Missing or malformed required fields throw; softer inconsistencies are
/// returned in IodeepFile::findings. Throws Error(FileNotFound, NotDicom, TruncatedDicom,
/// NotIodeep, LegacyIodeep, MalformedIodeep).
[[nodiscard]] IodeepFile readIodeep(const std::filesystem::path& path);

/// Full verification: payload parses as safetensors, SHA-256 matches, weights finite, DnnUID
/// derivable, architecture JSON, standard attributes. Returns every finding (errors and
/// warnings); never throws on content.
[[nodiscard]] std::vector<Finding> verifyIodeep(const IodeepFile& file);
/// The same, with the architecture's canonical JSON (iod::canonicalJson of
/// IodeepModel::architectureJson) made already by a caller that parsed it: the JSON is not parsed
/// again (the prediction path parses the architecture once).
[[nodiscard]] std::vector<Finding> verifyIodeep(const IodeepFile& file, const std::string& canonicalArchitecture);

}  // namespace iodeep::iod

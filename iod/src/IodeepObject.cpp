// Making an IODeep object (buildModel, writeIodeep), and the object's rules that IodeepReader.cpp checks too.
#include "iodeep/iod/IodeepObject.hpp"

#include <dcmtk/dcmdata/dcistrmf.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "IodeepSupport.hpp"
#include "SignatureSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DateTime.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/iod/Uid.hpp"

#ifndef IODEEP_VERSION
#define IODEEP_VERSION "0.0.0"
#endif

namespace iodeep::iod {

namespace {

constexpr std::string_view kManufacturer = "iodeep";
constexpr std::string_view kSoftwareVersion = IODEEP_VERSION;

// Truncates to the DICOM maximum of a VR measured in characters (LO: 64), never inside one.
std::string clip(std::string_view s, std::size_t max) {
  return utf8Prefix(s, max);
}

std::string creatorVersionUid() {
  Sha256 h;
  h.update("iodeep creator version ");
  h.update(kSoftwareVersion);
  return uidFromDigest(h.finish());
}

class Writer {
 public:
  explicit Writer(DcmItem& item) : item_(item) {}
  void str(const DcmTagKey& key, std::string_view value) {
    dcmtk::check(item_.putAndInsertString(DcmTag(key), std::string(value).c_str()), ErrorCode::MalformedIodeep,
                 "cannot set", ErrorContext{.dicomTag = dcmtk::tagString(key)});
  }
  void priv(const DcmTagKey& key, DcmEVR vr, std::string_view value) {
    DcmTag tag(key, DcmVR(vr));
    tag.setPrivateCreator(std::string(kPrivateCreator).c_str());
    dcmtk::check(item_.putAndInsertString(tag, std::string(value).c_str(), OFTrue), ErrorCode::MalformedIodeep,
                 "cannot set the private element", ErrorContext{.dicomTag = dcmtk::tagString(key)});
  }
  void us(const DcmTagKey& key, Uint16 value) {
    dcmtk::check(item_.putAndInsertUint16(key, value), ErrorCode::MalformedIodeep, "cannot set US element");
  }
  void emptySequence(const DcmTagKey& key) {
    dcmtk::check(item_.insertEmptyElement(key), ErrorCode::MalformedIodeep, "cannot insert sequence");
  }

 private:
  DcmItem& item_;
};

void insertPayload(DcmDataset& ds, const ByteBuffer& weights) {
  DcmTag tag(detail::privateTag(0x10, element::kWeightsPayload), DcmVR(EVR_OB));
  tag.setPrivateCreator(std::string(kPrivateCreator).c_str());
  auto elem = std::make_unique<DcmOtherByteOtherWord>(tag);
  const auto size = weights.size();
  if (size > 0xFFFFFFF0ULL) {
    throw Error(ErrorCode::InvalidArgument,
                "weights payload of " + std::to_string(size) + " bytes exceeds the 4 GiB DICOM limit");
  }
  const auto& file = weights.backingFile();
  if (file && size % 2 == 0 && size > 0) {
    // Stream the value from the developer's file when the DICOM file is written: no copy in memory.
    std::error_code ec;
    if (std::filesystem::file_size(*file, ec) == size) {
      auto factory = std::make_unique<DcmInputFileStreamFactory>(OFFilename(file->c_str()), 0);
      // createValueFromTempFile takes ownership of the factory (its documented contract)
      dcmtk::check(elem->createValueFromTempFile(factory.release(), static_cast<Uint32>(size), EBO_LittleEndian),
                   ErrorCode::Internal, "cannot attach payload file");
      dcmtk::check(ds.insert(elem.release(), OFTrue), ErrorCode::Internal, "cannot insert payload");
      return;
    }
  }
  dcmtk::check(elem->putUint8Array(reinterpret_cast<const Uint8*>(weights.data()), static_cast<Uint32>(size)),
               ErrorCode::Internal, "cannot set payload");
  dcmtk::check(ds.insert(elem.release(), OFTrue), ErrorCode::Internal, "cannot insert payload");
}

}  // namespace

namespace detail {

constexpr std::array<std::string_view, 3> kPhotometric1 = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"};
constexpr std::array<std::string_view, 6> kPhotometric3 = {"RGB",     "YBR_FULL", "YBR_FULL_422",
                                                           "YBR_ICT", "YBR_RCT",  "YBR_PARTIAL_420"};

DcmTagKey privateTag(std::uint16_t creatorElement, std::uint8_t offset) {
  return {kPrivateGroup, static_cast<Uint16>((creatorElement << 8U) | offset)};
}

bool validPhotometric(std::uint16_t spp, std::string_view pi) {
  if (spp == 1) return std::find(kPhotometric1.begin(), kPhotometric1.end(), pi) != kPhotometric1.end();
  if (spp == 3) return std::find(kPhotometric3.begin(), kPhotometric3.end(), pi) != kPhotometric3.end();
  return false;
}

std::vector<std::string> uidProblems(const IodeepModel& m) {
  std::vector<std::string> out;
  for (const auto& [uid, what] :
       {std::pair{&m.studyInstanceUid, "StudyInstanceUID"}, std::pair{&m.seriesInstanceUid, "SeriesInstanceUID"},
        std::pair{&m.sopInstanceUid, "SOPInstanceUID"}, std::pair{&m.dnnUid, "DnnUID"}}) {
    if (!isValidUid(*uid)) out.push_back(std::string(what) + " '" + *uid + "' is not a valid UID");
  }
  if (m.studyInstanceUid == m.seriesInstanceUid || m.seriesInstanceUid == m.sopInstanceUid ||
      m.studyInstanceUid == m.sopInstanceUid) {
    out.emplace_back("Study, Series and SOP Instance UIDs are not distinct");
  }
  return out;
}

std::string dnnUidFromCanonical(const std::string& canonical, std::string_view weightsSha256Hex) {
  Sha256 h;
  h.update("IODEEP-DNNUID-1\n");
  h.update(std::to_string(canonical.size()) + "\n");
  h.update(canonical);
  h.update("\n");
  h.update(weightsSha256Hex);
  return uidFromDigest(h.finish());
}

}  // namespace detail

std::string normaliseCodeString(std::string_view value, std::string_view what) {
  std::string s;
  for (char c : value) s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(' ');
  s = first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
  if (s.empty() || s.size() > 16) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + " '" + std::string(value) + "' must have 1 to 16 characters");
  }
  const bool ok = std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_';
  });
  if (!ok) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + " '" + std::string(value) + "' may hold only A-Z, 0-9, space and '_'");
  }
  return s;
}

std::string deriveDnnUid(std::string_view architectureJson, std::string_view weightsSha256Hex) {
  return detail::dnnUidFromCanonical(canonicalJson(architectureJson, "architecture"), weightsSha256Hex);
}

IodeepModel buildModel(PackInput input) {
  checkJson(input.architectureJson, "architecture");
  if (input.name.empty()) throw Error(ErrorCode::InvalidArgument, "the network needs a name (--name)");
  if (input.name.size() > 64)
    throw Error(ErrorCode::InvalidArgument, "name '" + input.name + "' is longer than 64 characters");
  if (input.version.size() > 64) throw Error(ErrorCode::InvalidArgument, "version is longer than 64 characters");
  if (input.name.find('\\') != std::string::npos || input.version.find('\\') != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "name and version may not contain '\\'");
  }
  TrainingTarget t = std::move(input.target);
  t.modality = normaliseCodeString(t.modality, "modality");
  t.bodyPartExamined = normaliseCodeString(t.bodyPartExamined, "body part");
  t.photometricInterpretation = normaliseCodeString(t.photometricInterpretation, "photometric interpretation");
  if (t.samplesPerPixel != 1 && t.samplesPerPixel != 3) {
    throw Error(ErrorCode::InvalidArgument,
                "samples per pixel must be 1 or 3, not " + std::to_string(t.samplesPerPixel));
  }
  if (!detail::validPhotometric(t.samplesPerPixel, t.photometricInterpretation)) {
    throw Error(ErrorCode::InvalidArgument, "photometric interpretation " + t.photometricInterpretation +
                                                " does not fit " + std::to_string(t.samplesPerPixel) +
                                                " sample(s) per pixel");
  }
  if (!input.studyInstanceUid.empty() && !isValidUid(input.studyInstanceUid)) {
    throw Error(ErrorCode::InvalidArgument, "study UID '" + input.studyInstanceUid + "' is not a valid UID");
  }

  IodeepModel m;
  if (input.weightsFormat == kWeightsFormatSafetensors) {
    const Safetensors st = Safetensors::parse(input.weights, "weights");
    st.checkFinite("weights");
    if (st.tensors().empty()) throw Error(ErrorCode::InvalidSafetensors, "weights: no tensors");
    const auto logical = st.logicalBytes();
    m.weights = logical.size() == input.weights.size() ? input.weights : input.weights.slice(0, logical.size());
  } else if (input.weightsFormat == kWeightsFormatTorchScript) {
    const auto b = input.weights.bytes();
    if (b.size() < 4 || b[0] != std::byte{'P'} || b[1] != std::byte{'K'}) {
      throw Error(ErrorCode::UnsupportedWeights, "weights: a TorchScript archive is a zip file, this is not");
    }
    m.weights = input.weights;
  } else {
    throw Error(ErrorCode::InvalidArgument, "unknown weights format '" + input.weightsFormat + "'");
  }
  m.weightsFormat = input.weightsFormat;
  m.architectureJson = std::move(input.architectureJson);
  m.weightsUri = std::move(input.weightsUri);
  m.name = std::move(input.name);
  m.version = std::move(input.version);
  m.description = std::move(input.description);
  m.weightsSha256 = toHex(sha256(m.weights.bytes()));
  m.dnnUid = deriveDnnUid(m.architectureJson, m.weightsSha256);
  m.target = std::move(t);
  m.studyInstanceUid = input.studyInstanceUid.empty() ? makeRandomUid() : input.studyInstanceUid;
  m.seriesInstanceUid = makeRandomUid();
  m.sopInstanceUid = makeRandomUid();
  m.studyDescription = std::string(kStudyDescription);
  std::string series = std::string(kSeriesDescriptionPrefix) + m.name;
  if (!m.version.empty()) series += " " + m.version;
  m.seriesDescription = clip(series, 64);
  m.manufacturer = std::string(kManufacturer);
  m.softwareVersions = std::string(kSoftwareVersion);
  std::tie(m.contentDate, m.contentTime) = nowDicomDateTime();
  m.creatorVersionUid = creatorVersionUid();
  return m;
}

std::optional<SignatureInfo> writeIodeep(const IodeepModel& m, const std::filesystem::path& path,
                                         const std::optional<SigningCredentials>& signing) {
  dcmtk::registerPrivateDictionary();
  if (const auto problems = detail::uidProblems(m); !problems.empty()) {
    throw Error(ErrorCode::MalformedIodeep, problems.front(), ErrorContext{.file = path.string()});
  }
  // credentials are read and checked before anything is built
  std::optional<detail::Signer> signer;
  if (signing) signer.emplace(*signing);
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  Writer w(ds);
  // SOP Common
  w.str(DCM_SpecificCharacterSet, "ISO_IR 192");
  w.str(DCM_SOPClassUID, kRawDataStorageUid);
  w.str(DCM_SOPInstanceUID, m.sopInstanceUid);
  w.str(DCM_InstanceCreationDate, m.contentDate);
  w.str(DCM_InstanceCreationTime, m.contentTime);
  // Patient (present and empty: a non-patient object)
  w.str(DCM_PatientName, "");
  w.str(DCM_PatientID, "");
  w.str(DCM_PatientBirthDate, "");
  w.str(DCM_PatientSex, "");
  // General Study
  w.str(DCM_StudyInstanceUID, m.studyInstanceUid);
  w.str(DCM_StudyDate, m.contentDate);
  w.str(DCM_StudyTime, m.contentTime);
  w.str(DCM_ReferringPhysicianName, "");
  w.str(DCM_StudyID, "");
  w.str(DCM_AccessionNumber, "");
  w.str(DCM_StudyDescription, m.studyDescription);
  // General Series
  w.str(DCM_Modality, m.target.modality);
  w.str(DCM_SeriesInstanceUID, m.seriesInstanceUid);
  w.str(DCM_SeriesNumber, "");
  w.str(DCM_SeriesDescription, m.seriesDescription);
  w.str(DCM_BodyPartExamined, m.target.bodyPartExamined);
  // General Equipment
  w.str(DCM_Manufacturer, m.manufacturer);
  w.str(DCM_SoftwareVersions, m.softwareVersions);
  // Acquisition Context
  w.emptySequence(DCM_AcquisitionContextSequence);
  // Raw Data
  w.str(DCM_InstanceNumber, "1");
  w.str(DCM_ContentDate, m.contentDate);
  w.str(DCM_ContentTime, m.contentTime);
  w.str(DCM_CreatorVersionUID, m.creatorVersionUid);
  // What the network takes (paper, Table 1)
  w.us(DCM_SamplesPerPixel, m.target.samplesPerPixel);
  w.str(DCM_PhotometricInterpretation, m.target.photometricInterpretation);
  if (m.target.samplesPerPixel == 3) w.us(DCM_PlanarConfiguration, 0);
  w.str(DCM_PatientOrientation, m.target.patientOrientation);
  // The DNN module: private block reserved at (0017,0010)
  w.str(DcmTagKey(kPrivateGroup, 0x0010), kPrivateCreator);
  w.priv(detail::privateTag(0x10, element::kArchitecture), EVR_UT, m.architectureJson);
  if (!m.weightsUri.empty()) w.priv(detail::privateTag(0x10, element::kWeightsUri), EVR_UT, m.weightsUri);
  w.priv(detail::privateTag(0x10, element::kName), EVR_LO, m.name);
  w.priv(detail::privateTag(0x10, element::kUid), EVR_UI, m.dnnUid);
  if (!m.version.empty()) w.priv(detail::privateTag(0x10, element::kVersion), EVR_LO, m.version);
  if (!m.description.empty()) w.priv(detail::privateTag(0x10, element::kDescription), EVR_UT, m.description);
  if (!m.predecessorDnnUid.empty()) {
    w.priv(detail::privateTag(0x10, element::kPredecessorUid), EVR_UI, m.predecessorDnnUid);
  }
  if (!m.predecessorSopInstanceUid.empty()) {
    w.priv(detail::privateTag(0x10, element::kPredecessorSop), EVR_UI, m.predecessorSopInstanceUid);
  }
  if (!m.trainingJson.empty()) w.priv(detail::privateTag(0x10, element::kTraining), EVR_UT, m.trainingJson);
  w.priv(detail::privateTag(0x10, element::kWeightsFormat), EVR_CS, m.weightsFormat);
  w.priv(detail::privateTag(0x10, element::kWeightsSha256), EVR_LO, m.weightsSha256);
  {
    DcmTag lengthTag(detail::privateTag(0x10, element::kWeightsLength), DcmVR(EVR_UL));
    lengthTag.setPrivateCreator(std::string(kPrivateCreator).c_str());
    dcmtk::check(ds.putAndInsertUint32(lengthTag, static_cast<Uint32>(m.weights.size())), ErrorCode::MalformedIodeep,
                 "cannot set DnnWeightsLength");
  }
  insertPayload(ds, m.weights);

  AtomicFile out(path);
  std::optional<SignatureInfo> signature;
  if (signer) {
    signature =
        signer->sign(ds, EXS_LittleEndianExplicit, ErrorContext{.file = path.string(), .uid = m.sopInstanceUid});
  }
  const OFCondition cond = file.saveFile(OFFilename(out.temporaryPath().c_str()), EXS_LittleEndianExplicit,
                                         EET_ExplicitLength, EGL_recalcGL, EPD_withoutPadding, 0, 0, EWM_fileformat);
  dcmtk::check(cond, ErrorCode::OutputError, "cannot write", ErrorContext{.file = path.string()});
  out.commit();
  return signature;
}

}  // namespace iodeep::iod

#include "iodeep/iod/IodeepObject.hpp"

#include <dcmtk/dcmdata/dcistrmf.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

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

constexpr std::array<std::string_view, 3> kPhotometric1 = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"};
constexpr std::array<std::string_view, 6> kPhotometric3 = {"RGB",     "YBR_FULL", "YBR_FULL_422",
                                                           "YBR_ICT", "YBR_RCT",  "YBR_PARTIAL_420"};

DcmTagKey privateTag(std::uint16_t creatorElement, std::uint8_t offset) {
  return {kPrivateGroup, static_cast<Uint16>((creatorElement << 8U) | offset)};
}

// Truncates to the DICOM maximum of a VR measured in characters (LO: 64), never inside one.
std::string clip(std::string_view s, std::size_t max) {
  return utf8Prefix(s, max);
}

bool validPhotometric(std::uint16_t spp, std::string_view pi) {
  if (spp == 1) return std::find(kPhotometric1.begin(), kPhotometric1.end(), pi) != kPhotometric1.end();
  if (spp == 3) return std::find(kPhotometric3.begin(), kPhotometric3.end(), pi) != kPhotometric3.end();
  return false;
}

// Problems with the object's identifying UIDs; the writer refuses them, verifyIodeep reports them.
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
  DcmTag tag(privateTag(0x10, element::kWeightsPayload), DcmVR(EVR_OB));
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

namespace {

std::string dnnUidFromCanonical(const std::string& canonical, std::string_view weightsSha256Hex) {
  Sha256 h;
  h.update("IODEEP-DNNUID-1\n");
  h.update(std::to_string(canonical.size()) + "\n");
  h.update(canonical);
  h.update("\n");
  h.update(weightsSha256Hex);
  return uidFromDigest(h.finish());
}

}  // namespace

std::string deriveDnnUid(std::string_view architectureJson, std::string_view weightsSha256Hex) {
  return dnnUidFromCanonical(canonicalJson(architectureJson, "architecture"), weightsSha256Hex);
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
  if (!validPhotometric(t.samplesPerPixel, t.photometricInterpretation)) {
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
  if (const auto problems = uidProblems(m); !problems.empty()) {
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
  w.priv(privateTag(0x10, element::kArchitecture), EVR_UT, m.architectureJson);
  if (!m.weightsUri.empty()) w.priv(privateTag(0x10, element::kWeightsUri), EVR_UT, m.weightsUri);
  w.priv(privateTag(0x10, element::kName), EVR_LO, m.name);
  w.priv(privateTag(0x10, element::kUid), EVR_UI, m.dnnUid);
  if (!m.version.empty()) w.priv(privateTag(0x10, element::kVersion), EVR_LO, m.version);
  if (!m.description.empty()) w.priv(privateTag(0x10, element::kDescription), EVR_UT, m.description);
  w.priv(privateTag(0x10, element::kWeightsFormat), EVR_CS, m.weightsFormat);
  w.priv(privateTag(0x10, element::kWeightsSha256), EVR_LO, m.weightsSha256);
  {
    DcmTag lengthTag(privateTag(0x10, element::kWeightsLength), DcmVR(EVR_UL));
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

ObjectKind probeObject(const std::filesystem::path& path) {
  auto file = dcmtk::loadFile(path);
  DcmDataset& ds = *file->getDataset();
  if (dcmtk::findPrivateCreator(ds, kPrivateGroup, kPrivateCreator) != 0) return ObjectKind::Iodeep;
  // Legacy: unreserved (0017,0016) + (0017,0018)
  if (ds.tagExists(DcmTagKey(kPrivateGroup, 0x0016)) && ds.tagExists(DcmTagKey(kPrivateGroup, 0x0018))) {
    return ObjectKind::Legacy;
  }
  return ObjectKind::Other;
}

namespace {
// Values longer than this stay in the file when an IODeep object is read (the payload).
constexpr std::uint32_t kLoadInMemoryUpTo = 1U << 20U;
}  // namespace

IodeepFile readIodeep(const std::filesystem::path& path) {
  // The payload (up to hundreds of MB) is not read into memory: it is mapped from the file below.
  auto fileFormat = dcmtk::loadFile(path, kLoadInMemoryUpTo);
  DcmDataset& ds = *fileFormat->getDataset();
  DcmMetaInfo& meta = *fileFormat->getMetaInfo();
  const ErrorContext where{.file = path.string()};

  IodeepFile f;
  f.transferSyntaxUid = dcmtk::transferSyntaxOf(*fileFormat);
  f.mediaStorageSopClassUid = dcmtk::getString(meta, DCM_MediaStorageSOPClassUID);
  f.creatorElement = dcmtk::findPrivateCreator(ds, kPrivateGroup, kPrivateCreator);
  if (f.creatorElement == 0) {
    if (ds.tagExists(DcmTagKey(kPrivateGroup, 0x0016)) && ds.tagExists(DcmTagKey(kPrivateGroup, 0x0018))) {
      throw Error(ErrorCode::LegacyIodeep,
                  "an object of the published IODeep reference code (no private creator); "
                  "convert it with 'iodeep pack --from-legacy'",
                  where);
    }
    throw Error(ErrorCode::NotIodeep,
                "not an IODeep object (no private creator \"" + std::string(kPrivateCreator) + "\" in group 0017)",
                where);
  }
  const auto p = [&](std::uint8_t offset) { return privateTag(f.creatorElement, offset); };
  auto& m = f.model;
  m.architectureJson = dcmtk::getString(ds, p(element::kArchitecture));
  m.weightsUri = dcmtk::getString(ds, p(element::kWeightsUri));
  m.name = dcmtk::getString(ds, p(element::kName));
  m.dnnUid = dcmtk::getString(ds, p(element::kUid));
  m.version = dcmtk::getString(ds, p(element::kVersion));
  m.description = dcmtk::getString(ds, p(element::kDescription));
  m.weightsFormat = dcmtk::getString(ds, p(element::kWeightsFormat));
  m.weightsSha256 = dcmtk::getString(ds, p(element::kWeightsSha256));

  const auto req = [&](const std::string& value, std::string_view what) {
    if (value.empty()) throw Error(ErrorCode::MalformedIodeep, "IODeep object without " + std::string(what), where);
  };
  req(m.architectureJson, "DnnArchitecture");
  req(m.name, "DnnName");
  req(m.dnnUid, "DnnUID");

  DcmElement* payload = nullptr;
  if (ds.findAndGetElement(p(element::kWeightsPayload), payload).good() && payload != nullptr &&
      payload->getLength() > 0) {
    const auto offset = dcmtk::valueOffsetInFile(*payload);
    if (offset && payload->getVR() == EVR_OB) {
      // Left in the file by DCMTK (longer than kLoadInMemoryUpTo): mapped, not copied; the
      // tensors built from it view the same pages.
      const auto mapped = ByteBuffer::mapFile(path);
      if (*offset > mapped.size() || payload->getLength() > mapped.size() - *offset) {
        throw Error(ErrorCode::TruncatedDicom, "DnnWeightsPayload runs past the end of the file", where);
      }
      m.weights = mapped.slice(static_cast<std::size_t>(*offset), payload->getLength());
    } else {
      Uint8* bytes = nullptr;
      dcmtk::check(payload->getUint8Array(bytes), ErrorCode::MalformedIodeep, "DnnWeightsPayload", where);
      if (bytes == nullptr) throw Error(ErrorCode::MalformedIodeep, "DnnWeightsPayload is not binary", where);
      // The buffer keeps the whole DICOM object alive: the payload is not copied.
      std::shared_ptr<DcmFileFormat> owner(std::move(fileFormat));
      m.weights = ByteBuffer::view(
          owner, std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes), payload->getLength()));
    }
    // DICOM pads an odd-length value with one 0x00: hand back the payload's own bytes only.
    Uint32 length = 0;
    if (ds.findAndGetUint32(p(element::kWeightsLength), length).good()) {
      if (length > m.weights.size() || m.weights.size() - length > 1) {
        throw Error(ErrorCode::MalformedIodeep,
                    "DnnWeightsLength " + std::to_string(length) + " does not fit the " +
                        std::to_string(m.weights.size()) + "-byte payload",
                    where);
      }
      m.weights = m.weights.slice(0, length);
    } else if (m.weightsFormat == kWeightsFormatSafetensors) {
      try {
        const auto logical = Safetensors::parse(m.weights, "DnnWeightsPayload").logicalBytes().size();
        if (logical < m.weights.size()) m.weights = m.weights.slice(0, logical);
      } catch (const Error&) {
        // left as stored; verifyIodeep() reports why it does not parse
      }
    }
    if (m.weightsFormat.empty()) throw Error(ErrorCode::MalformedIodeep, "payload without DnnWeightsFormat", where);
    if (m.weightsSha256.empty()) throw Error(ErrorCode::MalformedIodeep, "payload without DnnWeightsSHA256", where);
  } else if (m.weightsUri.empty()) {
    throw Error(ErrorCode::MalformedIodeep, "neither an embedded weights payload nor a DnnWeights URI", where);
  }

  m.target.modality = dcmtk::getString(ds, DCM_Modality);
  m.target.bodyPartExamined = dcmtk::getString(ds, DCM_BodyPartExamined);
  Uint16 spp = 0;
  if (ds.findAndGetUint16(DCM_SamplesPerPixel, spp).bad()) {
    f.findings.push_back({Finding::Severity::Error, ErrorCode::MalformedIodeep, "SamplesPerPixel is missing",
                          ErrorContext{.dicomTag = dcmtk::tagString(DCM_SamplesPerPixel)}});
  }
  m.target.samplesPerPixel = spp;
  m.target.photometricInterpretation = dcmtk::getString(ds, DCM_PhotometricInterpretation);
  m.target.patientOrientation = dcmtk::getString(ds, DCM_PatientOrientation);
  m.studyInstanceUid = dcmtk::getString(ds, DCM_StudyInstanceUID);
  m.seriesInstanceUid = dcmtk::getString(ds, DCM_SeriesInstanceUID);
  m.sopInstanceUid = dcmtk::getString(ds, DCM_SOPInstanceUID);
  m.studyDescription = dcmtk::getString(ds, DCM_StudyDescription);
  m.seriesDescription = dcmtk::getString(ds, DCM_SeriesDescription);
  m.manufacturer = dcmtk::getString(ds, DCM_Manufacturer);
  m.softwareVersions = dcmtk::getString(ds, DCM_SoftwareVersions);
  m.contentDate = dcmtk::getString(ds, DCM_ContentDate);
  m.contentTime = dcmtk::getString(ds, DCM_ContentTime);
  m.creatorVersionUid = dcmtk::getString(ds, DCM_CreatorVersionUID);
  f.sopClassUid = dcmtk::getString(ds, DCM_SOPClassUID);

  if (f.creatorElement != 0x10) {
    f.findings.push_back({Finding::Severity::Warning, ErrorCode::MalformedIodeep,
                          "private block reserved at (0017," +
                              std::string(DcmTag(kPrivateGroup, f.creatorElement).toString().c_str()).substr(6, 4) +
                              ") rather than (0017,0010); read by its creator string"});
  }
  return f;
}

Finding Finding::of(const Error& error, Severity severity) {
  return {severity, error.code(), error.detail(), error.context()};
}

namespace {

std::vector<Finding> verify(const IodeepFile& f, const std::string* canonicalArchitecture) {
  std::vector<Finding> out = f.findings;
  const auto error = [&](ErrorCode code, std::string msg, ErrorContext where = {}) {
    out.push_back({Finding::Severity::Error, code, std::move(msg), std::move(where)});
  };
  const auto warn = [&](std::string msg) {
    out.push_back({Finding::Severity::Warning, ErrorCode::MalformedIodeep, std::move(msg)});
  };
  const auto& m = f.model;

  if (f.sopClassUid != kRawDataStorageUid) {
    error(ErrorCode::MalformedIodeep,
          "SOPClassUID is " + f.sopClassUid + ", not Raw Data Storage (" + std::string(kRawDataStorageUid) + ")");
  }
  if (f.mediaStorageSopClassUid.empty()) {
    error(ErrorCode::MalformedIodeep, "no File Meta Information (MediaStorageSOPClassUID absent; PS3.10 7.1)");
  } else if (f.mediaStorageSopClassUid != f.sopClassUid) {
    error(ErrorCode::MalformedIodeep,
          "MediaStorageSOPClassUID " + f.mediaStorageSopClassUid + " differs from SOPClassUID " + f.sopClassUid);
  }
  if (f.transferSyntaxUid != UID_LittleEndianExplicitTransferSyntax) {
    warn("transfer syntax " + f.transferSyntaxUid + " is not Explicit VR Little Endian");
  }
  for (auto& problem : uidProblems(m)) error(ErrorCode::MalformedIodeep, std::move(problem));
  if (m.target.modality.empty()) {
    error(ErrorCode::MalformedIodeep, "Modality is empty", {.dicomTag = dcmtk::tagString(DCM_Modality)});
  }
  if (m.target.bodyPartExamined.empty()) {
    error(ErrorCode::MalformedIodeep, "BodyPartExamined is empty",
          {.dicomTag = dcmtk::tagString(DCM_BodyPartExamined)});
  }
  if (m.target.samplesPerPixel != 0 &&
      !validPhotometric(m.target.samplesPerPixel, m.target.photometricInterpretation)) {
    error(ErrorCode::MalformedIodeep, "PhotometricInterpretation '" + m.target.photometricInterpretation +
                                          "' does not fit SamplesPerPixel " + std::to_string(m.target.samplesPerPixel));
  }
  if (m.seriesDescription.rfind(kSeriesDescriptionPrefix, 0) != 0) {
    warn("SeriesDescription does not start with '" + std::string(kSeriesDescriptionPrefix) +
         "': C-FIND by the IODeep convention will not find it");
  }

  // The canonical architecture is needed for the DnnUID; making it also checks the JSON.
  std::optional<std::string> canonical;
  if (canonicalArchitecture != nullptr) {
    canonical = *canonicalArchitecture;
  } else {
    try {
      canonical = canonicalJson(m.architectureJson, "DnnArchitecture");
    } catch (const Error& e) {
      out.push_back(Finding::of(e));
    }
  }

  if (m.weights.empty()) {
    if (m.weightsUri.empty()) error(ErrorCode::MalformedIodeep, "no weights: neither payload nor URI");
    return out;
  }
  std::span<const std::byte> logical = m.weights.bytes();
  if (m.weightsFormat == kWeightsFormatTorchScript) {
    warn("the network is a TorchScript archive: code as well as data; clients run it only when configured to");
  } else if (m.weightsFormat == kWeightsFormatSafetensors) {
    try {
      const Safetensors st = Safetensors::parse(m.weights, "DnnWeightsPayload");
      logical = st.logicalBytes();
      st.checkFinite("DnnWeightsPayload");
    } catch (const Error& e) {
      out.push_back(Finding::of(e));
    }
  } else {
    error(ErrorCode::MalformedIodeep, "DnnWeightsFormat '" + m.weightsFormat + "' is neither " +
                                          std::string(kWeightsFormatSafetensors) + " nor " +
                                          std::string(kWeightsFormatTorchScript));
    return out;
  }
  // One integrity check for every format: the payload's hash, then the DnnUID derived from it.
  const std::string actual = toHex(sha256(logical));
  if (actual != m.weightsSha256) {
    error(ErrorCode::ChecksumMismatch,
          "SHA-256 mismatch: DnnWeightsSHA256 says " + m.weightsSha256 + ", payload has " + actual);
  } else if (canonical) {
    const std::string expected = dnnUidFromCanonical(*canonical, m.weightsSha256);
    if (expected != m.dnnUid) {
      error(ErrorCode::MalformedIodeep,
            "DnnUID " + m.dnnUid + " does not match the network's content (" + expected + ")");
    }
  }
  return out;
}

}  // namespace

std::vector<Finding> verifyIodeep(const IodeepFile& file) {
  return verify(file, nullptr);
}

std::vector<Finding> verifyIodeep(const IodeepFile& file, const std::string& canonicalArchitecture) {
  return verify(file, &canonicalArchitecture);
}

}  // namespace iodeep::iod

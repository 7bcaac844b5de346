// Reading an IODeep object (probeObject, readIodeep) and verifying it (verifyIodeep).
#include "iodeep/iod/IodeepObject.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "IodeepSupport.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Uid.hpp"

namespace iodeep::iod {

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
  const auto p = [&](std::uint8_t offset) { return detail::privateTag(f.creatorElement, offset); };
  auto& m = f.model;
  m.architectureJson = dcmtk::getString(ds, p(element::kArchitecture));
  m.weightsUri = dcmtk::getString(ds, p(element::kWeightsUri));
  m.name = dcmtk::getString(ds, p(element::kName));
  m.dnnUid = dcmtk::getString(ds, p(element::kUid));
  m.version = dcmtk::getString(ds, p(element::kVersion));
  m.description = dcmtk::getString(ds, p(element::kDescription));
  m.weightsFormat = dcmtk::getString(ds, p(element::kWeightsFormat));
  m.weightsSha256 = dcmtk::getString(ds, p(element::kWeightsSha256));
  m.predecessorDnnUid = dcmtk::getString(ds, p(element::kPredecessorUid));
  m.predecessorSopInstanceUid = dcmtk::getString(ds, p(element::kPredecessorSop));
  m.trainingJson = dcmtk::getString(ds, p(element::kTraining));

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
  for (auto& problem : detail::uidProblems(m)) error(ErrorCode::MalformedIodeep, std::move(problem));
  if (m.target.modality.empty()) {
    error(ErrorCode::MalformedIodeep, "Modality is empty", {.dicomTag = dcmtk::tagString(DCM_Modality)});
  }
  if (m.target.bodyPartExamined.empty()) {
    error(ErrorCode::MalformedIodeep, "BodyPartExamined is empty",
          {.dicomTag = dcmtk::tagString(DCM_BodyPartExamined)});
  }
  if (m.target.samplesPerPixel != 0 &&
      !detail::validPhotometric(m.target.samplesPerPixel, m.target.photometricInterpretation)) {
    error(ErrorCode::MalformedIodeep, "PhotometricInterpretation '" + m.target.photometricInterpretation +
                                          "' does not fit SamplesPerPixel " + std::to_string(m.target.samplesPerPixel));
  }
  if (m.seriesDescription.rfind(kSeriesDescriptionPrefix, 0) != 0) {
    warn("SeriesDescription does not start with '" + std::string(kSeriesDescriptionPrefix) +
         "': C-FIND by the IODeep convention will not find it");
  }

  // a fine-tuned network: its predecessor named by valid UIDs, its provenance JSON
  for (const auto& [uid, what] : {std::pair{&m.predecessorDnnUid, "DnnPredecessorUID"},
                                  std::pair{&m.predecessorSopInstanceUid, "DnnPredecessorSOPInstanceUID"}}) {
    if (!uid->empty() && !isValidUid(*uid))
      error(ErrorCode::MalformedIodeep, std::string(what) + " is not a valid UID");
  }
  if (!m.predecessorDnnUid.empty() && m.predecessorDnnUid == m.dnnUid) {
    error(ErrorCode::MalformedIodeep, "DnnPredecessorUID is the network's own DnnUID");
  }
  if (!m.trainingJson.empty()) {
    try {
      checkJson(m.trainingJson, "DnnTraining");
    } catch (const Error& e) {
      out.push_back(Finding::of(e));
    }
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
    const std::string expected = detail::dnnUidFromCanonical(*canonical, m.weightsSha256);
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

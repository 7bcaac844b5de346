// A slice's attributes read from its header, its geometry, and the entry points readSlice and checkSlice.
#include "iodeep/iod/Slice.hpp"

#include <cmath>
#include <memory>

#include "SliceSupport.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::iod {

namespace {

std::optional<double> getDouble(DcmItem& item, const DcmTagKey& key, unsigned long pos = 0) {
  Float64 v = 0;
  if (item.findAndGetFloat64(key, v, pos).good() && std::isfinite(v)) return v;
  return std::nullopt;
}

template <std::size_t N>
std::optional<std::array<double, N>> getVector(DcmItem& item, const DcmTagKey& key) {
  std::array<double, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const auto v = getDouble(item, key, i);
    if (!v) return std::nullopt;
    out[i] = *v;
  }
  return out;
}

std::unique_ptr<DcmFileFormat> loadImage(const std::filesystem::path& path) {
  dcmtk::registerDecoders();
  return dcmtk::loadFile(path);
}

struct Frame {
  std::array<double, 3> origin, x, y;
  double rowSpacing, columnSpacing;
};

Frame frameOf(const SliceAttributes& s) {
  if (!s.pixelSpacing || !s.imagePositionPatient || !s.imageOrientationPatient) {
    throw Error(ErrorCode::MissingGeometry,
                "the slice has no geometry (ImagePositionPatient, ImageOrientationPatient, PixelSpacing)",
                ErrorContext{.uid = s.sopInstanceUid});
  }
  const auto& o = *s.imageOrientationPatient;
  return {*s.imagePositionPatient, {o[0], o[1], o[2]}, {o[3], o[4], o[5]}, (*s.pixelSpacing)[0], (*s.pixelSpacing)[1]};
}

}  // namespace

namespace detail {

std::uint16_t getUS(DcmItem& item, const DcmTagKey& key, std::uint16_t fallback) {
  Uint16 v = 0;
  return item.findAndGetUint16(key, v).good() ? v : fallback;
}

std::optional<std::uint16_t> lutDescriptorValue(DcmItem& item, unsigned long pos) {
  Uint16 u = 0;
  if (item.findAndGetUint16(DCM_LUTDescriptor, u, pos).good()) return u;
  Sint16 v = 0;
  if (item.findAndGetSint16(DCM_LUTDescriptor, v, pos).good()) return static_cast<std::uint16_t>(v);
  return std::nullopt;
}

SliceAttributes attributesOf(DcmDataset& ds, DcmMetaInfo& meta) {
  SliceAttributes a;
  const auto s = [&](const DcmTagKey& k) { return dcmtk::getString(ds, k); };
  dcmtk::Utf8Text utf8(ds);  // text values as UTF-8, from the slice's SpecificCharacterSet
  const auto text = [&](const DcmTagKey& k, bool personName = false) { return utf8(s(k), personName); };
  a.sopClassUid = s(DCM_SOPClassUID);
  a.sopInstanceUid = s(DCM_SOPInstanceUID);
  a.studyInstanceUid = s(DCM_StudyInstanceUID);
  a.seriesInstanceUid = s(DCM_SeriesInstanceUID);
  a.frameOfReferenceUid = s(DCM_FrameOfReferenceUID);
  a.transferSyntaxUid = dcmtk::getString(meta, DCM_TransferSyntaxUID);
  if (a.transferSyntaxUid.empty()) a.transferSyntaxUid = DcmXfer(ds.getOriginalXfer()).getXferID();  // no meta
  a.modality = s(DCM_Modality);
  a.bodyPartExamined = s(DCM_BodyPartExamined);
  a.studyDescription = text(DCM_StudyDescription);
  a.seriesDescription = text(DCM_SeriesDescription);
  a.patientName = text(DCM_PatientName, true);
  a.patientId = text(DCM_PatientID);
  a.patientBirthDate = s(DCM_PatientBirthDate);
  a.patientSex = s(DCM_PatientSex);
  a.accessionNumber = text(DCM_AccessionNumber);
  a.institutionName = text(DCM_InstitutionName);
  a.referringPhysicianName = text(DCM_ReferringPhysicianName, true);
  a.studyDate = s(DCM_StudyDate);
  a.studyTime = s(DCM_StudyTime);
  a.studyId = text(DCM_StudyID);
  a.seriesNumber = s(DCM_SeriesNumber);
  a.instanceNumber = s(DCM_InstanceNumber);
  a.samplesPerPixel = getUS(ds, DCM_SamplesPerPixel);
  a.rows = getUS(ds, DCM_Rows);
  a.columns = getUS(ds, DCM_Columns);
  a.bitsAllocated = getUS(ds, DCM_BitsAllocated);
  a.bitsStored = getUS(ds, DCM_BitsStored, a.bitsAllocated);
  a.highBit = getUS(ds, DCM_HighBit, static_cast<std::uint16_t>(a.bitsStored > 0 ? a.bitsStored - 1 : 0));
  a.pixelRepresentation = getUS(ds, DCM_PixelRepresentation);
  a.planarConfiguration = getUS(ds, DCM_PlanarConfiguration);
  a.photometricInterpretation = s(DCM_PhotometricInterpretation);
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0) a.numberOfFrames = frames;
  a.rescaleSlope = getDouble(ds, DCM_RescaleSlope).value_or(1.0);
  a.rescaleIntercept = getDouble(ds, DCM_RescaleIntercept).value_or(0.0);
  if (a.rescaleSlope == 0.0) a.rescaleSlope = 1.0;
  DcmItem* lut = nullptr;
  if (ds.findAndGetSequenceItem(DCM_ModalityLUTSequence, lut, 0).good() && lut != nullptr) {
    ModalityLut m;
    const std::uint32_t entries = lutDescriptorValue(*lut, 0).value_or(0);
    m.entries = entries == 0 ? 65536U : entries;
    const std::uint16_t first = lutDescriptorValue(*lut, 1).value_or(0);
    m.firstMapped = a.pixelRepresentation == 1 ? static_cast<std::int16_t>(first) : first;
    m.bitsPerEntry = lutDescriptorValue(*lut, 2).value_or(0);
    m.type = dcmtk::getString(*lut, DCM_ModalityLUTType);
    a.modalityLut = m;
    a.rescaleSlope = 1.0;  // the sequence takes precedence (PS3.3 C.11.1)
    a.rescaleIntercept = 0.0;
  }
  for (unsigned long i = 0;; ++i) {
    const auto c = getDouble(ds, DCM_WindowCenter, i);
    const auto w = getDouble(ds, DCM_WindowWidth, i);
    if (!c || !w) break;
    if (*w > 0) {
      OFString explanation;
      ds.findAndGetOFString(DCM_WindowCenterWidthExplanation, explanation, i);
      a.windows.push_back({*c, *w, utf8(std::string(explanation.c_str(), explanation.length()))});
    }
  }
  a.pixelSpacing = getVector<2>(ds, DCM_PixelSpacing);
  a.imagePositionPatient = getVector<3>(ds, DCM_ImagePositionPatient);
  a.imageOrientationPatient = getVector<6>(ds, DCM_ImageOrientationPatient);
  a.sliceThickness = getDouble(ds, DCM_SliceThickness);
  if (a.sliceThickness && !(*a.sliceThickness > 0.0)) a.sliceThickness.reset();  // 0, negative, NaN: not a thickness
  if (utf8.failed()) {
    warn("text of instance " + a.sopInstanceUid + " in SpecificCharacterSet '" + utf8.charset() +
         "' could not be converted to UTF-8: characters beyond ASCII replaced by U+FFFD");
  }
  return a;
}

}  // namespace detail

SliceAttributes readSliceAttributes(const std::filesystem::path& path) {
  auto file = dcmtk::loadFileUntil(path, DCM_PixelData);  // nothing of the pixels is read
  return detail::attributesOf(*file->getDataset(), *file->getMetaInfo());
}

void checkSlice(const std::filesystem::path& path, std::int32_t frame) {
  auto file = loadImage(path);
  try {
    DcmDataset& ds = *file->getDataset();
    detail::checkDecodable(ds, detail::attributesOf(ds, *file->getMetaInfo()), frame);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

SliceImage readSlice(const std::filesystem::path& path, std::int32_t frame) {
  auto file = loadImage(path);
  try {
    return detail::decodeSlice(*file, frame);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

std::array<double, 3> pixelToPatient(const SliceAttributes& slice, double column, double row) {
  const Frame f = frameOf(slice);
  std::array<double, 3> p{};
  for (std::size_t i = 0; i < 3; ++i) {
    p[i] = f.origin[i] + column * f.columnSpacing * f.x[i] + row * f.rowSpacing * f.y[i];
  }
  return p;
}

std::array<double, 2> patientToPixel(const SliceAttributes& slice, const std::array<double, 3>& point) {
  const Frame f = frameOf(slice);
  std::array<double, 3> d{};
  for (std::size_t i = 0; i < 3; ++i) d[i] = point[i] - f.origin[i];
  const double dx = d[0] * f.x[0] + d[1] * f.x[1] + d[2] * f.x[2];
  const double dy = d[0] * f.y[0] + d[1] * f.y[1] + d[2] * f.y[2];
  return {dx / f.columnSpacing, dy / f.rowSpacing};
}

}  // namespace iodeep::iod

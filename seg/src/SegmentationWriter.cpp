// DICOM Segmentation writer over DCMTK's dcmseg IOD classes; Pixel Data packed here (docs/seg.md).
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmfg/fgseg.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "PixelPacking.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DateTime.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/seg/Segmentation.hpp"

#ifndef IODEEP_VERSION
#define IODEEP_VERSION "0.0.0"
#endif

namespace iodeep::seg {

namespace {

using rtstruct::ApprovalStatus;
using rtstruct::RoiGeneration;

// Our segmentations' series: after the images and after our structure sets (9901).
constexpr const char* kSeriesNumber = "9902";

// Every dcmseg/dcmfg/dcmiod condition, checked through the one DCMTK bridge.
void check(const OFCondition& c, const std::string& what) {
  iod::dcmtk::check(c, ErrorCode::DicomError, what, ErrorContext{.part = "Segmentation"});
}

std::string number(double v) {
  // DS: at most 16 characters
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  std::string s = buf;
  if (s == "-0") s = "0";
  return s;
}

// Free text copied from the slices, the network and the reviewer, and person names: as the
// structure set writer writes them (iod/Text.hpp).
std::string text(const std::string& value, std::size_t maxCharacters) {
  return iod::textValue(value, maxCharacters);
}

std::string person(const std::string& value) {
  return iod::personNameValue(value);
}

// CS: upper-case letters, digits, space and underscore, at most 16 characters
std::string codeString(const std::string& value, const std::string& fallback) {
  std::string out;
  for (const char c : value) {
    if (out.size() == 16) break;
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 && u < 0x80) {
      out += static_cast<char>(std::toupper(u));
    } else {
      out += c == ' ' ? ' ' : '_';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? fallback : out;
}

// DCMTK checks the values of the Content Identification and of each segment against the default
// character repertoire when it writes them (their items do not see the data set's
// SpecificCharacterSet, ISO_IR 192): ASCII stand-ins go through dcmseg, and the UTF-8 values are
// put into the written data set (put()).
std::string ascii(const std::string& value) {
  std::string out = value;
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return out;
}

void put(DcmItem& item, const DcmTagKey& key, const std::string& value) {
  check(item.putAndInsertOFStringArray(key, value), "cannot set " + iod::dcmtk::tagString(key));
}

DcmSegTypes::E_SegmentAlgoType algorithmType(RoiGeneration generation) {
  switch (generation) {
    case RoiGeneration::Automatic: return DcmSegTypes::SAT_AUTOMATIC;
    case RoiGeneration::Semiautomatic: return DcmSegTypes::SAT_SEMIAUTOMATIC;
    case RoiGeneration::Manual: return DcmSegTypes::SAT_MANUAL;
  }
  return DcmSegTypes::SAT_AUTOMATIC;
}

// The refusals of writeStructureSet, plus one image size for the whole segmentation.
void validate(const rtstruct::StructureSetInput& in, const SegmentationOptions& options) {
  const auto& first = rtstruct::checkStructureSetInput(in, "Segmentation");
  for (const auto* uid : {&options.sopInstanceUid, &options.seriesInstanceUid}) {
    if (!uid->empty() && !iod::isValidUid(*uid)) {
      throw Error(ErrorCode::InvalidArgument, "not a valid UID for the segmentation", ErrorContext{.uid = *uid});
    }
  }
  for (const auto& roi : in.rois) {
    for (const auto& c : roi.contours) {
      const auto& a = c.image;
      if (a.rows == 0 || a.columns == 0) {
        throw Error(ErrorCode::InvalidArgument, "Segmentation: the image has no Rows/Columns",
                    ErrorContext{.uid = a.sopInstanceUid});
      }
      if (a.rows != first.rows || a.columns != first.columns) {
        throw Error(ErrorCode::IncompatibleImage,
                    "Segmentation: images of different sizes (" + std::to_string(first.rows) + "x" +
                        std::to_string(first.columns) + ", " + std::to_string(a.rows) + "x" +
                        std::to_string(a.columns) + "): a segmentation has one Rows x Columns",
                    ErrorContext{.uid = a.sopInstanceUid});
      }
    }
  }
}

// One frame to write: a segment's rings on one image.
struct Frame {
  std::uint16_t segment{0};
  std::size_t image{0};  // index into the sorted images (0-based)
  std::vector<std::uint8_t> mask;
};

}  // namespace

WrittenSegmentation writeSegmentation(const rtstruct::StructureSetInput& in, const std::filesystem::path& path,
                                      const SegmentationOptions& options) {
  validate(in, options);
  if (in.rois.size() > std::numeric_limits<std::uint16_t>::max()) {
    throw Error(ErrorCode::InvalidArgument, "Segmentation: more than 65535 ROIs (segment numbers are 16-bit)");
  }
  // the images, in the order of their position along the first one's normal
  std::map<std::string, const iod::SliceAttributes*> byUid;
  for (const auto& roi : in.rois) {
    for (const auto& c : roi.contours) byUid.emplace(c.image.sopInstanceUid, &c.image);
  }
  std::vector<const iod::SliceAttributes*> images;
  images.reserve(byUid.size());
  for (const auto& [uid, a] : byUid) images.push_back(a);
  const auto& o = *images.front()->imageOrientationPatient;
  const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  const auto along = [&](const iod::SliceAttributes* a) {
    const auto& p = *a->imagePositionPatient;
    return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
  };
  std::stable_sort(images.begin(), images.end(), [&](const auto* x, const auto* y) { return along(x) < along(y); });
  std::map<std::string, std::size_t> imageIndex;
  for (std::size_t i = 0; i < images.size(); ++i) imageIndex[images[i]->sopInstanceUid] = i;
  const auto& src = *images.front();
  const std::uint16_t rows = src.rows;
  const std::uint16_t columns = src.columns;

  // the frames: each ROI's rings per image, filled even-odd together (as the structure set's
  // rings on that image mean), in segment order, then image order; counted first, so that no more
  // is filled than readSegmentation would take back (iod::SliceLimits)
  std::vector<std::map<std::size_t, std::vector<iod::Ring>>> rings(in.rois.size());
  std::size_t frameCount = 0;
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    for (const auto& c : in.rois[r].contours) {
      if (c.rings.empty()) continue;
      auto& list = rings[r][imageIndex.at(c.image.sopInstanceUid)];
      if (list.empty()) ++frameCount;
      list.insert(list.end(), c.rings.begin(), c.rings.end());
    }
  }
  if (frameCount == 0) throw Error(ErrorCode::InvalidArgument, "Segmentation: no ring to write");
  const std::size_t pixelsPerFrame = static_cast<std::size_t>(rows) * columns;
  if (frameCount > iod::SliceLimits::kMaxDecodedBytes / pixelsPerFrame) {
    throw Error(ErrorCode::ResourceLimit, "Segmentation: " + std::to_string(frameCount) + " frames of " +
                                              std::to_string(rows) + "x" + std::to_string(columns) +
                                              " are beyond the slice limits");
  }
  std::vector<Frame> frames;
  frames.reserve(frameCount);
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    for (const auto& [image, list] : rings[r]) {
      frames.push_back({static_cast<std::uint16_t>(r + 1), image, iod::fillEvenOdd(list, rows, columns)});
    }
  }

  const auto [today, time] = iod::nowDicomDateTime();
  const std::string series = options.seriesInstanceUid.empty() ? iod::makeRandomUid() : options.seriesInstanceUid;
  const std::string sop = options.sopInstanceUid.empty() ? iod::makeRandomUid() : options.sopInstanceUid;
  const std::string reviewDate = in.reviewDate.empty() ? today : in.reviewDate;
  const std::string reviewTime = in.reviewTime.empty() ? time : in.reviewTime;
  const std::string networkName = in.network.name.empty() ? std::string("(unnamed network)") : in.network.name;

  // DCMTK checks the values handed to the factory against the default character repertoire:
  // plain placeholders there, the UTF-8 values set unchecked below.
  DcmSegmentation* created = nullptr;
  check(DcmSegmentation::createBinarySegmentation(
            created, rows, columns,
            IODGeneralEquipmentModule::EquipmentInfo("iodeep", "iodeep", "iodeep", IODEEP_VERSION),
            ContentIdentificationMacro("1", "IODEEP", "", "")),
        "cannot create the segmentation");
  std::unique_ptr<DcmSegmentation> seg(created);

  // Patient and General Study: copied from the images
  check(seg->getPatient().setPatientName(person(src.patientName), OFFalse), "PatientName");
  check(seg->getPatient().setPatientID(text(src.patientId, 64), OFFalse), "PatientID");
  check(seg->getPatient().setPatientBirthDate(src.patientBirthDate), "PatientBirthDate");
  check(seg->getPatient().setPatientSex(src.patientSex), "PatientSex");
  auto& study = seg->getStudy();
  check(study.setStudyInstanceUID(src.studyInstanceUid), "StudyInstanceUID");
  check(study.setStudyDate(src.studyDate), "StudyDate");
  check(study.setStudyTime(src.studyTime), "StudyTime");
  check(study.setReferringPhysicianName(person(src.referringPhysicianName), OFFalse), "ReferringPhysicianName");
  check(study.setStudyID(text(src.studyId, 16), OFFalse), "StudyID");
  check(study.setAccessionNumber(text(src.accessionNumber, 16), OFFalse), "AccessionNumber");
  check(study.setStudyDescription(text(src.studyDescription, 64), OFFalse), "StudyDescription");
  // General and Segmentation Series, Frame of Reference, SOP Common, General Image
  check(seg->getSeries().setSeriesInstanceUID(series), "SeriesInstanceUID");
  const std::string seriesDescription = !options.seriesDescription.empty()        ? text(options.seriesDescription, 64)
                                        : in.approval == ApprovalStatus::Rejected ? "IODEEP REJECTED SEG"
                                                                                  : "IODEEP AI SEG";
  check(seg->getSeries().setSeriesDescription(seriesDescription, OFFalse), "SeriesDescription");
  check(seg->getSegmentationSeriesModule().setSeriesNumber(kSeriesNumber), "SeriesNumber");
  check(seg->getFrameOfReference().setFrameOfReferenceUID(src.frameOfReferenceUid), "FrameOfReferenceUID");
  check(seg->getFrameOfReference().setPositionReferenceIndicator(""), "PositionReferenceIndicator");
  check(seg->getSOPCommon().setSOPInstanceUID(sop), "SOPInstanceUID");
  check(seg->getSOPCommon().setSpecificCharacterSet("ISO_IR 192"), "SpecificCharacterSet");
  check(seg->getSOPCommon().setInstanceCreationDate(today), "InstanceCreationDate");
  check(seg->getSOPCommon().setInstanceCreationTime(time), "InstanceCreationTime");
  check(seg->getGeneralImage().setContentDate(today), "ContentDate");
  check(seg->getGeneralImage().setContentTime(time), "ContentTime");

  // Content Identification: what a SEG viewer shows of the review (the UTF-8 values after writing)
  auto& content = seg->getContentIdentification();
  check(content.setContentLabel(codeString(in.label, "IODEEP_SEG")), "ContentLabel");
  const std::string review =
      text(in.approval == ApprovalStatus::Unapproved
               ? "UNAPPROVED proposals of " + networkName
               : rtstruct::toString(in.approval) + " by " + in.reviewerName + " on " + reviewDate + " " + reviewTime,
           64);
  const std::string creator = in.approval == ApprovalStatus::Unapproved ? "" : person(in.reviewerName);
  check(content.setContentDescription(ascii(review), OFFalse), "ContentDescription");
  check(content.setContentCreatorName(ascii(creator), OFFalse), "ContentCreatorName");

  // the segments: one per ROI, numbered 1, 2, ... in order
  const std::string version = text(in.network.version.empty() ? "-" : in.network.version, 64);
  std::string parameters = "DnnUID=" + in.network.dnnUid;
  if (!in.network.sopInstanceUid.empty()) parameters += "; IODeep SOP Instance UID=" + in.network.sopInstanceUid;
  parameters = text(parameters, 10240);
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    const auto& roi = in.rois[r];
    DcmSegment* made = nullptr;
    check(DcmSegment::create(made, "SEGMENT", CodeSequenceMacro("85756007", "SCT", "Tissue"),
                             CodeSequenceMacro("85756007", "SCT", "Tissue"), algorithmType(roi.generation), "IODEEP"),
          "cannot create segment " + std::to_string(r + 1));
    std::unique_ptr<DcmSegment> segment(made);
    check(segment->setSegmentLabel(ascii(text(roi.name, 64)), OFFalse), "SegmentLabel");
    check(segment->setSegmentDescription(ascii(text(roi.interpretedType, 64)), OFFalse), "SegmentDescription");
    check(segment->setSegmentAlgorithm(algorithmType(roi.generation), ascii(text(networkName, 64)), OFFalse),
          "SegmentAlgorithmName");
    double l = 0;
    double a = 0;
    double b = 0;
    IODCIELabUtil::rgb2DicomLab(l, a, b, roi.color[0] / 255.0, roi.color[1] / 255.0, roi.color[2] / 255.0);
    const auto u16 = [](double v) { return static_cast<Uint16>(std::clamp(std::lround(v), 0L, 65535L)); };
    check(segment->setRecommendedDisplayCIELabValue(u16(l), u16(a), u16(b)), "RecommendedDisplayCIELabValue");
    // the network that proposed the ROI (Algorithm Identification Macro)
    AlgorithmIdentificationMacro algorithm;
    check(algorithm.getAlgorithmFamilyCode().set("123110", "DCM", "Artificial Intelligence"), "AlgorithmFamilyCode");
    check(algorithm.setAlgorithmName(ascii(text(networkName, 64)), OFFalse), "AlgorithmName");
    check(algorithm.setAlgorithmVersion(ascii(version), OFFalse), "AlgorithmVersion");
    check(algorithm.setAlgorithmParameters(ascii(parameters), OFFalse), "AlgorithmParameters");
    check(segment->setSegmentationAlgorithmIdentification(algorithm, OFFalse), "SegmentationAlgorithmIdentification");
    Uint16 assigned = 0;
    check(seg->addSegment(segment.get(), assigned), "cannot add segment " + std::to_string(r + 1));
    (void)segment.release();  // the segmentation owns it now
    if (assigned != r + 1) {
      throw Error(ErrorCode::Internal,
                  "Segmentation: segment " + std::to_string(r + 1) + " was numbered " + std::to_string(assigned));
    }
  }

  // geometry shared by every frame when the images agree on it, else per frame
  const auto orientation = [](const iod::SliceAttributes& a) {
    FGPlaneOrientationPatient fg;
    const auto& v = *a.imageOrientationPatient;
    check(fg.setImageOrientationPatient(number(v[0]), number(v[1]), number(v[2]), number(v[3]), number(v[4]),
                                        number(v[5])),
          "ImageOrientationPatient");
    return fg;
  };
  // SliceThickness: the image's; without one the frame has none (dciodvfy then reports it missing)
  const auto spacing = [](const iod::SliceAttributes& a) {
    FGPixelMeasures fg;
    check(fg.setPixelSpacing(number((*a.pixelSpacing)[0]) + "\\" + number((*a.pixelSpacing)[1])), "PixelSpacing");
    if (a.sliceThickness) check(fg.setSliceThickness(number(*a.sliceThickness)), "SliceThickness");
    return fg;
  };
  const bool oneOrientation = std::all_of(images.begin(), images.end(), [&](const auto* a) {
    return *a->imageOrientationPatient == *src.imageOrientationPatient;
  });
  const bool oneSpacing = std::all_of(images.begin(), images.end(), [&](const auto* a) {
    return *a->pixelSpacing == *src.pixelSpacing && a->sliceThickness == src.sliceThickness;
  });
  if (oneOrientation) check(seg->addForAllFrames(orientation(src)), "shared PlaneOrientationSequence");
  if (oneSpacing) check(seg->addForAllFrames(spacing(src)), "shared PixelMeasuresSequence");

  for (auto& f : frames) {
    const auto& image = *images[f.image];
    FGFrameContent frameContent;
    check(frameContent.setDimensionIndexValues(f.segment, 0), "DimensionIndexValues");
    check(frameContent.setDimensionIndexValues(static_cast<Uint32>(f.image + 1), 1), "DimensionIndexValues");
    FGSegmentation segmentation;
    check(segmentation.setReferencedSegmentNumber(f.segment), "ReferencedSegmentNumber");
    FGPlanePosPatient position;
    const auto& p = *image.imagePositionPatient;
    check(position.setImagePositionPatient(number(p[0]), number(p[1]), number(p[2])), "ImagePositionPatient");
    ImageSOPInstanceReferenceMacro ref;
    check(ref.setReferencedSOPClassUID(image.sopClassUid), "ReferencedSOPClassUID");
    check(ref.setReferencedSOPInstanceUID(image.sopInstanceUid), "ReferencedSOPInstanceUID");
    std::unique_ptr<FGDerivationImage> derivation(DcmSegmentation::createDerivationImageFG(
        OFVector<ImageSOPInstanceReferenceMacro>(1, ref), "rings of the RT Structure Set ROI filled even-odd"));
    if (!derivation) throw Error(ErrorCode::DicomError, "Segmentation: cannot create the DerivationImageSequence");
    FGPlaneOrientationPatient frameOrientation = orientation(image);
    FGPixelMeasures frameSpacing = spacing(image);
    OFVector<FGBase*> groups;
    groups.push_back(&frameContent);
    groups.push_back(&segmentation);
    groups.push_back(&position);
    groups.push_back(derivation.get());
    if (!oneOrientation) groups.push_back(&frameOrientation);
    if (!oneSpacing) groups.push_back(&frameSpacing);
    check(seg->addFrame(f.mask.data(), f.segment, groups), "cannot add a frame");
  }
  // dimensions: segment, then position of the image
  {
    const std::string organization = iod::makeRandomUid();
    auto& dims = seg->getDimensions();
    check(
        dims.addDimensionIndex(DCM_ReferencedSegmentNumber, organization, DCM_SegmentIdentificationSequence, "Segment"),
        "DimensionIndexSequence");
    check(dims.addDimensionIndex(DCM_ImagePositionPatient, organization, DCM_PlanePositionSequence, "Image position"),
          "DimensionIndexSequence");
  }
  // Common Instance Reference: every source image, by series
  {
    IODReferences references;
    for (const auto* a : images) {
      // IODReferences owns what it is given (DCMTK's contract)
      if (!references.add(new IODImageReference(  // NOLINT(cppcoreguidelines-owning-memory)
              text(src.patientId, 64), a->studyInstanceUid, a->seriesInstanceUid, a->sopInstanceUid, a->sopClassUid))) {
        throw Error(ErrorCode::DicomError, "Segmentation: cannot reference the source image",
                    ErrorContext{.uid = a->sopInstanceUid});
      }
    }
    (void)seg->getCommonInstanceReference().addReferences(references, src.studyInstanceUid);
  }

  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  check(seg->writeDataset(ds), "cannot build the data set");
  // Pixel Data: the standard packs 1-bit frames back to back, a frame starting inside a byte when
  // Rows x Columns is not a multiple of 8. DCMTK 3.6.7's dcmseg gets such frames' bits wrong
  // (docs/seg.md): its Pixel Data is replaced by our own packing.
  {
    std::vector<const std::vector<std::uint8_t>*> masks;
    masks.reserve(frames.size());
    for (const auto& f : frames) masks.push_back(&f.mask);
    const auto packed = packBinaryFrames(masks, pixelsPerFrame);
    DcmElement* pixels = nullptr;
    check(ds.findAndGetElement(DCM_PixelData, pixels), "PixelData");
    check(pixels->putUint8Array(packed.data(), static_cast<unsigned long>(packed.size())), "PixelData");
  }
  // the UTF-8 text of the Content Identification and of the segments (see ascii()). A MANUAL
  // segment has no SegmentAlgorithmName (dciodvfy: an error when present); the network that
  // proposed the set stays in its Algorithm Identification.
  put(ds, DCM_ContentDescription, review);
  put(ds, DCM_ContentCreatorName, creator);
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    DcmItem* item = nullptr;
    check(ds.findAndGetSequenceItem(DCM_SegmentSequence, item, static_cast<signed long>(r)), "SegmentSequence");
    Uint16 n = 0;
    check(item->findAndGetUint16(DCM_SegmentNumber, n), "SegmentNumber");
    if (n != r + 1) {
      throw Error(ErrorCode::Internal,
                  "Segmentation: segment " + std::to_string(r + 1) + " written as " + std::to_string(n));
    }
    put(*item, DCM_SegmentLabel, text(in.rois[r].name, 64));
    put(*item, DCM_SegmentDescription, text(in.rois[r].interpretedType, 64));
    if (in.rois[r].generation != RoiGeneration::Manual) put(*item, DCM_SegmentAlgorithmName, text(networkName, 64));
    DcmItem* algorithm = nullptr;
    check(item->findAndGetSequenceItem(DCM_SegmentationAlgorithmIdentificationSequence, algorithm, 0),
          "SegmentationAlgorithmIdentificationSequence");
    put(*algorithm, DCM_AlgorithmName, text(networkName, 64));
    put(*algorithm, DCM_AlgorithmVersion, version);
    put(*algorithm, DCM_AlgorithmParameters, parameters);
  }
  // Approval (as in the structure set): not an attribute of the SEG IOD, kept for what reads it
  check(ds.putAndInsertOFStringArray(DCM_ApprovalStatus, rtstruct::toString(in.approval).c_str()), "ApprovalStatus");
  if (in.approval != ApprovalStatus::Unapproved) {
    check(ds.putAndInsertOFStringArray(DCM_ReviewDate, reviewDate.c_str()), "ReviewDate");
    check(ds.putAndInsertOFStringArray(DCM_ReviewTime, reviewTime.c_str()), "ReviewTime");
    check(ds.putAndInsertOFStringArray(DCM_ReviewerName, person(in.reviewerName).c_str()), "ReviewerName");
  }

  iod::AtomicFile out(path);
  const OFCondition cond = file.saveFile(OFFilename(out.temporaryPath().c_str()), EXS_LittleEndianExplicit);
  iod::dcmtk::check(cond, ErrorCode::OutputError, "cannot write", ErrorContext{.file = path.string()});
  out.commit();
  return {sop, series, in.rois.size(), frames.size()};
}

}  // namespace iodeep::seg

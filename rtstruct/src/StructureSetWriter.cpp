// RT Structure Set writer over DCMTK's dcmrt IOD classes.
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmrt/drtstrct.h>

#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DateTime.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

#ifndef IODEEP_VERSION
#define IODEEP_VERSION "0.0.0"
#endif

namespace iodeep::rtstruct {

namespace {

// Our structure sets' series: a high SeriesNumber keeps them after the images in a viewer's list.
constexpr const char* kSeriesNumber = "9901";

// Every dcmrt setter's condition, checked through the one DCMTK bridge.
void check(const OFCondition& c, const std::string& what) {
  iod::dcmtk::check(c, ErrorCode::DicomError, what, ErrorContext{.part = "RT Structure Set"});
}

template <typename Seq>
typename Seq::Item& add(Seq& seq, const std::string& what) {
  typename Seq::Item* item = nullptr;
  check(seq.addItem(item), "cannot add an item to " + what);
  return *item;
}

std::string number(double v) {
  // DS: at most 16 characters; 0.001 mm is far below any image's resolution
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  if (s == "-0.000") s = "0.000";
  return s;
}

}  // namespace

std::string toString(ApprovalStatus status) {
  switch (status) {
    case ApprovalStatus::Approved: return "APPROVED";
    case ApprovalStatus::Rejected: return "REJECTED";
    case ApprovalStatus::Unapproved: return "UNAPPROVED";
  }
  return "UNAPPROVED";
}

std::string toString(RoiGeneration generation) {
  switch (generation) {
    case RoiGeneration::Automatic: return "AUTOMATIC";
    case RoiGeneration::Semiautomatic: return "SEMIAUTOMATIC";
    case RoiGeneration::Manual: return "MANUAL";
  }
  return "AUTOMATIC";
}

const iod::SliceAttributes& checkStructureSetInput(const StructureSetInput& in, std::string_view object) {
  const std::string what(object);
  if (in.rois.empty()) throw Error(ErrorCode::InvalidArgument, what + ": no ROI to write (an empty set)");
  if (in.approval != ApprovalStatus::Unapproved && in.reviewerName.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                what + ": " + toString(in.approval) + " needs the reviewer's name (ReviewerName is required then)");
  }
  // the images: one frame of reference, with geometry
  const iod::SliceAttributes* first = nullptr;
  std::set<std::int32_t> numbers;
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    const auto& roi = in.rois[r];
    const std::int32_t n = roi.number != 0 ? roi.number : static_cast<std::int32_t>(r + 1);
    if (n < 0 || !numbers.insert(n).second) {
      throw Error(ErrorCode::InvalidArgument,
                  what + ": ROI number " + std::to_string(n) + " is negative or used twice");
    }
    if (roi.name.empty() || roi.name.size() > 64)
      throw Error(ErrorCode::InvalidArgument, what + ": ROI names are 1-64 characters");
    if (roi.contours.empty()) throw Error(ErrorCode::InvalidArgument, what + ": ROI '" + roi.name + "' has no contour");
    for (const auto& c : roi.contours) {
      const auto& a = c.image;
      if (!a.pixelSpacing || !a.imagePositionPatient || !a.imageOrientationPatient) {
        throw Error(ErrorCode::MissingGeometry,
                    what +
                        ": the image has no ImagePositionPatient/ImageOrientationPatient/PixelSpacing; "
                        "the ROIs cannot be placed in patient space",
                    ErrorContext{.uid = a.sopInstanceUid});
      }
      if (a.frameOfReferenceUid.empty()) {
        throw Error(ErrorCode::MissingGeometry, what + ": the image has no FrameOfReferenceUID",
                    ErrorContext{.uid = a.sopInstanceUid});
      }
      if (first == nullptr) first = &a;
      if (a.frameOfReferenceUid != first->frameOfReferenceUid || a.studyInstanceUid != first->studyInstanceUid) {
        throw Error(ErrorCode::IncompatibleImage, what + ": images from different frames of reference or studies (" +
                                                      first->frameOfReferenceUid + ", " + a.frameOfReferenceUid + ")");
      }
      for (const auto& ring : c.rings) {
        if (ring.points.size() < 3) {
          throw Error(ErrorCode::InvalidArgument, what + ": ROI '" + roi.name + "' has a ring of " +
                                                      std::to_string(ring.points.size()) + " point(s) (at least 3)");
        }
      }
    }
  }
  if (first == nullptr) throw Error(ErrorCode::InvalidArgument, what + ": no contour to write");
  return *first;
}

WrittenStructureSet writeStructureSet(const StructureSetInput& in, const std::filesystem::path& path) {
  const auto& src = checkStructureSetInput(in, "RT Structure Set");
  std::map<std::string, const iod::SliceAttributes*> images;  // by SOP Instance UID
  for (const auto& roi : in.rois) {
    for (const auto& c : roi.contours) images.emplace(c.image.sopInstanceUid, &c.image);
  }
  const auto [today, time] = iod::nowDicomDateTime();
  // Free text copied from the slices, the network and the reviewer: UTF-8 (what the object declares,
  // ISO_IR 192), cut at the VR's length in characters, never inside one (iod/Text.hpp). DCMTK's
  // value check knows only the default repertoire, so these values are checked there instead.
  const auto text = [](const std::string& value, std::size_t maxCharacters) {
    return iod::textValue(value, maxCharacters);
  };
  const auto person = [](const std::string& value) { return iod::personNameValue(value); };
  DRTStructureSetIOD rt;
  // Patient and General Study: copied from the images
  check(rt.setPatientName(person(src.patientName).c_str(), OFFalse), "PatientName");
  check(rt.setPatientID(text(src.patientId, 64).c_str(), OFFalse), "PatientID");
  check(rt.setPatientBirthDate(src.patientBirthDate.c_str()), "PatientBirthDate");
  check(rt.setPatientSex(src.patientSex.c_str()), "PatientSex");
  check(rt.setStudyInstanceUID(src.studyInstanceUid.c_str()), "StudyInstanceUID");
  check(rt.setStudyDate(src.studyDate.c_str()), "StudyDate");
  check(rt.setStudyTime(src.studyTime.c_str()), "StudyTime");
  check(rt.setReferringPhysicianName(person(src.referringPhysicianName).c_str(), OFFalse), "ReferringPhysicianName");
  check(rt.setStudyID(text(src.studyId, 16).c_str(), OFFalse), "StudyID");
  check(rt.setAccessionNumber(text(src.accessionNumber, 16).c_str(), OFFalse), "AccessionNumber");
  check(rt.setStudyDescription(text(src.studyDescription, 64).c_str(), OFFalse), "StudyDescription");
  // RT Series, General Equipment, SOP Common
  for (const auto* uid : {&in.sopInstanceUid, &in.seriesInstanceUid}) {
    if (!uid->empty() && !iod::isValidUid(*uid)) {
      throw Error(ErrorCode::InvalidArgument, "not a valid UID for the structure set", ErrorContext{.uid = *uid});
    }
  }
  const std::string series = in.seriesInstanceUid.empty() ? iod::makeRandomUid() : in.seriesInstanceUid;
  const std::string sop = in.sopInstanceUid.empty() ? iod::makeRandomUid() : in.sopInstanceUid;
  check(rt.setModality("RTSTRUCT"), "Modality");
  check(rt.setSeriesInstanceUID(series.c_str()), "SeriesInstanceUID");
  check(rt.setSeriesNumber(kSeriesNumber), "SeriesNumber");
  const std::string seriesDescription = !in.seriesDescription.empty()             ? text(in.seriesDescription, 64)
                                        : in.approval == ApprovalStatus::Rejected ? "IODEEP REJECTED ROI"
                                                                                  : "IODEEP AI ROI";
  check(rt.setSeriesDescription(seriesDescription.c_str(), OFFalse), "SeriesDescription");
  check(rt.setOperatorsName(""), "OperatorsName");
  check(rt.setManufacturer("iodeep"), "Manufacturer");
  check(rt.setSoftwareVersions(IODEEP_VERSION), "SoftwareVersions");
  check(rt.setSOPInstanceUID(sop.c_str()), "SOPInstanceUID");
  check(rt.setSpecificCharacterSet("ISO_IR 192"), "SpecificCharacterSet");
  check(rt.setInstanceCreationDate(today.c_str()), "InstanceCreationDate");
  check(rt.setInstanceCreationTime(time.c_str()), "InstanceCreationTime");
  // Frame of Reference
  check(rt.setFrameOfReferenceUID(src.frameOfReferenceUid.c_str()), "FrameOfReferenceUID");
  check(rt.setPositionReferenceIndicator(""), "PositionReferenceIndicator");
  // Structure Set
  check(rt.setStructureSetLabel(text(in.label, 16).c_str(), OFFalse), "StructureSetLabel");
  check(rt.setStructureSetName(text("IODeep " + in.network.name, 64).c_str(), OFFalse), "StructureSetName");
  check(rt.setStructureSetDate(today.c_str()), "StructureSetDate");
  check(rt.setStructureSetTime(time.c_str()), "StructureSetTime");
  check(rt.setInstanceNumber("1"), "InstanceNumber");
  if (!in.predecessorSopInstanceUid.empty()) {
    if (!iod::isValidUid(in.predecessorSopInstanceUid)) {
      throw Error(ErrorCode::InvalidArgument, "not a valid UID for the predecessor structure set",
                  ErrorContext{.uid = in.predecessorSopInstanceUid});
    }
    auto& pred = add(rt.getPredecessorStructureSetSequence(), "PredecessorStructureSetSequence");
    check(pred.setReferencedSOPClassUID(UID_RTStructureSetStorage), "ReferencedSOPClassUID");
    check(pred.setReferencedSOPInstanceUID(in.predecessorSopInstanceUid.c_str()), "ReferencedSOPInstanceUID");
  }
  // Referenced Frame of Reference -> study -> series -> every contour image
  {
    auto& rfor = add(rt.getReferencedFrameOfReferenceSequence(), "ReferencedFrameOfReferenceSequence");
    check(rfor.setFrameOfReferenceUID(src.frameOfReferenceUid.c_str()), "ReferencedFrameOfReference");
    auto& study = add(rfor.getRTReferencedStudySequence(), "RTReferencedStudySequence");
    check(study.setReferencedSOPClassUID("1.2.840.10008.3.1.2.3.1"),
          "ReferencedSOPClassUID (Detached Study Management)");
    check(study.setReferencedSOPInstanceUID(src.studyInstanceUid.c_str()), "ReferencedSOPInstanceUID");
    std::map<std::string, std::vector<const iod::SliceAttributes*>> bySeries;
    for (const auto& [uid, a] : images) bySeries[a->seriesInstanceUid].push_back(a);
    for (const auto& [seriesUid, list] : bySeries) {
      auto& s = add(study.getRTReferencedSeriesSequence(), "RTReferencedSeriesSequence");
      check(s.setSeriesInstanceUID(seriesUid.c_str()), "SeriesInstanceUID");
      for (const auto* a : list) {
        auto& ci = add(s.getContourImageSequence(), "ContourImageSequence");
        check(ci.setReferencedSOPClassUID(a->sopClassUid.c_str()), "ReferencedSOPClassUID");
        check(ci.setReferencedSOPInstanceUID(a->sopInstanceUid.c_str()), "ReferencedSOPInstanceUID");
      }
    }
  }
  const std::string generation =
      iod::utf8Prefix("network " + in.network.name + (in.network.version.empty() ? "" : " " + in.network.version) +
                          ", DnnUID " + in.network.dnnUid + ", IODeep " + in.network.sopInstanceUid,
                      64);
  std::size_t contourCount = 0;
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    const auto& roi = in.rois[r];
    const std::string roiNumber = std::to_string(roi.number != 0 ? roi.number : static_cast<std::int32_t>(r + 1));
    auto& ss = add(rt.getStructureSetROISequence(), "StructureSetROISequence");
    check(ss.setROINumber(roiNumber.c_str()), "ROINumber");
    check(ss.setReferencedFrameOfReferenceUID(src.frameOfReferenceUid.c_str()), "ReferencedFrameOfReferenceUID");
    check(ss.setROIName(text(roi.name, 64).c_str(), OFFalse), "ROIName");
    check(ss.setROIGenerationAlgorithm(toString(roi.generation).c_str()), "ROIGenerationAlgorithm");
    // who made the ROI: the network's proposal as it was, corrected by the reviewer, or drawn
    const std::string how = roi.generation == RoiGeneration::Automatic       ? generation
                            : roi.generation == RoiGeneration::Semiautomatic ? "corrected; " + generation
                                                                             : "drawn; " + generation;
    check(ss.setROIGenerationDescription(text(how, 64).c_str(), OFFalse), "ROIGenerationDescription");

    auto& rc = add(rt.getROIContourSequence(), "ROIContourSequence");
    check(rc.setReferencedROINumber(roiNumber.c_str()), "ReferencedROINumber");
    const std::string color =
        std::to_string(roi.color[0]) + "\\" + std::to_string(roi.color[1]) + "\\" + std::to_string(roi.color[2]);
    check(rc.setROIDisplayColor(color.c_str()), "ROIDisplayColor");
    for (const auto& c : roi.contours) {
      for (const auto& ring : c.rings) {
        auto& contour = add(rc.getContourSequence(), "ContourSequence");
        check(contour.setContourNumber(std::to_string(++contourCount).c_str()), "ContourNumber");
        check(contour.setContourGeometricType("CLOSED_PLANAR"), "ContourGeometricType");
        check(contour.setNumberOfContourPoints(std::to_string(ring.points.size()).c_str()), "NumberOfContourPoints");
        std::string data;
        for (const auto& pt : ring.points) {
          const auto mm = iod::pixelToPatient(c.image, pt.column, pt.row);
          for (double v : mm) data += (data.empty() ? "" : "\\") + number(v);
        }
        check(contour.setContourData(data.c_str()), "ContourData");
        auto& ci = add(contour.getContourImageSequence(), "ContourImageSequence");
        check(ci.setReferencedSOPClassUID(c.image.sopClassUid.c_str()), "ReferencedSOPClassUID");
        check(ci.setReferencedSOPInstanceUID(c.image.sopInstanceUid.c_str()), "ReferencedSOPInstanceUID");
      }
    }
    auto& obs = add(rt.getRTROIObservationsSequence(), "RTROIObservationsSequence");
    check(obs.setObservationNumber(roiNumber.c_str()), "ObservationNumber");
    check(obs.setReferencedROINumber(roiNumber.c_str()), "ReferencedROINumber");
    check(obs.setRTROIInterpretedType(roi.interpretedType.c_str()), "RTROIInterpretedType");
    check(obs.setROIInterpreter(person(in.reviewerName).c_str(), OFFalse), "ROIInterpreter");
  }
  // the network as contributing equipment (IHE "Processing Algorithm")
  {
    auto& eq = add(rt.getContributingEquipmentSequence(), "ContributingEquipmentSequence");
    check(eq.setManufacturer("iodeep"), "Manufacturer");
    check(eq.setManufacturerModelName(text(in.network.name, 64).c_str(), OFFalse), "ManufacturerModelName");
    check(eq.setSoftwareVersions(text(in.network.version.empty() ? std::string("-") : in.network.version, 64).c_str(),
                                 OFFalse),
          "SoftwareVersions");
    check(eq.setDeviceSerialNumber(in.network.dnnUid.substr(0, 64).c_str()), "DeviceSerialNumber");
    check(eq.setContributionDescription(
              text("ROIs proposed by the IODeep network " + in.network.name + " (DnnUID " + in.network.dnnUid +
                       ", IODeep SOP Instance " + in.network.sopInstanceUid + ")",
                   1024)
                  .c_str(),
              OFFalse),
          "ContributionDescription");
    auto& purpose = add(eq.getPurposeOfReferenceCodeSequence(), "PurposeOfReferenceCodeSequence");
    check(purpose.setCodeValue("109102"), "CodeValue");
    check(purpose.setCodingSchemeDesignator("DCM"), "CodingSchemeDesignator");
    check(purpose.setCodeMeaning("Processing Equipment"), "CodeMeaning");
  }
  // Approval
  check(rt.setApprovalStatus(toString(in.approval).c_str()), "ApprovalStatus");
  if (in.approval != ApprovalStatus::Unapproved) {
    check(rt.setReviewDate((in.reviewDate.empty() ? today : in.reviewDate).c_str()), "ReviewDate");
    check(rt.setReviewTime((in.reviewTime.empty() ? time : in.reviewTime).c_str()), "ReviewTime");
    check(rt.setReviewerName(person(in.reviewerName).c_str(), OFFalse), "ReviewerName");
  }

  DcmFileFormat file;
  check(rt.write(*file.getDataset()), "cannot build the data set");
  iod::AtomicFile out(path);
  const OFCondition cond = file.saveFile(OFFilename(out.temporaryPath().c_str()), EXS_LittleEndianExplicit);
  iod::dcmtk::check(cond, ErrorCode::OutputError, "cannot write", ErrorContext{.file = path.string()});
  out.commit();
  return {sop, series, contourCount, in.rois.size()};
}

}  // namespace iodeep::rtstruct

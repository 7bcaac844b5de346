// Reads any RT Structure Set (ours or another system's) and maps contours onto an image.
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmrt/drtstrct.h>

#include <cmath>

#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::rtstruct {

namespace {

std::string str(const OFString& s) {
  return std::string(s.c_str(), s.length());
}

template <typename Getter>
std::string get(Getter&& getter) {
  OFString v;
  (void)getter(v);
  return str(v);
}

StructureSetInfo readDataset(DcmDataset& ds) {
  const std::string modality = iod::dcmtk::getString(ds, DCM_Modality);
  const std::string sopClass = iod::dcmtk::getString(ds, DCM_SOPClassUID);
  if (modality != "RTSTRUCT" || sopClass != UID_RTStructureSetStorage) {
    throw Error(ErrorCode::NotRtStructureSet,
                "not an RT Structure Set (Modality '" + modality + "', SOP Class " + sopClass + ")");
  }
  DRTStructureSetIOD rt;
  iod::dcmtk::check(rt.read(ds), ErrorCode::MalformedRtStructureSet, "malformed RT Structure Set");

  StructureSetInfo info;
  info.sopInstanceUid = get([&](OFString& v) { return rt.getSOPInstanceUID(v); });
  info.seriesInstanceUid = get([&](OFString& v) { return rt.getSeriesInstanceUID(v); });
  info.studyInstanceUid = get([&](OFString& v) { return rt.getStudyInstanceUID(v); });
  info.frameOfReferenceUid = get([&](OFString& v) { return rt.getFrameOfReferenceUID(v); });
  info.label = get([&](OFString& v) { return rt.getStructureSetLabel(v); });
  info.name = get([&](OFString& v) { return rt.getStructureSetName(v); });
  info.date = get([&](OFString& v) { return rt.getStructureSetDate(v); });
  info.time = get([&](OFString& v) { return rt.getStructureSetTime(v); });
  info.approvalStatus = get([&](OFString& v) { return rt.getApprovalStatus(v); });
  info.reviewerName = get([&](OFString& v) { return rt.getReviewerName(v); });
  info.reviewDate = get([&](OFString& v) { return rt.getReviewDate(v); });
  info.reviewTime = get([&](OFString& v) { return rt.getReviewTime(v); });
  if (info.frameOfReferenceUid.empty() && rt.getReferencedFrameOfReferenceSequence().gotoFirstItem().good()) {
    info.frameOfReferenceUid = get([&](OFString& v) {
      return rt.getReferencedFrameOfReferenceSequence().getCurrentItem().getFrameOfReferenceUID(v);
    });
  }
  auto& eq = rt.getContributingEquipmentSequence();
  // (dcmrt's gotoNextItem() also stops on the end position: iterate by index)
  for (std::size_t i = 0; i < eq.getNumberOfItems(); ++i) {
    const auto d = get([&](OFString& v) { return eq.getItem(i).getContributionDescription(v); });
    if (!d.empty()) info.contributingAlgorithm = d;
  }

  std::map<std::string, std::size_t> byNumber;
  auto& ssroi = rt.getStructureSetROISequence();
  for (std::size_t ci = 0; ci < ssroi.getNumberOfItems(); ++ci) {
    auto& item = ssroi.getItem(ci);
    StoredRoi roi;
    const auto numberText = get([&](OFString& v) { return item.getROINumber(v); });
    try {
      roi.number = std::stoi(numberText);
    } catch (const std::exception&) {
      throw Error(ErrorCode::MalformedRtStructureSet, "ROINumber '" + numberText + "' is not a number");
    }
    roi.name = get([&](OFString& v) { return item.getROIName(v); });
    roi.generationAlgorithm = get([&](OFString& v) { return item.getROIGenerationAlgorithm(v); });
    roi.generationDescription = get([&](OFString& v) { return item.getROIGenerationDescription(v); });
    byNumber[numberText] = info.rois.size();
    info.rois.push_back(std::move(roi));
  }
  auto& obs = rt.getRTROIObservationsSequence();
  for (std::size_t ci = 0; ci < obs.getNumberOfItems(); ++ci) {
    auto& item = obs.getItem(ci);
    const auto it = byNumber.find(get([&](OFString& v) { return item.getReferencedROINumber(v); }));
    if (it == byNumber.end()) continue;
    info.rois[it->second].interpretedType = get([&](OFString& v) { return item.getRTROIInterpretedType(v); });
    info.rois[it->second].interpreter = get([&](OFString& v) { return item.getROIInterpreter(v); });
  }
  auto& rcs = rt.getROIContourSequence();
  for (std::size_t ci = 0; ci < rcs.getNumberOfItems(); ++ci) {
    auto& item = rcs.getItem(ci);
    const auto ref = get([&](OFString& v) { return item.getReferencedROINumber(v); });
    const auto it = byNumber.find(ref);
    if (it == byNumber.end()) {
      throw Error(ErrorCode::MalformedRtStructureSet,
                  "ROI contour for ROI number " + ref + " that the set does not define");
    }
    auto& roi = info.rois[it->second];
    for (unsigned long k = 0; k < 3; ++k) {
      Sint32 v = 0;
      if (item.getROIDisplayColor(v, k).good()) roi.color[k] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
    }
    auto& contours = item.getContourSequence();
    for (std::size_t cci = 0; cci < contours.getNumberOfItems(); ++cci) {
      auto& contour = contours.getItem(cci);
      OFVector<Float64> data;
      // POINT and OPEN contours are kept as data; only closed ones with 3+ points become rings
      if (contour.getContourData(data).bad() || data.size() % 3 != 0 || data.empty()) {
        throw Error(ErrorCode::MalformedRtStructureSet,
                    "ROI " + ref + " has ContourData that is not (x, y, z) triplets");
      }
      std::string image;
      auto& cis = contour.getContourImageSequence();
      if (cis.gotoFirstItem().good())
        image = get([&](OFString& v) { return cis.getCurrentItem().getReferencedSOPInstanceUID(v); });
      std::vector<std::array<double, 3>> points;
      for (std::size_t i = 0; i + 2 < data.size(); i += 3) points.push_back({data[i], data[i + 1], data[i + 2]});
      roi.contours.emplace_back(image, std::move(points));
    }
  }
  return info;
}

}  // namespace

StructureSetInfo readStructureSet(const std::filesystem::path& path) {
  const auto file = iod::dcmtk::loadFile(path);
  try {
    return readDataset(*file->getDataset());
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

std::vector<RoiOnImage> roisOnImage(const StructureSetInfo& set, const iod::SliceAttributes& image) {
  if (!image.pixelSpacing || !image.imagePositionPatient || !image.imageOrientationPatient) {
    throw Error(ErrorCode::MissingGeometry, "the image has no geometry to place contours on",
                ErrorContext{.uid = image.sopInstanceUid});
  }
  const auto& o = *image.imageOrientationPatient;
  const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  const auto& p0 = *image.imagePositionPatient;
  const double tolerance = 0.5 * std::min((*image.pixelSpacing)[0], (*image.pixelSpacing)[1]);
  std::vector<RoiOnImage> out;
  for (const auto& roi : set.rois) {
    RoiOnImage r;
    r.roi = roi;
    r.roi.contours.clear();
    for (const auto& [uid, points] : roi.contours) {
      bool mine = uid == image.sopInstanceUid;
      if (uid.empty()) {  // no reference: in the image plane?
        mine = true;
        for (const auto& p : points) {
          const double d = (p[0] - p0[0]) * normal[0] + (p[1] - p0[1]) * normal[1] + (p[2] - p0[2]) * normal[2];
          if (std::abs(d) > tolerance) mine = false;
        }
      }
      if (!mine || points.size() < 3) continue;
      iod::Ring ring;
      for (const auto& p : points) {
        const auto px = iod::patientToPixel(image, p);
        ring.points.push_back({px[0], px[1]});
      }
      r.rings.push_back(std::move(ring));
    }
    // holes: rings nested inside an odd number of the others (even-odd), tested at a point
    // just inside each ring's first edge
    for (std::size_t i = 0; i < r.rings.size(); ++i) {
      const auto& pts = r.rings[i].points;
      const auto& a = pts[0];
      const auto& b = pts[1];
      const double sign = iod::signedArea(r.rings[i]) >= 0 ? 1.0 : -1.0;
      // the right-hand side of a clockwise (screen) ring is its inside
      const double len = std::hypot(b.column - a.column, b.row - a.row);
      const double mx = (a.column + b.column) / 2 - sign * (b.row - a.row) / len * 1e-3;
      const double my = (a.row + b.row) / 2 + sign * (b.column - a.column) / len * 1e-3;
      int depth = 0;
      for (std::size_t j = 0; j < r.rings.size(); ++j) {
        if (j == i) continue;
        bool inside = false;
        const auto& q = r.rings[j].points;
        for (std::size_t k = 0, l = q.size() - 1; k < q.size(); l = k++) {
          if ((q[k].row > my) != (q[l].row > my) &&
              mx < (q[l].column - q[k].column) * (my - q[k].row) / (q[l].row - q[k].row) + q[k].column) {
            inside = !inside;
          }
        }
        depth += inside ? 1 : 0;
      }
      r.rings[i].hole = depth % 2 == 1;
    }
    if (!r.rings.empty()) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace iodeep::rtstruct

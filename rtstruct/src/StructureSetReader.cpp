// Reads any RT Structure Set (ours or another system's) and maps contours onto an image.
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmrt/drtstrct.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

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
    auto& item = eq.getItem(i);
    const auto d = get([&](OFString& v) { return item.getContributionDescription(v); });
    if (d.empty()) continue;
    info.contributingAlgorithm = d;
    info.networkName = get([&](OFString& v) { return item.getManufacturerModelName(v); });
    info.networkVersion = get([&](OFString& v) { return item.getSoftwareVersions(v); });
    info.networkDnnUid = get([&](OFString& v) { return item.getDeviceSerialNumber(v); });
  }
  info.seriesDescription = get([&](OFString& v) { return rt.getSeriesDescription(v); });
  auto& rfor = rt.getReferencedFrameOfReferenceSequence();
  for (std::size_t f = 0; f < rfor.getNumberOfItems(); ++f) {
    auto& studies = rfor.getItem(f).getRTReferencedStudySequence();
    for (std::size_t st = 0; st < studies.getNumberOfItems(); ++st) {
      auto& series = studies.getItem(st).getRTReferencedSeriesSequence();
      for (std::size_t se = 0; se < series.getNumberOfItems(); ++se) {
        auto& item = series.getItem(se);
        const auto seriesUid = get([&](OFString& v) { return item.getSeriesInstanceUID(v); });
        auto& images = item.getContourImageSequence();
        for (std::size_t i = 0; i < images.getNumberOfItems(); ++i) {
          const auto sop = get([&](OFString& v) { return images.getItem(i).getReferencedSOPInstanceUID(v); });
          if (!sop.empty()) info.referencedImages.emplace_back(sop, seriesUid);
        }
      }
    }
  }
  auto& pred = rt.getPredecessorStructureSetSequence();
  if (pred.getNumberOfItems() > 0) {
    info.predecessorSopInstanceUid = get([&](OFString& v) { return pred.getItem(0).getReferencedSOPInstanceUID(v); });
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

// ---- holes -------------------------------------------------------------------------------------
//
// A ring is a hole when it lies inside an odd number of the others (even-odd), tested at a point
// just inside its first edge: inside a ring means that a ray from the point towards +column
// crosses an odd number of that ring's edges. Only the parity of the number of containing rings
// matters, and it is the parity of the crossings of all the other rings' edges together, so all
// points are answered at once instead of each against every ring (R x P): the points sorted by row
// are the leaves of a segment tree; each edge is stored in the O(log R) nodes whose rows it spans
// entirely, each node's edges sorted by column (edges that do not cross keep one order over the
// rows of a node); a point counts, in each node on its leaf-to-root path, the edges to its right by
// binary search. O(P log R log P) time and O(P log R) memory for P edges and R rings. Crossing
// rings (not a valid structure set) get a deterministic answer in the same time. An edge with a
// coordinate that is not finite crosses nothing; a ring whose test point is not finite (a first
// edge of length 0) is no hole.

struct Edge {
  iod::PixelPoint a, b;  // a = the ring's point k, b = point k - 1 (as the crossing test takes them)
  std::uint32_t ring{0};
};

bool finite(const iod::PixelPoint& p) {
  return std::isfinite(p.column) && std::isfinite(p.row);
}

// The column at which the edge crosses @p row (the even-odd crossing test's own arithmetic).
double columnAt(const Edge& e, double row) {
  return (e.b.column - e.a.column) * (row - e.a.row) / (e.b.row - e.a.row) + e.a.column;
}

// Does the ray from (column, row) towards +column cross @p e?
bool crosses(const Edge& e, double column, double row) {
  return (e.a.row > row) != (e.b.row > row) && column < columnAt(e, row);
}

void markHoles(std::vector<iod::Ring>& rings) {
  const std::size_t n = rings.size();
  std::vector<Edge> edges;
  std::vector<iod::PixelPoint> probe(n);
  std::vector<bool> probed(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& pts = rings[i].points;
    rings[i].hole = false;
    for (std::size_t k = 0, l = pts.size() - 1; k < pts.size(); l = k++) {
      if (finite(pts[k]) && finite(pts[l])) edges.push_back({pts[k], pts[l], static_cast<std::uint32_t>(i)});
    }
    const auto& a = pts[0];
    const auto& b = pts[1];
    const double sign = iod::signedArea(rings[i]) >= 0 ? 1.0 : -1.0;
    // the right-hand side of a clockwise (screen) ring is its inside
    const double len = std::hypot(b.column - a.column, b.row - a.row);
    probe[i] = {(a.column + b.column) / 2 - sign * (b.row - a.row) / len * 1e-3,
                (a.row + b.row) / 2 + sign * (b.column - a.column) / len * 1e-3};
    probed[i] = finite(probe[i]);
  }
  if (edges.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(ErrorCode::ResourceLimit, "too many contour points on one image");
  }
  // the test points by row: the leaves
  std::vector<std::uint32_t> order;
  for (std::size_t i = 0; i < n; ++i) {
    if (probed[i]) order.push_back(static_cast<std::uint32_t>(i));
  }
  if (order.empty()) return;
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    return probe[x].row != probe[y].row ? probe[x].row < probe[y].row : x < y;
  });
  std::vector<double> rows(order.size());
  for (std::size_t q = 0; q < order.size(); ++q) rows[q] = probe[order[q]].row;
  const std::size_t leaves = std::bit_ceil(order.size());
  // the leaves [first, last) whose row an edge spans: first edge row <= row < last edge row
  const auto span = [&](const Edge& e) {
    const auto lo = std::lower_bound(rows.begin(), rows.end(), std::min(e.a.row, e.b.row));
    const auto hi = std::lower_bound(rows.begin(), rows.end(), std::max(e.a.row, e.b.row));
    return std::pair<std::size_t, std::size_t>(static_cast<std::size_t>(lo - rows.begin()),
                                               static_cast<std::size_t>(hi - rows.begin()));
  };
  // each edge in the nodes that cover its leaves (bottom-up segment tree), as offsets per node
  const auto forEachNode = [&](std::pair<std::size_t, std::size_t> range, const auto& visit) {
    for (std::size_t l = range.first + leaves, r = range.second + leaves; l < r; l /= 2, r /= 2) {
      if ((l & 1U) != 0) visit(l++);
      if ((r & 1U) != 0) visit(--r);
    }
  };
  std::vector<std::size_t> start(2 * leaves + 1, 0);
  for (const auto& e : edges) forEachNode(span(e), [&](std::size_t node) { ++start[node + 1]; });
  for (std::size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<std::uint32_t> stored(start.back());
  {
    auto fill = start;
    for (std::size_t k = 0; k < edges.size(); ++k) {
      forEachNode(span(edges[k]), [&](std::size_t node) { stored[fill[node]++] = static_cast<std::uint32_t>(k); });
    }
  }
  // each node's edges by column at the middle of its rows (ties: at its first row)
  std::vector<std::pair<std::pair<double, double>, std::uint32_t>> keyed;
  for (std::size_t node = 1; node < 2 * leaves; ++node) {
    if (start[node + 1] - start[node] < 2) continue;
    std::size_t first = node;
    std::size_t last = node;
    while (first < leaves) first = 2 * first;
    while (last < leaves) last = 2 * last + 1;
    const double top = rows[first - leaves];
    const double bottom = rows[std::min(last - leaves, rows.size() - 1)];
    const double middle = top + (bottom - top) / 2;
    const auto key = [](double x) { return std::isnan(x) ? std::numeric_limits<double>::infinity() : x; };
    keyed.clear();
    for (std::size_t s = start[node]; s < start[node + 1]; ++s) {
      const auto& e = edges[stored[s]];
      keyed.push_back({{key(columnAt(e, middle)), key(columnAt(e, top))}, stored[s]});
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t s = start[node]; s < start[node + 1]; ++s) stored[s] = keyed[s - start[node]].second;
  }
  // each point: the crossings of every edge, less those of its own ring
  std::vector<std::size_t> own(n, 0);
  for (const auto& e : edges) {
    if (probed[e.ring] && crosses(e, probe[e.ring].column, probe[e.ring].row)) ++own[e.ring];
  }
  for (std::size_t q = 0; q < order.size(); ++q) {
    const auto& p = probe[order[q]];
    std::size_t crossings = 0;
    for (std::size_t node = q + leaves; node >= 1; node /= 2) {
      std::size_t lo = start[node];
      std::size_t hi = start[node + 1];
      while (lo < hi) {  // the first edge right of the point (those right of it come last)
        const std::size_t mid = lo + (hi - lo) / 2;
        if (p.column < columnAt(edges[stored[mid]], p.row)) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      crossings += start[node + 1] - lo;
    }
    rings[order[q]].hole = (crossings - own[order[q]]) % 2 == 1;
  }
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
    markHoles(r.rings);
    if (!r.rings.empty()) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace iodeep::rtstruct

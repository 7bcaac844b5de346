// Training sets from the PACS: approved structure sets of one network, their slices, masks.
#include "iodeep/workflow/Dataset.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/workflow/Masks.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRtStructClass = "1.2.840.10008.5.1.4.1.1.481.3";
constexpr const char* kManifestHeader =
    "split,patient_id,study_uid,series_uid,sop_instance_uid,image,mask,label,source,reviewer,review_date,"
    "structure_set_uid,original_mask";

// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
std::string csvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> csvFields(const std::string& line, const std::string& where) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  if (quoted) throw Error(ErrorCode::InvalidArgument, "manifest: an unterminated quoted field", {.file = where});
  return out;
}

// A label as a file name part: letters and digits kept, the rest '-'.
std::string slug(const std::string& label) {
  std::string s;
  for (char c : label) s += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '-';
  return s.empty() ? std::string("label") : s;
}

// The network's label an ROI stands for: its name without our suffixes ("Brain (2)", "Brain (drawn)").
std::string labelOfRoi(const std::string& roiName) {
  const auto open = roiName.rfind(" (");
  if (open != std::string::npos && roiName.back() == ')') {
    const std::string inner = roiName.substr(open + 2, roiName.size() - open - 3);
    if (inner == "drawn" ||
        (!inner.empty() && std::all_of(inner.begin(), inner.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
      return roiName.substr(0, open);
    }
  }
  return roiName;
}

struct FoundSeries {
  std::string study, series;
};

// Our structure set series ("IODEEP AI ROI", "IODEEP AI PROPOSAL"): one relational C-FIND of the
// RTSTRUCT series, or a
// walk of the studies when the PACS refuses it (dcmqrscp).
std::vector<FoundSeries> findOurSeries(const Pacs& pacs) {
  std::vector<FoundSeries> out;
  bool refused = false;
  try {
    (void)pacs.find({QueryLevel::Series,
                     {{tags::kStudyInstanceUid, ""},
                      {tags::kSeriesInstanceUid, ""},
                      {tags::kModality, "RTSTRUCT"},
                      {tags::kSeriesDescription, ""}}},
                    [&](const DicomRecord& r) {
                      // matched here: Orthanc 1.10 does not match "IODEEP AI*" against "IODEEP AI ROI"
                      if (r.get(tags::kSeriesDescription).rfind("IODEEP AI", 0) == 0) {
                        out.push_back({r.get(tags::kStudyInstanceUid), r.get(tags::kSeriesInstanceUid)});
                      }
                      return true;
                    });
  } catch (const Error& e) {
    if (e.code() != ErrorCode::DimseFailure) throw;  // a hierarchical PACS refuses the relational query
    refused = true;
  }
  if (refused) {
    walkSeries(pacs, {}, [&](const SeriesInfo& s) {
      if (s.modality == "RTSTRUCT" && s.seriesDescription.rfind("IODEEP AI", 0) == 0) {
        out.push_back({s.studyInstanceUid, s.seriesInstanceUid});
      }
      return true;
    });
  }
  return out;
}

struct ReadSet {
  rtstruct::StructureSetInfo info;
  fs::path file;
};

// One slice and label: the union of the approved ROIs of the label, and where it came from.
struct Target {
  Mask mask;
  Mask original;
  bool corrected{false}, drawnOnly{true};
};

}  // namespace

std::string toString(SampleSource source) {
  switch (source) {
    case SampleSource::Accepted: return "accepted";
    case SampleSource::Corrected: return "corrected";
    case SampleSource::Drawn: return "drawn";
  }
  return "accepted";
}

std::string splitOf(const std::string& patientId, unsigned validationPercent) {
  iod::Sha256 h;
  h.update("iodeep dataset split|" + patientId);
  const auto digest = h.finish();
  const unsigned bucket = (std::to_integer<unsigned>(digest[0]) << 8U | std::to_integer<unsigned>(digest[1])) % 100U;
  return bucket < validationPercent ? "validation" : "train";
}

DatasetReport buildDataset(Workstation& ws, const DatasetOptions& options) {
  if (options.network.empty())
    throw Error(ErrorCode::InvalidArgument, "dataset: the network's DnnUID is required (--network)");
  if (options.output.empty()) throw Error(ErrorCode::InvalidArgument, "dataset: the output directory is required (-o)");
  if (fs::exists(options.output)) {
    throw Error(ErrorCode::InvalidArgument, "dataset: the output exists already (a dataset is never written over)",
                {.file = options.output.string()});
  }
  if (options.validationPercent > 100)
    throw Error(ErrorCode::InvalidArgument, "dataset: --validation-percent is 0-100");
  if (!options.since.empty() &&
      (options.since.size() != 8 ||
       !std::all_of(options.since.begin(), options.since.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
    throw Error(ErrorCode::InvalidArgument, "dataset: --since '" + options.since + "' is not a date YYYYMMDD");
  }
  const Pacs& pacs = ws.pacs();
  DatasetReport report;
  const fs::path parent = fs::absolute(options.output).parent_path();
  iod::createMissingDirectories(parent);
  const iod::TemporaryDirectory work(parent, ".dataset-");
  const fs::path sets = work.path() / "sets";
  const fs::path out = work.path() / "out";
  for (const auto& d : {sets, out / "images", out / "masks", out / "originals"}) fs::create_directories(d);

  // every set of ours, read once
  std::map<std::string, ReadSet> bySop;
  for (const auto& s : findOurSeries(pacs)) {
    const auto got = pacs.retrieve(QueryLevel::Series, s.study, s.series, {}, sets / s.series, {kRtStructClass});
    for (const auto& file : got.files) {
      try {
        auto info = rtstruct::readStructureSet(file);
        const std::string sop = info.sopInstanceUid;  // (the right of = is evaluated first)
        bySop[sop] = {std::move(info), file};
      } catch (const Error& e) {
        ++report.unreadable;
        iod::warn(std::string("dataset: a structure set is skipped: ") + e.what());
      }
    }
  }
  // the approved sets of the network, the latest review of each slice
  struct Review {
    const ReadSet* set;
    std::string when;  // ReviewDate + ReviewTime
  };
  std::map<std::string, Review> latest;  // slice SOP Instance UID -> review
  for (const auto& [sop, set] : bySop) {
    if (set.info.approvalStatus != "APPROVED") continue;
    ++report.setsFound;
    if (set.info.networkDnnUid != options.network) {
      ++report.otherNetworks;
      continue;
    }
    if (!options.since.empty() && set.info.reviewDate < options.since) continue;
    ++report.setsUsed;
    const std::string when = set.info.reviewDate + set.info.reviewTime;
    for (const auto& [image, series] : set.info.referencedImages) {
      auto [it, added] = latest.try_emplace(image, Review{&set, when});
      if (!added) {
        ++report.olderReviews;
        if (when > it->second.when) it->second = {&set, when};
      }
    }
  }
  if (report.setsUsed == 0) {
    throw Error(ErrorCode::InvalidArgument,
                "dataset: no approved structure set of the network " + options.network + " on the PACS" +
                    (options.since.empty() ? std::string() : " reviewed since " + options.since) + " (" +
                    std::to_string(report.setsFound) + " approved set(s) of other networks or dates)");
  }
  // the slices, one retrieval each, and their masks per label
  std::set<std::string> patients;
  for (const auto& [image, review] : latest) {
    const auto& info = review.set->info;
    std::string seriesUid;
    for (const auto& [sop, series] : info.referencedImages) {
      if (sop == image) seriesUid = series;
    }
    iod::SliceAttributes a;
    fs::path slicePath;
    try {
      const auto got = pacs.retrieve(QueryLevel::Image, info.studyInstanceUid, seriesUid, image, work.path() / "slice");
      if (got.files.size() != 1) throw Error(ErrorCode::DimseFailure, "the slice did not arrive", {.uid = image});
      slicePath = out / "images" / (image + ".dcm");
      fs::rename(got.files.front(), slicePath);
      a = iod::readSliceAttributes(slicePath);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::PacsUnreachable || e.code() == ErrorCode::AssociationRejected) throw;
      ++report.unreadable;
      iod::warn(std::string("dataset: a slice is skipped: ") + e.what());
      continue;
    }
    const std::size_t rows = a.rows;
    const std::size_t columns = a.columns;
    const auto empty = [&] { return Mask{rows, columns, std::vector<std::uint8_t>(rows * columns, 0)}; };
    std::map<std::string, Target> targets;
    const auto add = [](Mask& into, const Mask& m) {
      for (std::size_t i = 0; i < m.values.size(); ++i) into.values[i] |= m.values[i];
    };
    std::map<std::int32_t, std::string> labelOfNumber;
    for (const auto& r : rtstruct::roisOnImage(info, a)) {
      const std::string label = labelOfRoi(r.roi.name);
      labelOfNumber[r.roi.number] = label;
      auto [it, added] = targets.try_emplace(label);
      if (added) it->second = {empty(), empty(), false, true};
      add(it->second.mask, maskOfRings(r.rings, rows, columns));
      if (r.roi.generationAlgorithm != "MANUAL") it->second.drawnOnly = false;
    }
    // the network's original proposals for the corrected ROIs (the predecessor set)
    if (const auto pred = bySop.find(info.predecessorSopInstanceUid); pred != bySop.end()) {
      for (const auto& r : rtstruct::roisOnImage(pred->second.info, a)) {
        const auto label = labelOfNumber.find(r.roi.number);
        if (label == labelOfNumber.end()) continue;
        auto& t = targets.at(label->second);
        t.corrected = true;
        add(t.original, maskOfRings(r.rings, rows, columns));
      }
    } else if (!info.predecessorSopInstanceUid.empty()) {
      iod::warn("dataset: the original proposals " + info.predecessorSopInstanceUid + " of the structure set " +
                info.sopInstanceUid + " are not on the PACS: its corrected ROIs are listed as accepted");
    }
    if (targets.empty()) continue;
    patients.insert(a.patientId);
    for (const auto& [label, t] : targets) {
      DatasetSample s;
      s.patientId = a.patientId;
      s.studyInstanceUid = a.studyInstanceUid;
      s.seriesInstanceUid = a.seriesInstanceUid;
      s.sopInstanceUid = image;
      s.image = "images/" + image + ".dcm";
      s.mask = "masks/" + image + "_" + slug(label) + ".png";
      s.label = label;
      s.source = t.corrected ? SampleSource::Corrected : t.drawnOnly ? SampleSource::Drawn : SampleSource::Accepted;
      s.reviewer = info.reviewerName;
      s.reviewDate = info.reviewDate;
      s.structureSetUid = info.sopInstanceUid;
      writeMaskPng(t.mask, out / s.mask);
      if (t.corrected) {
        s.originalMask = "originals/" + image + "_" + slug(label) + ".png";
        writeMaskPng(t.original, out / s.originalMask);
      }
      report.dataset.samples.push_back(std::move(s));
    }
  }
  if (report.dataset.samples.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "dataset: the network's structure sets contour no slice that could be read");
  }
  // by patient: a patient's slices are all on one side; with one patient, it trains
  std::set<std::string> validation;
  for (const auto& p : patients) {
    if (patients.size() > 1 && splitOf(p, options.validationPercent) == "validation") validation.insert(p);
  }
  if (patients.size() > 1 && validation.empty() && options.validationPercent > 0) {
    validation.insert(*patients.begin());  // at least one patient validates
  }
  if (validation.size() == patients.size() && patients.size() > 1) validation.erase(validation.begin());
  report.dataset.network = options.network;
  report.dataset.validationPatients = validation.size();
  report.dataset.trainingPatients = patients.size() - validation.size();
  std::sort(report.dataset.samples.begin(), report.dataset.samples.end(),
            [](const DatasetSample& x, const DatasetSample& y) {
              return std::tie(x.patientId, x.seriesInstanceUid, x.sopInstanceUid, x.label) <
                     std::tie(y.patientId, y.seriesInstanceUid, y.sopInstanceUid, y.label);
            });
  std::string csv = std::string(kManifestHeader) + "\n";
  for (auto& s : report.dataset.samples) {
    s.split = validation.count(s.patientId) != 0 ? "validation" : "train";
    for (const auto* f : {&s.split, &s.patientId, &s.studyInstanceUid, &s.seriesInstanceUid, &s.sopInstanceUid,
                          &s.image, &s.mask, &s.label}) {
      csv += csvField(*f) + ",";
    }
    csv += toString(s.source) + "," + csvField(s.reviewer) + "," + csvField(s.reviewDate) + "," +
           csvField(s.structureSetUid) + "," + csvField(s.originalMask) + "\n";
  }
  iod::writeFileAtomically(out / "manifest.csv", csv);
  iod::writeFileAtomically(out / "dataset.json", report.toJson());
  fs::rename(out, options.output);
  return report;
}

Dataset readDataset(const fs::path& directory) {
  const fs::path manifest = directory / "manifest.csv";
  std::ifstream in(manifest);
  if (!in) throw Error(ErrorCode::FileNotFound, "not a dataset: no manifest.csv", {.file = directory.string()});
  Dataset d;
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kManifestHeader) {
    throw Error(ErrorCode::InvalidArgument, "not a dataset manifest: the header is not iodeep's",
                {.file = manifest.string()});
  }
  std::size_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line == "\r") continue;
    const std::string where = manifest.string() + ":" + std::to_string(number);
    const auto f = csvFields(line, where);
    if (f.size() != 13) {
      throw Error(ErrorCode::InvalidArgument, "manifest: " + std::to_string(f.size()) + " fields, 13 expected",
                  {.file = where});
    }
    DatasetSample s{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], SampleSource::Accepted, f[9], f[10], f[11], f[12]};
    if (s.split != "train" && s.split != "validation") {
      throw Error(ErrorCode::InvalidArgument, "manifest: split '" + s.split + "' is neither train nor validation",
                  {.file = where});
    }
    if (f[8] == "corrected") {
      s.source = SampleSource::Corrected;
    } else if (f[8] == "drawn") {
      s.source = SampleSource::Drawn;
    } else if (f[8] != "accepted") {
      throw Error(ErrorCode::InvalidArgument, "manifest: source '" + f[8] + "' is not accepted, corrected or drawn",
                  {.file = where});
    }
    for (const auto* rel : {&s.image, &s.mask}) {
      if (rel->empty() || fs::path(*rel).is_absolute() || rel->find("..") != std::string::npos) {
        throw Error(ErrorCode::InvalidArgument, "manifest: '" + *rel + "' is not a path inside the dataset",
                    {.file = where});
      }
    }
    d.samples.push_back(std::move(s));
  }
  const fs::path meta = directory / "dataset.json";
  std::ifstream jin(meta);
  const auto j = nlohmann::json::parse(jin, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("network") || !j["network"].is_string()) {
    throw Error(ErrorCode::InvalidArgument, "not a dataset: dataset.json has no network", {.file = meta.string()});
  }
  d.network = j["network"].get<std::string>();
  std::set<std::string> train;
  std::set<std::string> validation;
  for (const auto& s : d.samples) (s.split == "train" ? train : validation).insert(s.patientId);
  for (const auto& p : train) {
    if (validation.count(p) != 0) {
      throw Error(ErrorCode::InvalidArgument, "manifest: patient '" + p + "' is on both sides of the split",
                  {.file = manifest.string()});
    }
  }
  d.trainingPatients = train.size();
  d.validationPatients = validation.size();
  return d;
}

std::string DatasetReport::toText() const {
  std::map<std::string, std::size_t> bySource;
  std::size_t train = 0;
  for (const auto& s : dataset.samples) {
    ++bySource[toString(s.source)];
    if (s.split == "train") ++train;
  }
  std::ostringstream o;
  o << "network:   " << dataset.network << "\n"
    << "sets:      " << setsUsed << " approved structure set(s) of the network used (" << setsFound
    << " approved on the PACS, " << otherNetworks << " of other networks)\n"
    << "samples:   " << dataset.samples.size() << " (slice, label) pair(s): " << bySource["accepted"] << " accepted, "
    << bySource["corrected"] << " corrected, " << bySource["drawn"] << " drawn\n"
    << "split:     " << train << " training sample(s) from " << dataset.trainingPatients << " patient(s), "
    << dataset.samples.size() - train << " validation sample(s) from " << dataset.validationPatients
    << " patient(s) (by patient)\n";
  if (olderReviews > 0) o << "skipped:   " << olderReviews << " older review(s) of slices reviewed again\n";
  if (unreadable > 0) o << "skipped:   " << unreadable << " set(s) or slice(s) that could not be read\n";
  return o.str();
}

std::string DatasetReport::toJson() const {
  std::map<std::string, std::size_t> bySource{{"accepted", 0}, {"corrected", 0}, {"drawn", 0}};
  for (const auto& s : dataset.samples) ++bySource[toString(s.source)];
  nlohmann::json j{{"format", "iodeep-dataset"},
                   {"version", 1},
                   {"network", dataset.network},
                   {"samples", dataset.samples.size()},
                   {"sources", bySource},
                   {"trainingPatients", dataset.trainingPatients},
                   {"validationPatients", dataset.validationPatients},
                   {"setsUsed", setsUsed},
                   {"setsFound", setsFound},
                   {"otherNetworks", otherNetworks},
                   {"olderReviews", olderReviews},
                   {"unreadable", unreadable},
                   {"manifest", "manifest.csv"}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client

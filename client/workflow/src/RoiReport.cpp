// The AI ROI results as text and JSON (`iodeep select`, `iodeep roi`, the viewer's explanation).
#include "iodeep/workflow/Roi.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "JsonWriter.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

int RoiResult::exitCode() const noexcept {
  if (!selection.selection.matched()) return kExitNoMatch;
  for (const auto* set : {&originalSet, &approvedSet, &rejectedSet, &originalSeg, &approvedSeg, &rejectedSeg}) {
    if (*set && !(*set)->stored) return kExitPacs;
  }
  return kExitOk;
}

std::string SelectionReport::toText() const {
  return selector::explain(selection, query, candidates);
}

std::string SelectionReport::toJson() const {
  return toJson(
      {{"locate", locateMs}, {"sliceRetrieve", sliceRetrieveMs}, {"discovery", discoveryMs}, {"select", selectMs}});
}

std::string SelectionReport::toJson(const std::vector<std::pair<std::string, double>>& timingsMs, int indent) const {
  // written as it goes: with 10,000 networks on the PACS thousands of candidates are listed
  std::string out;
  out.reserve(4096 + candidates.size() * 400);
  detail::JsonWriter w(out, indent);
  w.beginObject();
  w.key("slice").beginObject();
  w.member("modality", query.modality)
      .member("bodyPartExamined", query.bodyPartExamined)
      .member("studyDescription", query.studyDescription)
      .member("samplesPerPixel", query.samplesPerPixel);
  w.endObject();
  w.member("matched", selection.matched());
  if (selection.matched()) {
    const auto& c = candidates.at(*selection.chosen);
    w.key("chosen").beginObject();
    w.member("name", c.name)
        .member("version", c.version)
        .member("sopInstanceUid", c.sopInstanceUid)
        .member("rule", selector::toString(selection.verdicts.at(*selection.chosen).rule));
    w.endObject();
  }
  w.key("candidates").beginArray();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    const auto& v = selection.verdicts.at(i);
    w.beginObject();
    w.member("name", c.name)
        .member("version", c.version)
        .member("modality", c.modality)
        .member("bodyPartExamined", c.bodyPartExamined)
        .member("sopInstanceUid", c.sopInstanceUid)
        .member("matched", v.matched)
        .member("rule", selector::toString(v.rule))
        .member("reason", selector::describe(v));
    w.endObject();
  }
  w.endArray();
  const auto& d = discovery;
  w.key("discovery").beginObject();
  w.member("source", toString(d.source))
      .member("path", d.path)
      .member("queries", d.queries)
      .member("associations", d.associations)
      .member("reused", d.reused)
      .member("ageSeconds", d.ageSeconds)
      .member("corruptCacheIgnored", d.corruptCacheIgnored)
      .member("confirmed", d.confirmed)
      .member("ms", d.ms);
  w.endObject();
  w.key("timingsMs").beginObject();
  for (const auto& [name, value] : timingsMs) w.member(name, value);
  w.endObject();
  w.endObject();
  if (indent >= 0) out += '\n';
  return out;
}

std::string RoiResult::toText() const {
  std::ostringstream o;
  o << selection.toText();
  if (!selection.selection.matched()) return o.str();
  o << "model:     " << model->name << (model->version.empty() ? "" : " " + model->version) << " (DnnUID "
    << model->dnnUid << "), "
    << (modelFromCache ? "from the model cache, no bytes moved"
                       : "retrieved (" + std::to_string(modelBytesMoved) + " bytes) and verified into the cache")
    << "\n";
  if (selection.described > 0) {
    o << "described: " << selection.described
      << " candidate(s) the PACS did not describe at C-FIND, from the model cache (" << selection.describeBytes
      << " bytes retrieved for that)\n";
  }
  std::size_t n = 0;
  for (const auto& p : predictions) {
    o << "slice:     " << p.slice.attributes.sopInstanceUid << ": " << p.proposals.size() << " proposal(s)\n";
    for (const auto& prop : p.proposals) {
      const bool yes = std::find(approved.begin(), approved.end(), n) != approved.end();
      const bool fixed = std::find(corrected.begin(), corrected.end(), n) != corrected.end();
      o << "  " << ++n << ". " << prop.label.name << ": " << prop.areaPixels << " px"
        << (prop.areaMm2 >= 0 ? ", " + std::to_string(std::llround(prop.areaMm2)) + " mm2" : "") << " -> "
        << (fixed ? "corrected and approved"
            : yes ? "approved"
                  : "rejected")
        << "\n";
    }
  }
  if (drawn > 0) o << "drawn:     " << drawn << " ROI(s) drawn by the reviewer (MANUAL)\n";
  for (const auto* set : {&originalSet, &approvedSet, &rejectedSet, &originalSeg, &approvedSeg, &rejectedSeg}) {
    if (!*set) continue;
    const auto& s = **set;
    const bool seg = set == &originalSeg || set == &approvedSeg || set == &rejectedSeg;
    o << "stored:    " << (set == &originalSet || set == &originalSeg ? "original proposals, " : "") << s.approvalStatus
      << (seg ? " Segmentation " : " RT Structure Set ") << s.sopInstanceUid << " (" << s.rois
      << (seg ? " segment(s), " : " ROI(s), ") << s.contours << (seg ? " frame(s)" : " contour(s)")
      << (s.signedBy.empty() ? "" : ", signed by " + s.signedBy) << "): ";
    if (s.stored) {
      o << "stored on the PACS" << (s.foundOnPacs ? ", found again by C-FIND" : ", NOT found again by C-FIND");
    } else {
      o << "NOT stored (" << s.storeError << "); kept in the outbox: " << s.outboxFile.string()
        << " ('iodeep outbox flush' sends it)";
    }
    o << "\n";
  }
  if (!approvedSet && !rejectedSet && !approvedSeg && !rejectedSeg) o << "stored:    nothing (no proposal approved)\n";
  const auto& t = timings;
  o << "timings:   locate " << std::llround(t.locateMs) << " ms, slice retrieval " << std::llround(t.sliceRetrieveMs)
    << " ms, model discovery " << std::llround(t.discoveryMs) << " ms ("
    << (selection.discovery.source == DiscoverySource::Cache
            ? "from the discovery cache, " + std::to_string(selection.discovery.ageSeconds) + " s old"
            : std::string(toString(selection.discovery.source)) + " from the PACS")
    << ", " << selection.discovery.queries << " C-FIND(s)), selection "
    << static_cast<double>(std::llround(t.selectMs * 10)) / 10.0 << " ms, model " << std::llround(t.modelRetrieveMs)
    << " ms, libtorch load (waited) " << std::llround(t.inferenceLoadMs) << " ms, build " << std::llround(t.buildMs)
    << " ms, inference " << std::llround(t.inferenceMs) << " ms, contours " << std::llround(t.contourMs)
    << " ms, RT Structure Set " << std::llround(t.rtstructMs) << " ms, C-STORE " << std::llround(t.storeMs)
    << " ms, total " << std::llround(t.totalMs) << " ms\n";
  return o.str();
}

std::string RoiResult::toJson() const {
  nlohmann::json j = nlohmann::json::parse(selection.toJson());
  if (model) {
    j["model"] = {{"name", model->name},
                  {"version", model->version},
                  {"dnnUid", model->dnnUid},
                  {"sopInstanceUid", model->sopInstanceUid},
                  {"fromCache", modelFromCache},
                  // hashed in this run: on entering the cache (cold), never on a cached one's use
                  {"hashed", !modelFromCache || std::any_of(predictions.begin(), predictions.end(),
                                                            [](const PredictResult& p) { return p.modelHashed; })},
                  {"describedCandidates", selection.described},
                  {"describeBytes", selection.describeBytes},
                  {"bytesMoved", modelBytesMoved}};
  }
  nlohmann::json slices = nlohmann::json::array();
  for (const auto& p : predictions) slices.push_back(nlohmann::json::parse(p.toJson()));
  j["predictions"] = slices;
  j["approved"] = approved;
  j["corrected"] = corrected;
  j["drawn"] = drawn;
  for (const auto& [key, set] : {std::pair{"approvedSet", &approvedSet}, std::pair{"rejectedSet", &rejectedSet},
                                 std::pair{"originalSet", &originalSet}, std::pair{"approvedSeg", &approvedSeg},
                                 std::pair{"rejectedSeg", &rejectedSeg}, std::pair{"originalSeg", &originalSeg}}) {
    if (!*set) continue;
    const auto& s = **set;
    j[key] = {{"sopInstanceUid", s.sopInstanceUid},
              {"seriesInstanceUid", s.seriesInstanceUid},
              {"approvalStatus", s.approvalStatus},
              {"rois", s.rois},
              {"contours", s.contours},
              {"stored", s.stored},
              {"foundOnPacs", s.foundOnPacs},
              {"outboxFile", s.outboxFile.string()},
              {"storeError", s.storeError},
              {"signedBy", s.signedBy}};
  }
  const auto& t = timings;
  j["timingsMs"] = {{"locate", t.locateMs},       {"sliceRetrieve", t.sliceRetrieveMs},
                    {"discovery", t.discoveryMs}, {"select", t.selectMs},
                    {"model", t.modelRetrieveMs}, {"inferenceLoad", t.inferenceLoadMs},
                    {"build", t.buildMs},         {"inference", t.inferenceMs},
                    {"contours", t.contourMs},    {"rtstruct", t.rtstructMs},
                    {"store", t.storeMs},         {"total", t.totalMs}};
  j["exitCode"] = exitCode();
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client

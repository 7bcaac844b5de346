#include "iodeep/client/Predict.hpp"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/netparser/Network.hpp"

namespace iodeep::client {

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct LoadedModel {
  iod::IodeepFile file;
  netparser::Architecture arch;
};

// Reads and verifies the model (any error finding refuses it, with the finding's code) and parses
// its architecture: once per prediction.
LoadedModel loadModel(const std::filesystem::path& path, bool verified) {
  LoadedModel m{iod::readIodeep(path), {}};
  const ErrorContext where{.file = path.string()};
  if (!verified) {
    for (const auto& f : iod::verifyIodeep(m.file)) {
      if (f.severity == iod::Finding::Severity::Error) throw Error(f.code, "refused: " + f.message, where);
    }
  }
  try {
    m.arch = netparser::parseArchitecture(m.file.model.architectureJson);
  } catch (Error& e) {
    e.withTag("DnnArchitecture").inFile(where.file);
    throw;
  }
  return m;
}

}  // namespace

void preloadInference() {
  netparser::preloadInference();
}

void awaitInferenceLoad() {
  netparser::awaitInferenceLoad();
}

PredictResult predict(const PredictOptions& o) {
  // libtorch loads in the background while the model is read and verified and the slice decoded
  netparser::preloadInference();
  PredictResult r;
  const LoadedModel model = loadModel(o.model, o.modelVerified);
  const auto& m = model.file.model;
  r.dnnName = m.name;
  r.dnnVersion = m.version;
  r.dnnUid = m.dnnUid;
  r.modelSopInstanceUid = m.sopInstanceUid;

  // The slice is read and checked before any network is built: a slice that does not fit costs
  // no build.
  auto t = Clock::now();
  r.slice = iod::readSlice(o.image, o.frame);
  r.timings.decodeMs = ms(t, Clock::now());
  t = Clock::now();
  netparser::PreparedInput input;
  try {
    input = netparser::preprocess(r.slice, model.arch);
  } catch (Error& e) {
    e.inFile(o.image.string());
    throw;
  }
  r.timings.preprocessMs = ms(t, Clock::now());
  r.check = std::move(input.check);

  auto& engine = netparser::InferenceEngine::shared();
  if (o.engineMaxBytes != 0) engine.setMemoryBudget(o.engineMaxBytes);
  const auto before = engine.builds();
  netparser::BuildOptions build;
  build.allowTorchScript = o.allowTorchScript;
  build.warmUp = o.warmUpNetwork;
  std::shared_ptr<const netparser::Network> network;
  t = Clock::now();
  try {
    network = engine.network(m.dnnUid, model.arch, m.weights, build);
  } catch (Error& e) {
    e.inFile(o.model.string());
    throw;
  }
  r.networkFromCache = engine.builds() == before;
  r.buildMs = r.networkFromCache ? 0.0 : ms(t, Clock::now());

  t = Clock::now();
  const auto output = network->forward(input.tensor);
  r.timings.forwardMs = ms(t, Clock::now());
  auto post = netparser::postprocess(output, input.placement, r.slice.attributes, model.arch);
  r.proposals = std::move(post.proposals);
  r.timings.postprocessMs = post.postprocessMs;
  r.timings.contourMs = post.contourMs;
  return r;
}

std::string PredictResult::toText() const {
  std::ostringstream o;
  const auto& a = slice.attributes;
  o << "network:   " << dnnName << (dnnVersion.empty() ? "" : " " + dnnVersion) << " (DnnUID " << dnnUid << ")"
    << (networkFromCache ? ", cached" : "") << "\n"
    << "slice:     " << a.sopInstanceUid << " frame " << slice.frame << ", " << a.modality << " " << a.bodyPartExamined
    << ", " << a.rows << "x" << a.columns << " " << a.photometricInterpretation << "\n";
  for (const auto& s : check.adaptations) o << "adapted:   " << s << "\n";
  o << "proposals: " << proposals.size() << "\n";
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    const auto& p = proposals[i];
    std::size_t holes = 0;
    for (const auto& ring : p.rings) holes += ring.hole ? 1 : 0;
    o << "  " << i + 1 << ". " << p.label.name << ": " << p.areaPixels << " px";
    if (p.areaMm2 >= 0) o << ", " << std::llround(p.areaMm2) << " mm2";
    o << ", mean probability " << static_cast<double>(std::lround(p.meanProbability * 1000)) / 1000.0 << ", "
      << p.rings.size() - holes << " ring(s), " << holes << " hole(s)\n";
  }
  o << "timings:   decode " << timings.decodeMs << " ms, pre-process " << timings.preprocessMs << " ms, forward "
    << timings.forwardMs << " ms, post-process " << timings.postprocessMs << " ms, contours " << timings.contourMs
    << " ms\n";
  return o.str();
}

std::string PredictResult::toJson() const {
  const auto& a = slice.attributes;
  const bool geometry = a.pixelSpacing && a.imagePositionPatient && a.imageOrientationPatient;
  nlohmann::json j;
  j["network"] = {
      {"name", dnnName}, {"version", dnnVersion}, {"dnnUid", dnnUid}, {"sopInstanceUid", modelSopInstanceUid}};
  j["slice"] = {{"sopInstanceUid", a.sopInstanceUid},
                {"sopClassUid", a.sopClassUid},
                {"frame", slice.frame},
                {"frameOfReferenceUid", a.frameOfReferenceUid},
                {"rows", a.rows},
                {"columns", a.columns}};
  j["adaptations"] = check.adaptations;
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& p : proposals) {
    nlohmann::json rings = nlohmann::json::array();
    for (const auto& ring : p.rings) {
      nlohmann::json px = nlohmann::json::array();
      nlohmann::json mm = nlohmann::json::array();
      for (const auto& pt : ring.points) {
        px.push_back({pt.column, pt.row});
        if (geometry) mm.push_back(iod::pixelToPatient(a, pt.column, pt.row));
      }
      nlohmann::json rj = {{"hole", ring.hole}, {"pixels", px}};
      if (geometry) rj["patientMm"] = mm;
      rings.push_back(rj);
    }
    ps.push_back({{"label", p.label.name},
                  {"labelIndex", p.label.index},
                  {"color", p.label.color},
                  {"interpretedType", p.label.interpretedType},
                  {"areaPixels", p.areaPixels},
                  {"areaMm2", p.areaMm2},
                  {"meanProbability", p.meanProbability},
                  {"rings", rings}});
  }
  j["proposals"] = ps;
  j["timingsMs"] = {{"decode", timings.decodeMs},
                    {"preprocess", timings.preprocessMs},
                    {"forward", timings.forwardMs},
                    {"postprocess", timings.postprocessMs},
                    {"contours", timings.contourMs}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client

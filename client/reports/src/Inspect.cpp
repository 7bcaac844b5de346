#include "iodeep/reports/Inspect.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/trust/SignatureJson.hpp"

namespace iodeep::client {

namespace {

std::string_view kindName(iod::ObjectKind k) {
  switch (k) {
    case iod::ObjectKind::Iodeep: return "iodeep";
    case iod::ObjectKind::Legacy: return "legacy";
    case iod::ObjectKind::Other: return "other";
  }
  return "other";
}

std::string_view severityName(iod::Finding::Severity s) {
  return s == iod::Finding::Severity::Error ? "error" : "warning";
}

}  // namespace

bool InspectReport::ok() const noexcept {
  if (kind != iod::ObjectKind::Iodeep) return false;
  for (const auto& f : findings) {
    if (f.severity == iod::Finding::Severity::Error) return false;
  }
  return true;
}

namespace {

// The signature problems as error findings, before the others: they say whether the object can
// be relied on at all.
void addSignatureFindings(InspectReport& r) {
  std::vector<iod::Finding> found;
  for (auto& p : r.signatures.problems()) {
    found.push_back({iod::Finding::Severity::Error, p.code, std::move(p.message)});
  }
  r.findings.insert(r.findings.begin(), found.begin(), found.end());
}

}  // namespace

InspectReport inspect(const std::filesystem::path& path, const std::optional<iod::TrustAnchors>& trust) {
  InspectReport r;
  r.path = path;
  // the signatures first: a damaged signature sequence is reported as such, not as a cut file
  r.signatures = checkSignatures(path, trust);
  r.kind = iod::probeObject(path);
  if (r.kind == iod::ObjectKind::Other) {
    throw Error(ErrorCode::NotIodeep,
                "DICOM, but not an IODeep object (no private creator \"" + std::string(iod::kPrivateCreator) +
                    "\" in group 0017, no legacy elements)",
                ErrorContext{.file = path.string()});
  }
  if (r.kind == iod::ObjectKind::Legacy) {
    r.legacy = iod::readLegacy(path);
    for (const auto& p : r.legacy->problems)
      r.findings.push_back({iod::Finding::Severity::Error, ErrorCode::LegacyIodeep, p});
    const std::string architectureTag = "(0017,0016)";
    const std::string weightsTag = "(0017,0018)";
    try {
      (void)iod::pythonLiteralToJson(r.legacy->architectureLiteral);
    } catch (Error& e) {
      e.withTag(architectureTag);
      r.findings.push_back(iod::Finding::of(e));
    }
    try {
      const auto bytes = iod::decodeBase64(r.legacy->weightsBase64);
      r.payloadBytes = bytes.size();
      const auto b = bytes.bytes();
      if (b.size() >= 2 && b[0] == std::byte{'P'} && b[1] == std::byte{'K'}) {
        r.findings.push_back({iod::Finding::Severity::Warning,
                              ErrorCode::LegacyIodeep,
                              "holds a torch.save zip archive; 'iodeep pack --from-legacy' converts it when it is a "
                              "plain dict of tensors",
                              {.dicomTag = weightsTag}});
      } else {
        r.findings.push_back({iod::Finding::Severity::Error,
                              ErrorCode::UnsupportedWeights,
                              "holds a pre-zip torch.save pickle that libtorch cannot read: re-export it",
                              {.dicomTag = weightsTag}});
      }
    } catch (Error& e) {
      e.withTag(weightsTag);
      r.findings.push_back(iod::Finding::of(e));
    }
    addSignatureFindings(r);
    return r;
  }
  r.file = iod::readIodeep(path);
  r.findings = iod::verifyIodeep(*r.file);
  addSignatureFindings(r);
  const auto error = [&](ErrorCode code, const std::string& msg) {
    r.findings.push_back({iod::Finding::Severity::Error, code, msg});
  };
  try {
    const auto arch = netparser::parseArchitecture(r.file->model.architectureJson);
    // Selection compares SamplesPerPixel: an object whose value never feeds its network would be
    // chosen and then refuse every slice.
    const auto samples = r.file->model.target.samplesPerPixel;
    const auto fit = netparser::fitChannels(samples, arch);
    r.channels = "SamplesPerPixel " + std::to_string(samples) + " -> " + std::to_string(arch.input.channels) +
                 " input channel(s): " + (fit.feeds ? (fit.detail.empty() ? "as is" : fit.detail) : "NEVER FED");
    if (!fit.feeds) {
      error(ErrorCode::ChannelMismatch, "SamplesPerPixel " + std::to_string(samples) +
                                            " can never feed the network's input channels: " + fit.detail +
                                            "; every slice selected for this object would be refused");
    }
    if (arch.kind == netparser::Architecture::Kind::TorchScript) {
      r.architectureFormat = "torchscript";
      if (r.file->model.weightsFormat != iod::kWeightsFormatTorchScript) {
        error(ErrorCode::WeightsMismatch,
              "the architecture is a TorchScript network but the payload is " + r.file->model.weightsFormat);
      }
    } else {
      r.architectureFormat = arch.format == netparser::Architecture::Format::DnnParser ? "DNN-parser" : "iodeep";
      r.shapeTable = netparser::formatShapeTable(netparser::inferShapes(arch));
      if (r.file->model.weightsFormat != iod::kWeightsFormatSafetensors) {
        error(ErrorCode::WeightsMismatch,
              "a graph network needs SAFETENSORS weights, the payload is " + r.file->model.weightsFormat);
      } else if (!r.file->model.weights.empty()) {
        try {
          netparser::checkWeights(arch, r.file->model.weights);
        } catch (const Error& e) {
          r.findings.push_back(iod::Finding::of(e));
        }
      }
    }
  } catch (Error& e) {
    e.withTag("DnnArchitecture");  // the network's errors are about that element
    r.findings.push_back(iod::Finding::of(e));
  }
  r.payloadBytes = r.file->model.weights.size();
  if (!r.file->model.weights.empty() && r.file->model.weightsFormat == iod::kWeightsFormatSafetensors) {
    try {
      const auto st = iod::Safetensors::parse(r.file->model.weights, "DnnWeightsPayload");
      r.tensors = st.tensors();
      r.parameterCount = st.parameterCount();
    } catch (const Error&) {
      // already a finding of verifyIodeep
    }
  }
  return r;
}

std::string InspectReport::toText() const {
  std::ostringstream o;
  o << "file:        " << path.string() << "\n";
  if (kind == iod::ObjectKind::Legacy && legacy) {
    const auto& l = *legacy;
    o << "kind:        LEGACY object of the published IODeep reference code\n"
      << "name:        " << l.name << "\n"
      << "uid:         " << l.uid << "\n"
      << "modality:    " << l.modality << "\n"
      << "body part:   " << l.bodyPartExamined << "\n"
      << "SOP class:   " << l.sopClassUid << " (meta: " << l.mediaStorageSopClassUid << ")\n"
      << "transfer:    " << l.transferSyntaxUid << "\n"
      << "weights:     " << payloadBytes << " bytes of torch.save data (base64)\n"
      << "convert:     iodeep pack --from-legacy " << path.string() << " -o converted.dcm\n";
  } else if (file) {
    const auto& m = file->model;
    o << "kind:        IODeep object (private creator \"" << iod::kPrivateCreator << "\" at (0017," << std::hex
      << std::uppercase;
    o.width(4);
    o.fill('0');
    o << file->creatorElement << std::dec << "))\n"
      << "DnnName:     " << m.name << "\n"
      << "DnnVersion:  " << m.version << "\n"
      << "DnnUID:      " << m.dnnUid << "\n"
      << "Description: " << m.description << "\n"
      << "Weights URI: " << m.weightsUri << "\n";
    if (!m.predecessorDnnUid.empty()) {
      o << "fine-tuned from: DnnUID " << m.predecessorDnnUid << " (IODeep object " << m.predecessorSopInstanceUid
        << ")\n";
    }
    if (!m.trainingJson.empty()) {
      const auto t = nlohmann::json::parse(m.trainingJson, nullptr, false);
      if (t.is_object()) {
        const auto num = [&](const char* k) { return t.contains(k) ? t[k].dump() : std::string("?"); };
        o << "training:    " << num("slices") << " slice(s) (" << num("corrected") << " corrected, " << num("accepted")
          << " accepted, " << num("drawn") << " drawn), " << num("epochs") << " epoch(s), validation Dice "
          << num("diceBefore") << " -> " << num("diceAfter")
          << (t.value("validationIsTraining", false) ? " (on the training slices: one patient)" : "") << "\n";
      } else {
        o << "training:    (not JSON)\n";
      }
    }
    o << "trained for: Modality " << m.target.modality << ", BodyPartExamined " << m.target.bodyPartExamined
      << ", SamplesPerPixel " << m.target.samplesPerPixel << ", " << m.target.photometricInterpretation
      << ", PatientOrientation '" << m.target.patientOrientation << "'\n"
      << "study:       " << m.studyInstanceUid << " \"" << m.studyDescription << "\"\n"
      << "series:      " << m.seriesInstanceUid << " \"" << m.seriesDescription << "\"\n"
      << "instance:    " << m.sopInstanceUid << " (SOP class " << file->sopClassUid << ")\n"
      << "transfer:    " << file->transferSyntaxUid << "\n"
      << "created:     " << m.contentDate << " " << m.contentTime << " by " << m.manufacturer << " "
      << m.softwareVersions << "\n"
      << "architecture: " << m.architectureJson.size() << " bytes of JSON\n"
      << "payload:     " << m.weightsFormat << ", " << payloadBytes << " bytes, SHA-256 " << m.weightsSha256 << "\n"
      << "tensors:     " << tensors.size() << " (" << parameterCount << " values)\n";
    for (const auto& t : tensors) {
      o << "  " << t.name << "  " << iod::toString(t.dtype) << "  " << netparser::formatShape(t.shape) << "\n";
    }
    o << "network:     " << (architectureFormat.empty() ? "INVALID" : architectureFormat) << " architecture\n";
    if (!channels.empty()) o << "channels:    " << channels << "\n";
    if (!shapeTable.empty()) o << shapeTable;
  }
  o << signatures.toText();
  if (findings.empty()) {
    o << "check:       OK (SHA-256 verified, weights finite, UIDs valid"
      << (signatures.report.unsignedObject() ? "" : ", signatures verified") << ")\n";
  } else {
    for (const auto& f : findings) o << severityName(f.severity) << ": " << f.text() << "\n";
    o << "check:       " << (ok() ? "OK with warnings" : "FAILED") << "\n";
  }
  return o.str();
}

std::string InspectReport::toJson() const {
  nlohmann::json j;
  j["file"] = path.string();
  j["kind"] = kindName(kind);
  j["ok"] = ok();
  if (legacy) {
    const auto& l = *legacy;
    j["legacy"] = {{"name", l.name},
                   {"uid", l.uid},
                   {"modality", l.modality},
                   {"bodyPartExamined", l.bodyPartExamined},
                   {"sopClassUid", l.sopClassUid},
                   {"mediaStorageSopClassUid", l.mediaStorageSopClassUid},
                   {"transferSyntaxUid", l.transferSyntaxUid},
                   {"weightsBytes", payloadBytes}};
  }
  if (file) {
    const auto& m = file->model;
    j["dnn"] = {{"name", m.name},
                {"version", m.version},
                {"uid", m.dnnUid},
                {"description", m.description},
                {"weightsUri", m.weightsUri},
                {"weightsFormat", m.weightsFormat},
                {"weightsSha256", m.weightsSha256},
                {"payloadBytes", payloadBytes},
                {"architecture", m.architectureJson}};
    if (!m.predecessorDnnUid.empty() || !m.predecessorSopInstanceUid.empty()) {
      j["dnn"]["predecessor"] = {{"dnnUid", m.predecessorDnnUid}, {"sopInstanceUid", m.predecessorSopInstanceUid}};
    }
    if (!m.trainingJson.empty()) {
      const auto t = nlohmann::json::parse(m.trainingJson, nullptr, false);
      j["dnn"]["training"] = t.is_discarded() ? nlohmann::json(m.trainingJson) : t;
    }
    j["trainedFor"] = {{"modality", m.target.modality},
                       {"bodyPartExamined", m.target.bodyPartExamined},
                       {"samplesPerPixel", m.target.samplesPerPixel},
                       {"photometricInterpretation", m.target.photometricInterpretation},
                       {"patientOrientation", m.target.patientOrientation}};
    j["dicom"] = {{"studyInstanceUid", m.studyInstanceUid},
                  {"seriesInstanceUid", m.seriesInstanceUid},
                  {"sopInstanceUid", m.sopInstanceUid},
                  {"sopClassUid", file->sopClassUid},
                  {"mediaStorageSopClassUid", file->mediaStorageSopClassUid},
                  {"transferSyntaxUid", file->transferSyntaxUid},
                  {"studyDescription", m.studyDescription},
                  {"seriesDescription", m.seriesDescription},
                  {"manufacturer", m.manufacturer},
                  {"softwareVersions", m.softwareVersions},
                  {"contentDate", m.contentDate},
                  {"contentTime", m.contentTime},
                  {"creatorVersionUid", m.creatorVersionUid},
                  {"privateCreatorElement", file->creatorElement}};
    nlohmann::json ts = nlohmann::json::array();
    for (const auto& t : tensors)
      ts.push_back({{"name", t.name}, {"dtype", iod::toString(t.dtype)}, {"shape", t.shape}});
    j["tensors"] = ts;
    j["architectureFormat"] = architectureFormat;
    j["shapeTable"] = shapeTable;
    j["channels"] = channels;
    j["parameterCount"] = parameterCount;
  }
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : findings) {
    // "message" with the context in front, as the text report has it; the context also as fields
    nlohmann::json finding = {
        {"severity", severityName(f.severity)}, {"code", toString(f.code)}, {"message", f.text()}};
    nlohmann::json where = nlohmann::json::object();
    for (const auto& [key, value] : {std::pair{"dicomTag", &f.context.dicomTag}, std::pair{"part", &f.context.part},
                                     std::pair{"layer", &f.context.layer}, std::pair{"pointer", &f.context.pointer}}) {
      if (!value->empty()) where[key] = *value;
    }
    if (!where.empty()) finding["context"] = where;
    fs.push_back(std::move(finding));
  }
  j["findings"] = fs;
  const auto sig = signatureCheckJson(signatures);
  j["signed"] = sig["signed"];
  j["signatures"] = sig["signatures"];
  if (sig.contains("trust")) j["trust"] = sig["trust"];
  // DICOM text from elsewhere may hold bytes that are not UTF-8: replace them, do not fail.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client

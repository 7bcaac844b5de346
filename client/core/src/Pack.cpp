#include "iodeep/client/Pack.hpp"

#include <optional>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/WeightsImport.hpp"

namespace iodeep::client {

namespace {

std::uint16_t parseSamples(const std::string& text, const ErrorContext& where) {
  if (text == "1") return 1;
  if (text == "3") return 3;
  throw Error(ErrorCode::InvalidArgument, "SamplesPerPixel '" + text + "' is neither 1 nor 3", where);
}

// Adds where the architecture or the weights came from to an error thrown by @p step.
template <typename Step>
auto withContext(const ErrorContext& where, const Step& step) {
  try {
    return step();
  } catch (Error& e) {
    e.withTag(where.dicomTag).inFile(where.file);
    throw;
  }
}

}  // namespace

PackResult pack(const PackOptions& o) {
  if (o.output.empty()) throw Error(ErrorCode::InvalidArgument, "no output file (-o)");
  iod::PackInput in;
  PackResult result;
  std::optional<netparser::Architecture> graph;  // set for graph networks: the weights must fit it
  ErrorContext weightsWhere;                     // where the weights came from, for errors about them

  if (!o.fromLegacy.empty()) {
    if (!o.architecture.empty() || !o.weights.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  "--from-legacy takes the architecture and weights from the legacy object; "
                  "do not also give --architecture or --weights");
    }
    const iod::LegacyObject legacy = iod::readLegacy(o.fromLegacy);
    const std::string where = o.fromLegacy.string();
    const ErrorContext architectureWhere{.file = where, .dicomTag = "(0017,0016)"};
    weightsWhere = {.file = where, .dicomTag = "(0017,0018)"};
    in.architectureJson =
        withContext(architectureWhere, [&] { return iod::pythonLiteralToJson(legacy.architectureLiteral); });
    iod::ByteBuffer torchBytes;
    try {
      torchBytes = iod::decodeBase64(legacy.weightsBase64);
    } catch (const Error& e) {
      throw Error(ErrorCode::UnsupportedWeights, "not base64: " + e.detail(), weightsWhere);
    }
    auto imported = netparser::importTorchBytes(torchBytes.bytes(), where + " (0017,0018)");
    in.weights = imported.safetensors;
    graph = withContext(architectureWhere, [&] { return netparser::parseArchitecture(in.architectureJson); });
    result.weightsSource = "legacy " + std::string(netparser::toString(imported.source));
    in.name = o.name.empty() ? legacy.name : o.name;
    in.target.modality = o.modality.empty() ? legacy.modality : o.modality;
    in.target.bodyPartExamined = o.bodyPart.empty() ? legacy.bodyPartExamined : o.bodyPart;
    if (in.target.bodyPartExamined.empty()) {
      throw Error(ErrorCode::InvalidArgument, "BodyPartExamined is empty; give it with --body-part",
                  ErrorContext{.file = where});
    }
    if (in.target.modality.empty()) {
      throw Error(ErrorCode::InvalidArgument, "Modality is empty; give it with --modality",
                  ErrorContext{.file = where});
    }
    in.target.samplesPerPixel = o.samplesPerPixel.value_or(
        legacy.samplesPerPixel.empty() ? std::uint16_t{1}
                                       : parseSamples(legacy.samplesPerPixel, ErrorContext{.file = where}));
    in.target.photometricInterpretation = o.photometric.value_or(
        !legacy.photometricInterpretation.empty() ? legacy.photometricInterpretation
                                                  : (in.target.samplesPerPixel == 3 ? "RGB" : "MONOCHROME2"));
    in.description = o.description;
    if (!legacy.uid.empty()) {
      if (!in.description.empty()) in.description += "\n";
      in.description += "Converted from a legacy IODeep object (UID " + legacy.uid + ").";
    }
  } else {
    if (o.architecture.empty()) throw Error(ErrorCode::InvalidArgument, "no architecture file (--architecture)");
    if (o.weights.empty()) throw Error(ErrorCode::InvalidArgument, "no weights file (--weights)");
    in.architectureJson = iod::readTextFile(o.architecture);
    iod::checkJson(in.architectureJson, o.architecture.string());
    const auto arch = withContext(ErrorContext{.file = o.architecture.string()},
                                  [&] { return netparser::parseArchitecture(in.architectureJson); });
    if (arch.kind == netparser::Architecture::Kind::TorchScript) {
      // The archive itself is the payload: graph and weights.
      in.weights = iod::ByteBuffer::mapFile(o.weights);
      netparser::checkTorchScriptArchive(in.weights.bytes(), o.weights.string());
      in.weightsFormat = std::string(iod::kWeightsFormatTorchScript);
      result.weightsSource = "TorchScript archive (stored as is)";
    } else {
      auto imported = netparser::importWeights(o.weights);
      in.weights = imported.safetensors;
      result.weightsSource = std::string(netparser::toString(imported.source));
      graph = arch;
      weightsWhere = {.file = o.weights.string()};
    }
    in.name = o.name;
    in.target.modality = o.modality;
    in.target.bodyPartExamined = o.bodyPart;
    in.target.samplesPerPixel = o.samplesPerPixel.value_or(1);
    in.target.photometricInterpretation =
        o.photometric.value_or(in.target.samplesPerPixel == 3 ? "RGB" : "MONOCHROME2");
    in.description = o.description;
  }
  if (in.target.modality.empty()) throw Error(ErrorCode::InvalidArgument, "no modality (--modality)");
  if (in.target.bodyPartExamined.empty()) throw Error(ErrorCode::InvalidArgument, "no body part (--body-part)");
  in.target.patientOrientation = o.patientOrientation;
  in.version = o.version;
  in.weightsUri = o.weightsUri;
  in.studyInstanceUid = o.studyUid;

  // buildModel validates the payload once (parse, NaN/Inf scan, SHA-256); then the fit.
  try {
    result.model = iod::buildModel(std::move(in));
  } catch (Error& e) {
    const bool aboutWeights = e.code() == ErrorCode::NonFiniteWeights || e.code() == ErrorCode::InvalidSafetensors ||
                              e.code() == ErrorCode::UnsupportedDtype;
    if (aboutWeights) e.withTag(weightsWhere.dicomTag).inFile(weightsWhere.file);
    throw;
  }
  if (graph) withContext(weightsWhere, [&] { netparser::checkWeights(*graph, result.model.weights); });
  if (result.model.weightsFormat == iod::kWeightsFormatSafetensors) {
    const auto st = iod::Safetensors::parse(result.model.weights);
    result.tensorCount = st.tensors().size();
    result.parameterCount = st.parameterCount();
  }
  iod::writeIodeep(result.model, o.output);
  return result;
}

}  // namespace iodeep::client

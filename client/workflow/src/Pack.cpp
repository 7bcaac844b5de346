#include "iodeep/workflow/Pack.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Prediction.hpp"
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

// The architecture text with @p file (a JSON object) as its "preprocessing" section. The rest of
// the developer's text is kept byte for byte; the section goes in before the closing brace.
std::string withPreprocessing(const std::string& architecture, const std::filesystem::path& file,
                              const std::string& architectureWhere) {
  const ErrorContext where{.file = file.string(), .part = "preprocessing"};
  const nlohmann::json pre = iod::parseJson(iod::readTextFile(file), file.string());
  if (!pre.is_object()) {
    throw Error(ErrorCode::InvalidArgument, "must be a JSON object, e.g. {\"channels\": \"adapt\"}", where);
  }
  const nlohmann::json root = iod::parseJson(architecture, architectureWhere);
  const auto close = architecture.rfind('}');
  if (!root.is_object() || close == std::string::npos) {
    throw Error(ErrorCode::InvalidArchitecture, "the top level must be an object",
                ErrorContext{.file = architectureWhere, .part = "architecture"});
  }
  if (root.contains("preprocessing")) {
    throw Error(ErrorCode::InvalidArgument,
                "the architecture has a \"preprocessing\" section already: change it there instead of giving "
                "--preprocessing",
                ErrorContext{.file = architectureWhere, .part = "architecture", .pointer = "/preprocessing"});
  }
  const auto last = architecture.find_last_not_of(" \t\r\n", close - 1);  // '{' at least
  return architecture.substr(0, last + 1) + (root.empty() ? "\n" : ",\n") + "  \"preprocessing\": " + pre.dump() +
         "\n" + architecture.substr(close);
}

// Parses the architecture; errors about the section that --preprocessing added name that file.
netparser::Architecture parseWithPreprocessing(const std::string& json, const std::string& architectureWhere,
                                               const std::filesystem::path& preprocessing) {
  try {
    return netparser::parseArchitecture(json);
  } catch (Error& e) {
    const bool fromPreprocessing = !preprocessing.empty() && e.pointer().rfind("/preprocessing", 0) == 0;
    e.inFile(fromPreprocessing ? preprocessing.string() : architectureWhere);
    throw;
  }
}

// SamplesPerPixel when none is given: grey when the network takes grey slices, else what it takes.
std::uint16_t defaultSamples(const netparser::Architecture& arch) {
  if (netparser::feedsChannels(1, arch)) return 1;
  if (netparser::feedsChannels(3, arch)) return 3;
  return 1;  // nothing feeds it: the check that follows says so
}

// The hole this closes: an object whose SamplesPerPixel can never feed its network is chosen by
// selection (which compares SamplesPerPixel) and then refused by every prediction.
std::string checkChannels(std::uint16_t samples, const netparser::Architecture& arch, const std::string& where) {
  auto fit = netparser::fitChannels(samples, arch);
  if (fit.feeds) return fit.detail;
  std::string advice;
  const std::uint16_t other = samples == 1 ? 3 : 1;
  if (netparser::feedsChannels(other, arch)) advice += "give --samples-per-pixel " + std::to_string(other) + ", or ";
  if (arch.input.channels == 1 || arch.input.channels == 3) {
    advice += "give --preprocessing with {\"channels\": \"adapt\"} (or change preprocessing.channels)";
  } else {
    advice = "DICOM slices have 1 or 3 samples per pixel";
  }
  throw Error(ErrorCode::ChannelMismatch,
              "SamplesPerPixel " + std::to_string(samples) + " can never feed the network's " +
                  std::to_string(arch.input.channels) + " input channel(s): " + fit.detail +
                  "; selection would choose this object and every prediction would refuse the slice: " + advice,
              ErrorContext{.file = where, .part = "SamplesPerPixel", .pointer = "/preprocessing/channels"});
}

}  // namespace

PackResult pack(const PackOptions& o) {
  if (o.output.empty()) throw Error(ErrorCode::InvalidArgument, "no output file (-o)");
  // a key that cannot sign is found before the weights are imported and checked
  if (o.signing) iod::checkSigningCredentials(*o.signing);
  iod::PackInput in;
  PackResult result;
  std::optional<netparser::Architecture> graph;  // set for graph networks: the weights must fit it
  netparser::Architecture arch;                  // either kind: its input channels
  ErrorContext weightsWhere;                     // where the weights came from, for errors about them
  std::string archFile;                          // the file the architecture came from
  std::optional<std::uint16_t> samples = o.samplesPerPixel;
  std::optional<std::string> photometric = o.photometric;

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
    if (!o.preprocessing.empty()) in.architectureJson = withPreprocessing(in.architectureJson, o.preprocessing, where);
    iod::ByteBuffer torchBytes;
    try {
      torchBytes = iod::decodeBase64(legacy.weightsBase64);
    } catch (const Error& e) {
      throw Error(ErrorCode::UnsupportedWeights, "not base64: " + e.detail(), weightsWhere);
    }
    auto imported = netparser::importTorchBytes(torchBytes.bytes(), weightsWhere);
    in.weights = imported.safetensors;
    arch = withContext(architectureWhere,
                       [&] { return parseWithPreprocessing(in.architectureJson, where, o.preprocessing); });
    graph = arch;
    archFile = where;
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
    if (!samples && !legacy.samplesPerPixel.empty())
      samples = parseSamples(legacy.samplesPerPixel, ErrorContext{.file = where});
    if (!photometric && !legacy.photometricInterpretation.empty()) photometric = legacy.photometricInterpretation;
    in.description = o.description;
    if (!legacy.uid.empty()) {
      if (!in.description.empty()) in.description += "\n";
      in.description += "Converted from a legacy IODeep object (UID " + legacy.uid + ").";
    }
  } else {
    if (o.architecture.empty()) throw Error(ErrorCode::InvalidArgument, "no architecture file (--architecture)");
    if (o.weights.empty()) throw Error(ErrorCode::InvalidArgument, "no weights file (--weights)");
    archFile = o.architecture.string();
    in.architectureJson = iod::readTextFile(o.architecture);
    iod::checkJson(in.architectureJson, archFile);
    if (!o.preprocessing.empty())
      in.architectureJson = withPreprocessing(in.architectureJson, o.preprocessing, archFile);
    arch = parseWithPreprocessing(in.architectureJson, archFile, o.preprocessing);
    if (arch.kind == netparser::Architecture::Kind::TorchScript) {
      // The archive itself is the payload: graph and weights.
      in.weights = iod::ByteBuffer::mapFile(o.weights);
      netparser::checkTorchScriptArchive(in.weights.bytes(), ErrorContext{.file = o.weights.string()});
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
    in.description = o.description;
  }
  result.samplesPerPixelDefaulted = !samples;
  in.target.samplesPerPixel = samples.value_or(defaultSamples(arch));
  in.target.photometricInterpretation = photometric.value_or(in.target.samplesPerPixel == 3 ? "RGB" : "MONOCHROME2");
  if (in.target.modality.empty()) throw Error(ErrorCode::InvalidArgument, "no modality (--modality)");
  if (in.target.bodyPartExamined.empty()) throw Error(ErrorCode::InvalidArgument, "no body part (--body-part)");
  result.channelAdaptation = checkChannels(in.target.samplesPerPixel, arch, archFile);
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
  result.signature = iod::writeIodeep(result.model, o.output, o.signing);
  return result;
}

}  // namespace iodeep::client

// Fine-tuning a network on a dataset from the PACS, written as its next version.
#include "iodeep/workflow/Finetune.hpp"

#include <cctype>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/workflow/Dataset.hpp"
#include "iodeep/workflow/Masks.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

std::string nextVersion(const std::string& version) {
  if (version.empty()) return "2";
  const auto last = version.find_last_of("0123456789");
  if (last == std::string::npos) return version + ".2";
  auto first = last;
  while (first > 0 && std::isdigit(static_cast<unsigned char>(version[first - 1])) != 0) --first;
  std::string digits = version.substr(first, last - first + 1);
  // + 1 in decimal, however long
  int i = static_cast<int>(digits.size()) - 1;
  while (i >= 0 && digits[static_cast<std::size_t>(i)] == '9') digits[static_cast<std::size_t>(i--)] = '0';
  if (i < 0) {
    digits.insert(digits.begin(), '1');
  } else {
    ++digits[static_cast<std::size_t>(i)];
  }
  return version.substr(0, first) + digits + version.substr(last + 1);
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// @p mask (the slice's grid) onto the network's grid: each network pixel takes the slice pixel its
// centre falls in (Placement: network position = offset + slice edge coordinate x scale), 0 outside.
void placeMask(const Mask& mask, const netparser::Placement& at, std::int64_t height, std::int64_t width,
               std::uint8_t* out) {
  for (std::int64_t y = 0; y < height; ++y) {
    const double r = std::floor((static_cast<double>(y) + 0.5 - at.offsetRow) / at.scaleRow);
    for (std::int64_t x = 0; x < width; ++x) {
      const double c = std::floor((static_cast<double>(x) + 0.5 - at.offsetColumn) / at.scaleColumn);
      const bool inside =
          r >= 0 && c >= 0 && r < static_cast<double>(mask.rows) && c < static_cast<double>(mask.columns);
      out[y * width + x] =
          inside && mask.values[static_cast<std::size_t>(r) * mask.columns + static_cast<std::size_t>(c)] != 0 ? 1 : 0;
    }
  }
}

}  // namespace

FinetuneReport finetune(const FinetuneOptions& options) {
  if (options.output.empty()) throw Error(ErrorCode::InvalidArgument, "finetune: the output file is required (-o)");
  if (options.signing) iod::checkSigningCredentials(*options.signing);
  const auto file = iod::readIodeep(options.network);
  for (const auto& f : iod::verifyIodeep(file)) {
    if (f.severity == iod::Finding::Severity::Error) {
      throw Error(f.code, "the network does not verify: " + f.text(), {.file = options.network.string()});
    }
  }
  const auto& model = file.model;
  if (model.weightsFormat != iod::kWeightsFormatSafetensors) {
    throw Error(ErrorCode::TorchScriptRefused,
                "a TorchScript network is not fine-tuned (its code decides its own training behaviour)",
                {.file = options.network.string()});
  }
  const auto arch = netparser::parseArchitecture(model.architectureJson);
  const auto dataset = readDataset(options.dataset);
  if (dataset.network != model.dnnUid) {
    throw Error(ErrorCode::InvalidArgument,
                "the dataset was made from the proposals of the network " + dataset.network + ", not of " + model.name +
                    " (DnnUID " + model.dnnUid + ")",
                {.file = options.dataset.string()});
  }
  if (dataset.samples.empty()) {
    throw Error(ErrorCode::InvalidArgument, "the dataset is empty: nothing to fine-tune on",
                {.file = options.dataset.string()});
  }
  const auto shape = netparser::inferShapes(arch).outputShape;
  if (shape.size() != 3) {
    throw Error(ErrorCode::InvalidArgument, "fine-tuning needs a per-pixel output; the network puts out another shape",
                {.file = options.network.string()});
  }
  const auto labels = netparser::outputLabels(arch, shape[0]);
  const bool softmax = arch.outputSpec.activation == netparser::OutputSpec::Activation::Softmax;
  FinetuneReport r;
  // one training sample per slice: the input as prediction makes it, one mask per output channel
  struct Slice {
    std::string split;
    std::vector<const DatasetSample*> rows;
  };
  std::map<std::string, Slice> slices;  // by image path
  for (const auto& s : dataset.samples) {
    auto& slice = slices[s.image];
    slice.split = s.split;
    slice.rows.push_back(&s);
    (s.source == SampleSource::Corrected ? r.corrected : s.source == SampleSource::Drawn ? r.drawn : r.accepted) += 1;
  }
  std::vector<netparser::TrainingSample> train;
  std::vector<netparser::TrainingSample> validation;
  const std::int64_t height = shape[1];
  const std::int64_t width = shape[2];
  const auto plane = static_cast<std::size_t>(height * width);
  for (const auto& [image, slice] : slices) {
    const fs::path imagePath = options.dataset / image;
    const auto img = iod::readSlice(imagePath);
    netparser::PreparedInput prepared;
    try {
      prepared = netparser::preprocess(img, arch);  // as prediction does: the same checks and adaptations
    } catch (Error& e) {
      e.inFile(imagePath.string());
      throw;
    }
    netparser::TrainingSample sample;
    sample.input = std::move(prepared.tensor);
    sample.target.assign(static_cast<std::size_t>(shape[0]) * plane, 0);
    for (const auto* row : slice.rows) {
      const netparser::LabelSpec* label = nullptr;
      for (const auto& l : labels) {
        if (lower(l.name) == lower(row->label)) label = &l;
      }
      if (label == nullptr) {
        throw Error(ErrorCode::InvalidArgument, "the dataset's label '" + row->label + "' is not one of the network's",
                    {.file = (options.dataset / "manifest.csv").string()});
      }
      const fs::path maskPath = options.dataset / row->mask;
      const auto buffer = iod::ByteBuffer::mapFile(maskPath);
      const auto bytes = buffer.bytes();
      const auto mask = decodePngMask(std::vector<std::byte>(bytes.begin(), bytes.end()), maskPath.string());
      if (mask.rows != img.rows || mask.columns != img.columns) {
        throw Error(ErrorCode::InvalidArgument,
                    "the mask is " + std::to_string(mask.columns) + " x " + std::to_string(mask.rows) +
                        " pixels, its slice " + std::to_string(img.columns) + " x " + std::to_string(img.rows),
                    {.file = maskPath.string()});
      }
      std::vector<std::uint8_t> placed(plane);
      placeMask(mask, prepared.placement, height, width, placed.data());
      auto* channel = sample.target.data() + static_cast<std::size_t>(label->index) * plane;
      for (std::size_t k = 0; k < plane; ++k) channel[k] |= placed[k];
    }
    if (softmax) {  // channel 0: the background, where no label is
      for (std::size_t k = 0; k < plane; ++k) {
        bool any = false;
        for (std::int64_t c = 1; c < shape[0]; ++c)
          any = any || sample.target[static_cast<std::size_t>(c) * plane + k] != 0;
        sample.target[k] = any ? 0 : 1;
      }
    }
    (slice.split == "validation" ? validation : train).push_back(std::move(sample));
  }
  r.trainingSlices = train.size();
  r.validationSlices = validation.size();
  if (train.empty()) {
    throw Error(ErrorCode::InvalidArgument, "the dataset has no training slice (all are for validation)",
                {.file = options.dataset.string()});
  }
  if (options.threads > 0) (void)netparser::configureThreads(options.threads);
  r.training = netparser::train(arch, model.weights, train, validation, options.training, options.onEpoch);

  // the next version: the same network and target, new weights (so a new DnnUID), its predecessor
  iod::PackInput in;
  in.architectureJson = model.architectureJson;
  in.weights = r.training.weights;
  in.weightsFormat = model.weightsFormat;
  in.name = model.name;
  in.target = model.target;
  in.version = nextVersion(model.version);
  std::ostringstream description;
  description << "Fine-tuned by iodeep from version " << (model.version.empty() ? "-" : model.version) << " (DnnUID "
              << model.dnnUid << ") on " << slices.size() << " reviewed slice(s)";
  in.description = description.str();
  in.weightsUri = {};
  in.studyInstanceUid = model.studyInstanceUid;  // the versions of a network in one study
  auto next = iod::buildModel(std::move(in));
  next.predecessorDnnUid = model.dnnUid;
  next.predecessorSopInstanceUid = model.sopInstanceUid;
  const auto& t = r.training;
  const auto round4 = [](double v) { return std::round(v * 10000.0) / 10000.0; };
  nlohmann::json provenance{{"tool", "iodeep finetune"},
                            {"dataset", dataset.network},
                            {"slices", slices.size()},
                            {"trainingSlices", r.trainingSlices},
                            {"validationSlices", r.validationSlices},
                            {"corrected", r.corrected},
                            {"accepted", r.accepted},
                            {"drawn", r.drawn},
                            {"epochs", t.epochsRun},
                            {"bestEpoch", t.bestEpoch},
                            {"stoppedEarly", t.stoppedEarly},
                            {"learningRate", options.training.learningRate},
                            {"batchSize", options.training.batchSize},
                            {"batchNormFrozen", options.training.freezeBatchNorm},
                            {"seed", options.training.seed},
                            {"diceBefore", round4(t.diceBefore)},
                            {"diceAfter", round4(t.diceAfter)},
                            {"validationIsTraining", t.validationIsTraining}};
  next.trainingJson = provenance.dump();
  const auto signature = iod::writeIodeep(next, options.output, options.signing);
  r.name = next.name;
  r.fromVersion = model.version;
  r.version = next.version;
  r.fromDnnUid = model.dnnUid;
  r.dnnUid = next.dnnUid;
  r.sopInstanceUid = next.sopInstanceUid;
  r.fromSopInstanceUid = model.sopInstanceUid;
  if (signature) r.signedBy = signature->signer.subject;
  return r;
}

std::string FinetuneReport::toText() const {
  const auto& t = training;
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(4);
  o << "network:   " << name << " " << fromVersion << " (DnnUID " << fromDnnUid << ")\n"
    << "dataset:   " << trainingSlices << " training slice(s), " << validationSlices << " validation slice(s); "
    << corrected << " corrected, " << accepted << " accepted, " << drawn << " drawn\n"
    << "trained:   " << t.epochsRun << " epoch(s)" << (t.stoppedEarly ? " (stopped early)" : "") << ", best epoch "
    << t.bestEpoch << ", " << t.trainableParameters << " trainable values in " << t.trainableTensors
    << " tensors; training loss " << t.firstTrainLoss << " -> " << t.lastTrainLoss << "\n"
    << "Dice:      " << t.diceBefore << " -> " << t.diceAfter
    << (t.validationIsTraining ? " (on the training slices: the dataset has no validation patient)"
                               : " (validation slices)")
    << "\n"
    << "written:   " << name << " " << version << " (DnnUID " << dnnUid << ", SOP Instance " << sopInstanceUid << ")"
    << (signedBy.empty() ? "" : ", signed by " + signedBy) << "\n"
    << "publish:   iodeep upload <file> (the predecessor stays on the PACS; selection prefers the newer version)\n";
  return o.str();
}

std::string FinetuneReport::toJson() const {
  const auto& t = training;
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : t.epochs) {
    epochs.push_back({{"epoch", e.epoch},
                      {"trainLoss", e.trainLoss},
                      {"validationLoss", e.validationLoss},
                      {"validationDice", e.validationDice},
                      {"seconds", e.seconds}});
  }
  nlohmann::json j{{"name", name},
                   {"from", {{"version", fromVersion}, {"dnnUid", fromDnnUid}, {"sopInstanceUid", fromSopInstanceUid}}},
                   {"written", {{"version", version}, {"dnnUid", dnnUid}, {"sopInstanceUid", sopInstanceUid}}},
                   {"trainingSlices", trainingSlices},
                   {"validationSlices", validationSlices},
                   {"corrected", corrected},
                   {"accepted", accepted},
                   {"drawn", drawn},
                   {"diceBefore", t.diceBefore},
                   {"diceAfter", t.diceAfter},
                   {"lossBefore", t.lossBefore},
                   {"lossAfter", t.lossAfter},
                   {"validationIsTraining", t.validationIsTraining},
                   {"firstTrainLoss", t.firstTrainLoss},
                   {"lastTrainLoss", t.lastTrainLoss},
                   {"epochsRun", t.epochsRun},
                   {"bestEpoch", t.bestEpoch},
                   {"stoppedEarly", t.stoppedEarly},
                   {"trainableParameters", t.trainableParameters},
                   {"epochs", epochs},
                   {"signedBy", signedBy}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client

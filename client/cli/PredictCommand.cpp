#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/reports/Overlay.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

namespace {

// The configuration's trust policy and audit log apply to local runs too (docs/security.md).
client::RunPolicy localPolicy(const std::string& configPath) {
  const auto config = client::loadClientConfig(configPath);
  client::RunPolicy policy;
  policy.trust = config.trust;
  policy.auditLog = config.auditLog;
  return policy;
}

// "wrote PATH" and, for a signed set, who signed it.
std::string signedNote(const client::ReviewFiles& files) {
  return files.signedBy.empty() ? std::string() : ", signed by " + files.signedBy;
}

// Where the Segmentation goes beside an RT Structure Set written to @p path (--format both):
// "<stem>.seg.dcm" in its directory.
std::filesystem::path segBeside(const std::filesystem::path& path) {
  return path.parent_path() / (path.stem().string() + ".seg.dcm");
}

// The review written as --format says: RT Structure Sets at the paths (rtstruct), Segmentations
// at them (seg), or both (the Segmentations beside them, segBeside); one line per file.
void writeOutputs(std::span<const client::PredictResult> predictions, const client::ReviewDecision& decision,
                  const std::string& rtstructPath, const std::string& rejectedPath,
                  const std::optional<iod::SigningCredentials>& signing, client::ResultFormat format, bool series) {
  const auto write = [&](client::ResultFormat object, const std::filesystem::path& approved,
                         const std::filesystem::path& rejected) {
    const bool seg = object == client::ResultFormat::Seg;
    const auto written = client::writeReview(predictions, decision, approved, rejected, signing, {}, object);
    if (written.approved) {
      std::cout << "wrote " << approved.string() << ": " << written.approved->rois
                << (seg ? " segment(s), " : " ROI(s), ") << written.approved->contours
                << (seg ? " frame(s)" : " contour(s)") << (series ? " on the series" : "")
                << (seg ? " (DICOM Segmentation)" : "") << ", reviewer " << decision.reviewer << signedNote(written)
                << "\n";
    }
    if (written.rejected) {
      std::cout << "wrote " << rejected.string() << ": rejected ROI(s)" << (seg ? " (DICOM Segmentation)" : "")
                << signedNote(written) << "\n";
    }
  };
  if (format != client::ResultFormat::Seg) write(client::ResultFormat::RtStruct, rtstructPath, rejectedPath);
  if (format == client::ResultFormat::Seg) write(client::ResultFormat::Seg, rtstructPath, rejectedPath);
  if (format == client::ResultFormat::Both) {
    write(client::ResultFormat::Seg, rtstructPath.empty() ? std::filesystem::path() : segBeside(rtstructPath),
          rejectedPath.empty() ? std::filesystem::path() : segBeside(rejectedPath));
  }
}

int predictSeriesCommand(const std::string& model, const std::string& directory, bool allowTorchScript,
                         const client::RunPolicy& policy, const std::string& json, const std::string& rtstructPath,
                         const std::string& rejectedPath, const std::string& approve, const std::string& reviewer,
                         const std::optional<iod::SigningCredentials>& signing, client::ResultFormat format) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    throw Error(ErrorCode::FileNotFound, "not a directory", ErrorContext{.file = directory});
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(directory)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  const auto ordered = client::orderedImages(files);
  if (ordered.empty())
    throw Error(ErrorCode::NotDicom, "no DICOM image in the directory", ErrorContext{.file = directory});
  client::SeriesPredictOptions o;
  o.model = model;
  o.allowTorchScript = allowTorchScript;
  o.policy = policy;
  for (const auto& i : ordered) o.images.push_back(i.file);
  const auto r = client::predictSeries(o);
  std::cout << r.toText();
  if (files.size() != ordered.size()) {
    std::cout << "skipped:   " << files.size() - ordered.size() << " file(s) that are not DICOM images\n";
  }
  if (!json.empty()) {
    iod::writeFileAtomically(json, r.toJson());
    std::cout << "wrote " << json << "\n";
  }
  if (!rtstructPath.empty() || !rejectedPath.empty()) {
    const client::ReviewDecision decision{client::parseSelection(approve, r.proposals()), reviewer};
    writeOutputs(std::span<const client::PredictResult>(r.slices), decision, rtstructPath, rejectedPath, signing,
                 format, true);
  }
  return kExitOk;
}

}  // namespace

int predictCommand(const std::vector<std::string>& args) {
  client::PredictOptions o;
  std::string model;
  std::string image;
  std::string json;
  std::string png;
  std::string rtstructPath;
  std::string rejectedPath;
  std::string approve;
  std::string reviewer;
  std::string series;
  std::string configPath;
  std::string format{"rtstruct"};
  SigningFlags signingFlags;
  po::options_description desc(
      "usage: iodeep predict --model model.dcm --image slice.dcm [--frame N] [--json out.json] [--png overlay.png]\n"
      "       iodeep predict --model model.dcm --series DIR [--json out.json] [--rtstruct ... --approve ...]\n\n"
      "Runs the paper's Algorithm 2 locally: checks the slice against the network's input (check_tensor_shape),\n"
      "pre-processes it as the architecture says, runs the network, and turns its output into ROI proposals\n"
      "traced along pixel edges in the slice's own grid.\n\nOptions");
  desc.add_options()("help,h", "show this help")("model,m", po::value(&model), "IODeep model (.dcm)")(
      "image,i", po::value(&image), "DICOM image")(
      "series", po::value(&series),
      "every image of a directory (one series, in slice order): one RT Structure Set for the series")(
      "frame", po::value(&o.frame)->default_value(0), "frame of a multi-frame image (0-based)")(
      "json", po::value(&json), "write the proposals (pixel and patient coordinates) as JSON")(
      "png", po::value(&png), "draw the proposals on the windowed slice")(
      "allow-torchscript", "run a TorchScript network (code as well as data: only for models you trust)")(
      "rtstruct", po::value(&rtstructPath), "write the approved proposals as an RT Structure Set (APPROVED)")(
      "approve", po::value(&approve), "which proposals are approved: all, none, or numbers as printed (1,3)")(
      "reviewer", po::value(&reviewer), "the approving physician, DICOM PN (e.g. Doe^Jane)")(
      "rejected-rtstruct", po::value(&rejectedPath), "write the other proposals as an RT Structure Set (REJECTED)")(
      "format", po::value(&format)->default_value("rtstruct"),
      "what --rtstruct/--rejected-rtstruct write: rtstruct, seg (a DICOM Segmentation at that path, docs/seg.md) or "
      "both (the Segmentation beside it as <name>.seg.dcm)")(
      "config", po::value(&configPath),
      "client configuration file: its trust policy (require_signed_networks) and audit log apply");
  signingFlags.add(desc);
  const auto parsed = parseOptions(args, desc);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  if (model.empty() || image.empty() == series.empty()) {
    std::cerr << "iodeep predict: --model and one of --image or --series are required (see 'iodeep predict --help')\n";
    return kExitUsage;
  }
  if ((!rtstructPath.empty() || !rejectedPath.empty()) && (approve.empty() || reviewer.empty())) {
    std::cerr << "iodeep predict: --rtstruct/--rejected-rtstruct need --approve and --reviewer\n";
    return kExitUsage;
  }
  const auto resultFormat = client::resultFormatFrom(format);
  const auto signing = signingFlags.resolve();
  if (signing) {
    if (rtstructPath.empty() && rejectedPath.empty()) {
      std::cerr
          << "iodeep predict: --sign-key signs the structure sets: use it with --rtstruct or --rejected-rtstruct\n";
      return kExitUsage;
    }
    iod::checkSigningCredentials(*signing);  // before the network runs
  }
  if (!series.empty()) {
    if (!png.empty()) {
      std::cerr << "iodeep predict: --png draws one slice: use it with --image\n";
      return kExitUsage;
    }
    return predictSeriesCommand(model, series, vm.count("allow-torchscript") != 0, localPolicy(configPath), json,
                                rtstructPath, rejectedPath, approve, reviewer, signing, resultFormat);
  }
  o.model = model;
  o.image = image;
  o.allowTorchScript = vm.count("allow-torchscript") != 0;
  o.policy = localPolicy(configPath);
  const auto r = client::predict(o);
  std::cout << r.toText();
  if (!json.empty()) {
    iod::writeFileAtomically(json, r.toJson());
    std::cout << "wrote " << json << "\n";
  }
  if (!rtstructPath.empty() || !rejectedPath.empty()) {
    const client::ReviewDecision decision{client::parseSelection(approve, r.proposals.size()), reviewer};
    writeOutputs(std::span<const client::PredictResult>(&r, 1), decision, rtstructPath, rejectedPath, signing,
                 resultFormat, false);
  }
  if (!png.empty()) {
    client::writeOverlayPng(r.slice, r.proposals, png);
    std::cout << "wrote " << png << "\n";
  }
  return kExitOk;
}

}  // namespace iodeep::cli

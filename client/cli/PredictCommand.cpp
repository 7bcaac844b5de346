#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/client/Predict.hpp"
#include "iodeep/client/Review.hpp"
#include "iodeep/iod/AtomicFile.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

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
  po::options_description desc(
      "usage: iodeep predict --model model.dcm --image slice.dcm [--frame N] [--json out.json] [--png overlay.png]\n\n"
      "Runs the paper's Algorithm 2 locally: checks the slice against the network's input (check_tensor_shape),\n"
      "pre-processes it as the architecture says, runs the network, and turns its output into ROI proposals\n"
      "traced along pixel edges in the slice's own grid.\n\nOptions");
  desc.add_options()("help,h", "show this help")("model,m", po::value(&model), "IODeep model (.dcm)")(
      "image,i", po::value(&image), "DICOM image")("frame", po::value(&o.frame)->default_value(0),
                                                   "frame of a multi-frame image (0-based)")(
      "json", po::value(&json), "write the proposals (pixel and patient coordinates) as JSON")(
      "png", po::value(&png), "draw the proposals on the windowed slice")(
      "allow-torchscript", "run a TorchScript network (code as well as data: only for models you trust)")(
      "rtstruct", po::value(&rtstructPath), "write the approved proposals as an RT Structure Set (APPROVED)")(
      "approve", po::value(&approve), "which proposals are approved: all, none, or numbers as printed (1,3)")(
      "reviewer", po::value(&reviewer), "the approving physician, DICOM PN (e.g. Doe^Jane)")(
      "rejected-rtstruct", po::value(&rejectedPath), "write the other proposals as an RT Structure Set (REJECTED)");
  const auto parsed = parseOptions(args, desc);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  if (model.empty() || image.empty()) {
    std::cerr << "iodeep predict: --model and --image are required (see 'iodeep predict --help')\n";
    return kExitUsage;
  }
  if ((!rtstructPath.empty() || !rejectedPath.empty()) && (approve.empty() || reviewer.empty())) {
    std::cerr << "iodeep predict: --rtstruct/--rejected-rtstruct need --approve and --reviewer\n";
    return kExitUsage;
  }
  o.model = model;
  o.image = image;
  o.allowTorchScript = vm.count("allow-torchscript") != 0;
  o.warmUpNetwork = false;  // one slice, one pass, then the process ends: a warm-up would double it
  const auto r = client::predict(o);
  std::cout << r.toText();
  if (!json.empty()) {
    iod::writeFileAtomically(json, r.toJson());
    std::cout << "wrote " << json << "\n";
  }
  if (!rtstructPath.empty() || !rejectedPath.empty()) {
    const client::ReviewDecision decision{client::parseSelection(approve, r.proposals.size()), reviewer};
    const auto files = client::writeReview(r, decision, rtstructPath, rejectedPath);
    if (files.approved) {
      std::cout << "wrote " << rtstructPath << ": " << decision.approved.size() << " approved ROI(s), "
                << files.approved->contours << " contour(s), reviewer " << reviewer << "\n";
    }
    if (files.rejected) std::cout << "wrote " << rejectedPath << ": rejected ROI(s)\n";
  }
  if (!png.empty()) {
    client::writeOverlayPng(r.slice, r.proposals, png);
    std::cout << "wrote " << png << "\n";
  }
  return kExitOk;
}

}  // namespace iodeep::cli

#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/workflow/Pack.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int packCommand(const std::vector<std::string>& args) {
  client::PackOptions o;
  std::string architecture;
  std::string weights;
  std::string legacy;
  std::string preprocessing;
  std::string output;
  unsigned samples = 0;
  std::string photometric;
  SigningFlags signing;
  po::options_description desc(
      "usage: iodeep pack --architecture arch.json --weights W --name NAME --modality MR --body-part HEAD -o "
      "model.dcm\n"
      "       iodeep pack --from-legacy old.dcm -o model.dcm [overrides]\n\n"
      "W: safetensors; a PyTorch state dict saved as a plain dict (torch.save(dict(model.state_dict()), f));\n"
      "or a TorchScript archive (its parameters and buffers are taken).\n\nOptions");
  desc.add_options()                                                                                    //
      ("help,h", "show this help")                                                                      //
      ("architecture,a", po::value(&architecture), "architecture JSON file")                            //
      ("weights,w", po::value(&weights), "weights file (safetensors, torch.save dict, TorchScript)")    //
      ("from-legacy", po::value(&legacy), "convert an object written by the published reference code")  //
      ("name,n", po::value(&o.name), "network name (DnnName, at most 64 characters)")                   //
      ("modality,m", po::value(&o.modality), "Modality the network was trained on, e.g. MR, CT")        //
      ("body-part,b", po::value(&o.bodyPart), "BodyPartExamined it was trained on, e.g. HEAD")          //
      ("samples-per-pixel", po::value(&samples),
       "1 or 3 (default: 1 when the network takes grey slices, else its 3 channels); refused when it can never "
       "feed the network")  //
      ("preprocessing", po::value(&preprocessing),
       "file with a JSON object to store as the architecture's \"preprocessing\" section, e.g. "
       "{\"channels\": \"replicate\"} for a DNN-parser import")                                         //
      ("photometric", po::value(&photometric), "MONOCHROME2 (default for 1 sample), RGB (for 3), ...")  //
      ("patient-orientation", po::value(&o.patientOrientation),
       "PatientOrientation of the training images, e.g. 'L\\P'")                                              //
      ("version", po::value(&o.version), "DnnVersion")                                                        //
      ("description", po::value(&o.description), "free-text description")                                     //
      ("weights-uri", po::value(&o.weightsUri), "optional URI of the weights (DnnWeights, as in the paper)")  //
      ("study-uid", po::value(&o.studyUid), "put the object in this study (default: a new study UID)")        //
      ("output,o", po::value(&output), "output .dcm (written atomically)");
  signing.add(desc);
  const auto parsed = parseOptions(args, desc);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  o.architecture = architecture;
  o.weights = weights;
  o.fromLegacy = legacy;
  o.preprocessing = preprocessing;
  o.output = output;
  if (vm.count("samples-per-pixel") != 0) {
    if (samples != 1 && samples != 3) {
      std::cerr << "iodeep pack: --samples-per-pixel must be 1 or 3\n";
      return kExitUsage;
    }
    o.samplesPerPixel = static_cast<std::uint16_t>(samples);
  }
  if (vm.count("photometric") != 0) o.photometric = photometric;
  o.signing = signing.resolve();

  const client::PackResult r = client::pack(o);
  std::cout << "wrote " << output << "\n"
            << "  DnnName " << r.model.name << (r.model.version.empty() ? "" : " " + r.model.version) << "\n"
            << "  DnnUID  " << r.model.dnnUid << "\n"
            << "  trained for " << r.model.target.modality << " " << r.model.target.bodyPartExamined << ", "
            << r.model.target.samplesPerPixel << " sample(s)"
            << (r.samplesPerPixelDefaulted ? " (from the network's input)" : "") << ", "
            << r.model.target.photometricInterpretation << "\n"
            << "  channels " << (r.channelAdaptation.empty() ? "as is" : r.channelAdaptation) << "\n"
            << "  weights " << r.weightsSource << ": " << r.tensorCount << " tensors, " << r.parameterCount
            << " values, " << r.model.weights.size() << " bytes, SHA-256 " << r.model.weightsSha256 << "\n";
  if (r.signature) {
    std::cout << "  signed by " << r.signature->signer.subject << " at " << r.signature->signingDateTime << " ("
              << r.signature->signatureAlgorithm << ", MAC " << r.signature->macAlgorithm << ", every attribute)\n";
  }
  return kExitOk;
}

}  // namespace iodeep::cli

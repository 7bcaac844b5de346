#include "iodeep/reports/ArchitectureReport.hpp"

#include <optional>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"

namespace iodeep::client {

namespace {

netparser::Architecture load(const std::filesystem::path& path) {
  const std::string text = iod::readTextFile(path);
  try {
    return netparser::parseArchitecture(text);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

}  // namespace

ArchitectureReport checkArchitecture(const std::filesystem::path& path, const std::string& input) {
  const auto arch = load(path);
  ArchitectureReport r;
  r.path = path;
  r.format = arch.format == netparser::Architecture::Format::DnnParser ? "DNN-parser" : "iodeep";
  r.torchScript = arch.kind == netparser::Architecture::Kind::TorchScript;
  std::optional<netparser::InputSpec> spec;
  if (!input.empty()) spec = netparser::parseInputSpec(input);
  const auto in = spec.value_or(arch.input);
  r.channels = in.channels;
  r.height = in.height;
  r.width = in.width;
  if (!r.torchScript) {
    try {
      r.shapeTable = netparser::formatShapeTable(netparser::inferShapes(arch, spec));
    } catch (Error& e) {
      e.inFile(path.string());
      throw;
    }
    r.layers = arch.layers.size();
  }
  return r;
}

std::string ArchitectureReport::toText() const {
  std::ostringstream o;
  o << path.string() << ": " << format << " format, ";
  if (torchScript) {
    o << "TorchScript network (graph in the weights archive), input " << channels << "x" << height << "x" << width
      << "\n";
    return o.str();
  }
  o << layers << " layers, input " << channels << "x" << height << "x" << width << "\n" << shapeTable;
  return o.str();
}

InitResult initWeights(const std::filesystem::path& architecture, std::uint64_t seed,
                       const std::filesystem::path& output) {
  const auto arch = load(architecture);
  if (arch.kind != netparser::Architecture::Kind::Graph) {
    throw Error(ErrorCode::InvalidArgument, "a TorchScript network brings its own weights",
                ErrorContext{.file = architecture.string()});
  }
  const auto weights = netparser::initWeights(arch, seed);
  iod::writeFileAtomically(output, weights.bytes());
  return {netparser::expectedTensors(arch).size(), netparser::inferShapes(arch).totalParameters};
}

}  // namespace iodeep::client

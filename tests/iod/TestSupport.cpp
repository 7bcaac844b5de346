#include "TestSupport.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "iodeep/iod/Safetensors.hpp"

namespace iodeep::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("iodeep-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(IODEEP_FIXTURES_DIR) / name;
}

std::vector<std::byte> readBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) b[i] = static_cast<std::byte>(c[i]);
  return b;
}

void writeBytes(const std::filesystem::path& p, const std::vector<std::byte>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::filesystem::path> listFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  return files;
}

iod::ByteBuffer smallWeights(std::uint32_t seed, std::size_t extraFloats) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0F, 0.1F);
  std::vector<float> w(8 * 1 * 3 * 3 + extraFloats);
  std::vector<float> b(8);
  for (auto& v : w) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  std::vector<std::int64_t> steps{42};
  iod::SafetensorsWriter writer;
  writer.add("conv1.weight", iod::DType::F32, {static_cast<std::int64_t>(w.size()) / 9, 1, 3, 3},
             std::as_bytes(std::span<const float>(w.data(), w.size() - w.size() % 9)));
  writer.add("conv1.bias", iod::DType::F32, {8}, std::as_bytes(std::span<const float>(b)));
  writer.add("bn.num_batches_tracked", iod::DType::I64, {}, std::as_bytes(std::span<const std::int64_t>(steps)));
  return writer.finish();
}

iod::PackInput samplePackInput(std::uint32_t seed) {
  iod::PackInput in;
  in.architectureJson = R"({"format": "iodeep-test", "layers": [{"id": "conv1", "type": "conv2d"}]})";
  in.weights = smallWeights(seed);
  in.name = "Brain T1";
  in.version = "1.0";
  in.description = "test network";
  in.target.modality = "MR";
  in.target.bodyPartExamined = "HEAD";
  return in;
}

std::vector<std::string> dciodvfyErrors(const std::filesystem::path& file, std::string* fullOutput) {
  const std::string cmd = std::string(IODEEP_DCIODVFY) + " '" + file.string() + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
  if (fullOutput != nullptr) *fullOutput = out;
  std::vector<std::string> errors;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Error") != std::string::npos) errors.push_back(line);
  }
  return errors;
}

}  // namespace iodeep::test

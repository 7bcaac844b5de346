#include "TestSupport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Uid.hpp"

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

iod::SliceAttributes sampleMrSlice(std::uint16_t rows, std::uint16_t columns) {
  iod::SliceAttributes a;
  a.sopClassUid = "1.2.840.10008.5.1.4.1.1.4";
  a.sopInstanceUid = iod::makeRandomUid();
  a.studyInstanceUid = iod::makeRandomUid();
  a.seriesInstanceUid = iod::makeRandomUid();
  a.frameOfReferenceUid = iod::makeRandomUid();
  a.patientName = "Doe^John";
  a.patientId = "P-1";
  a.patientBirthDate = "19700101";
  a.patientSex = "M";
  a.studyDate = "20260101";
  a.studyTime = "120000";
  a.studyId = "1";
  a.modality = "MR";
  a.rows = rows;
  a.columns = columns;
  a.pixelSpacing = std::array<double, 2>{1.0, 1.0};
  a.imagePositionPatient = std::array<double, 3>{0, 0, 0};
  a.imageOrientationPatient = std::array<double, 6>{1, 0, 0, 0, 1, 0};
  return a;
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
  // dciodvfy (Debian dicom3tools 1.00~20220618) writes everything to stderr: the IOD it recognised on a
  // line of its own ("RawData", "MRImage", "RTStructureSet"), then "Warning - ..." / "Error - ..." lines
  // (some prefixed with the tag). It exits 0 when it found no error and 1 when it did or could not read
  // the file ("Abort - ..."). A missing tool, an abort, no IOD line or an exit status that disagrees
  // with the error lines is reported as an error line, so a test cannot pass without a real validation.
  std::vector<std::string> errors;
  const std::filesystem::path tool(IODEEP_DCIODVFY);
  if (access(tool.c_str(), X_OK) != 0) {
    errors.push_back("dciodvfy helper: tool not executable: " + tool.string());
    return errors;
  }
  const std::string cmd = tool.string() + " '" + file.string() + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    errors.push_back("dciodvfy helper: cannot run " + cmd);
    return errors;
  }
  std::string out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  const int status = pclose(pipe);
  if (fullOutput != nullptr) *fullOutput = out;
  bool iodLine = false;
  bool aborted = false;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("Error") || line.find(" - Error - ") != std::string::npos) errors.push_back(line);
    if (line.starts_with("Abort")) aborted = true;
    if (!line.empty() && std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isalnum(c) != 0; }) &&
        std::isupper(static_cast<unsigned char>(line.front())) != 0) {
      iodLine = true;
    }
  }
  const bool exited = status != -1 && WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : -1;
  if (!exited || (code != 0 && code != 1)) {
    errors.push_back("dciodvfy helper: abnormal exit (status " + std::to_string(status) + ") for " + file.string());
  } else if ((code == 0) != errors.empty()) {
    errors.push_back("dciodvfy helper: exit status " + std::to_string(code) + " disagrees with " +
                     std::to_string(errors.size()) + " error lines");
  }
  if (aborted) errors.push_back("dciodvfy helper: dciodvfy aborted on " + file.string());
  if (!iodLine)
    errors.push_back("dciodvfy helper: no IOD name line (not dciodvfy's normal output) for " + file.string());
  return errors;
}

std::uint16_t freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool acceptingOnLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

ServerProcess::ServerProcess(std::vector<std::string> argv, std::uint16_t port) {
  pid_ = ::fork();
  if (pid_ == 0) {
    (void)::setpgid(0, 0);
    if (std::freopen("/dev/null", "w", stdout) == nullptr || std::freopen("/dev/null", "w", stderr) == nullptr ||
        std::freopen("/dev/null", "r", stdin) == nullptr) {
      ::_exit(126);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  for (int i = 0; i < 100 && !acceptingOnLoopback(port); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!acceptingOnLoopback(port)) {
    stop();
    throw std::runtime_error(argv[0] + " does not listen on port " + std::to_string(port));
  }
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    (void)::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

}  // namespace iodeep::test

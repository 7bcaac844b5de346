// `iodeep serve`: the inference service (docs/service.md); `iodeep serve token`: a bearer token.
#include <fstream>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/service/Service.hpp"

namespace iodeep::cli {

namespace po = boost::program_options;

namespace {

int token(const std::vector<std::string>& args) {
  std::string name;
  std::string append;
  po::options_description d(
      "usage: iodeep serve token --name IDENTITY [--append TOKENS_FILE]\n\n"
      "Makes a bearer token for the inference service: the token is printed (once: only its SHA-256 is\n"
      "kept), its line for the tokens file is appended to TOKENS_FILE (created 0600) or printed to stderr.\n\n"
      "Options");
  d.add_options()("help,h", "show this help")("name", po::value(&name)->required(),
                                              "who uses it (goes into the audit log with each run)")(
      "append", po::value(&append), "the tokens file to append the line to");
  if (!parseOptions(args, d)) return kExitOk;
  const auto t = service::makeToken(name);
  if (append.empty()) {
    std::cerr << t.line << "\n";
  } else {
    const std::filesystem::path file(append);
    if (file.has_parent_path()) iod::createMissingDirectories(file.parent_path());
    std::ofstream out(file, std::ios::app);
    std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    out << t.line << "\n";
    if (!out.flush())
      throw Error(ErrorCode::OutputError, "cannot append to the tokens file", ErrorContext{.file = append});
  }
  std::cout << t.token << "\n";
  return kExitOk;
}

}  // namespace

int serveCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "token") return token({args.begin() + 1, args.end()});
  std::string config, listen, pacs, workDir, tokens, tlsCertificate, tlsKey, tlsClientCa;
  unsigned ioThreads = 0, inferenceThreads = 0, queueLimit = 0, deadlineMs = 0;
  bool anonymous = false;
  po::options_description d(
      "usage: iodeep serve --config FILE [--listen HOST:PORT] [--pacs AET@host:port] [--work-dir DIR]\n"
      "                    [--tokens FILE | --allow-anonymous] [--tls-certificate PEM --tls-key PEM]\n"
      "       iodeep serve token --name IDENTITY [--append TOKENS_FILE]\n\n"
      "The inference service (docs/service.md): network selection and prediction over HTTP(S) for\n"
      "workstations without libtorch, PACS platforms and web viewers. Serves until SIGTERM or SIGINT, then\n"
      "finishes the requests in flight (new ones get 503) and exits 0. The flags override the\n"
      "configuration's \"service\" object.\n\n"
      "Options");
  d.add_options()("help,h", "show this help")("config", po::value(&config),
                                              "client configuration with a \"service\" object")(
      "listen", po::value(&listen), "address and port to listen on (default 127.0.0.1:8080; port 0: any free one)")(
      "pacs", po::value(&pacs), "the PACS: AET@host:port")("work-dir", po::value(&workDir),
                                                           "working directory (slices, request files)")(
      "tokens", po::value(&tokens), "bearer tokens file (iodeep serve token)")(
      "allow-anonymous", po::bool_switch(&anonymous), "no authentication (loopback addresses only)")(
      "tls-certificate", po::value(&tlsCertificate), "HTTPS: the server's certificate chain (PEM)")(
      "tls-key", po::value(&tlsKey), "HTTPS: its key (PEM)")("tls-client-ca", po::value(&tlsClientCa),
                                                             "HTTPS: CA whose client certificates identify callers")(
      "io-threads", po::value(&ioThreads), "I/O threads (default 2)")("inference-threads", po::value(&inferenceThreads),
                                                                      "inference threads (default 1)")(
      "queue-limit", po::value(&queueLimit), "jobs waiting for inference before 503 (default 16)")(
      "deadline-ms", po::value(&deadlineMs), "deadline of a request (default 30000)");
  if (!parseOptions(args, d)) return kExitOk;
  // the flags go through the configuration's own checks
  auto c = service::loadServiceConfig(config);
  auto& s = c.service;
  if (!pacs.empty()) c.client.network.pacs = client::Peer::parse(pacs);
  if (!workDir.empty()) s.workDir = workDir;
  if (!tokens.empty()) s.tokensFile = tokens;
  if (anonymous) s.allowAnonymous = true;
  if (!tlsCertificate.empty()) s.tlsCertificate = tlsCertificate;
  if (!tlsKey.empty()) s.tlsKey = tlsKey;
  if (!tlsClientCa.empty()) s.tlsClientCa = tlsClientCa;
  if (ioThreads != 0) s.ioThreads = ioThreads;
  if (inferenceThreads != 0) s.inferenceThreads = inferenceThreads;
  if (queueLimit != 0) s.queueLimit = queueLimit;
  if (deadlineMs != 0) s.deadline = std::chrono::milliseconds(deadlineMs);
  if (!listen.empty()) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || listen.substr(colon + 1).empty() ||
        listen.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos ||
        listen.substr(colon + 1).size() > 5 || std::stoul(listen.substr(colon + 1)) > 65535) {
      throw Error(ErrorCode::InvalidArgument, "--listen must be HOST:PORT, not '" + listen + "'");
    }
    s.listenHost = listen.substr(0, colon);
    if (s.listenHost.size() > 2 && s.listenHost.front() == '[')
      s.listenHost = s.listenHost.substr(1, s.listenHost.size() - 2);
    s.listenPort = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
  }
  if (s.workDir.empty() && !c.client.cacheDir.empty()) s.workDir = c.client.cacheDir.parent_path() / "service";
  c.client.network.validate();
  service::Service server(std::move(c));
  server.run(true);
  return kExitOk;
}

}  // namespace iodeep::cli

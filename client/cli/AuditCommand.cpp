// iodeep audit: the local audit trail (docs/security.md).
#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/ClientConfig.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int auditCommand(const std::vector<std::string>& args) {
  std::string configPath;
  std::string log;
  std::string event;
  std::size_t last = 0;
  po::options_description desc(
      "usage: iodeep audit [--log FILE] [--event network_run|rtstruct_stored|rtstruct_queued] [--last N] [--json]\n\n"
      "Prints the audit trail: every network run and every store of a reviewed RT Structure Set, oldest first\n"
      "(the configuration's 'audit_log', docs/security.md).\n\nOptions");
  desc.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "client configuration file (its 'audit_log')")(
      "log", po::value(&log), "the audit log to read (default: the configuration's)")("event", po::value(&event),
                                                                                      "only events of this kind")(
      "last", po::value(&last), "only the last N events (after --event)")("json",
                                                                          "print the events as JSON lines, as stored");
  const auto parsed = parseOptions(args, desc);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  if (!event.empty() && event != "network_run" && event != "rtstruct_stored" && event != "rtstruct_queued") {
    throw Error(ErrorCode::InvalidArgument, "--event must be network_run, rtstruct_stored or rtstruct_queued");
  }
  const std::filesystem::path file =
      log.empty() ? client::loadClientConfig(configPath).auditLog : std::filesystem::path(log);
  auto events = client::readAudit(file);
  if (!event.empty()) std::erase_if(events, [&event](const client::AuditEvent& e) { return e.event != event; });
  if (last != 0 && events.size() > last) events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(last));
  const bool json = vm.count("json") != 0;
  std::cout << client::auditReport(events, json);
  if (!json) std::cout << events.size() << " event(s) in " << file.string() << "\n";
  return kExitOk;
}

}  // namespace iodeep::cli

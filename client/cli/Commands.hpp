#pragma once
// The subcommands of the iodeep program. Each returns the process exit code (docs/cli.md).

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/Error.hpp"

namespace iodeep::cli {

int packCommand(const std::vector<std::string>& args);
int inspectCommand(const std::vector<std::string>& args);
int archCommand(const std::vector<std::string>& args);
int predictCommand(const std::vector<std::string>& args);
int rtstructCommand(const std::vector<std::string>& args);
int auditCommand(const std::vector<std::string>& args);
/// `rtstruct list`: structure sets on the PACS for a series.
int rtstructListCommand(const std::vector<std::string>& args);
/// The PACS commands (echo, upload, models, studies, series, instances, select, roi, outbox);
/// -1 when @p command is none of them.
int pacsCommand(const std::string& command, const std::vector<std::string>& args);

/// Parses @p args against @p desc (and @p positional); prints the help and returns nothing when
/// --help was given. Throws boost::program_options::error (exit code 2 in main).
std::optional<boost::program_options::variables_map> parseOptions(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description* positional = nullptr);

// Exit codes: iodeep::kExit* in iodeep/iod/Error.hpp (docs/cli.md).

}  // namespace iodeep::cli

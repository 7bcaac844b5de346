#pragma once
// The subcommands of the iodeep program. Each returns the process exit code (docs/cli.md).

#include <string>
#include <vector>

namespace iodeep::cli {

int packCommand(const std::vector<std::string>& args);
int inspectCommand(const std::vector<std::string>& args);
int archCommand(const std::vector<std::string>& args);
int predictCommand(const std::vector<std::string>& args);

/// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalidContent = 4;

}  // namespace iodeep::cli

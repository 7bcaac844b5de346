#pragma once
// The subcommands of the iodeep program. Each returns the process exit code (docs/cli.md).

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Signature.hpp"

namespace iodeep::cli {

int packCommand(const std::vector<std::string>& args);
/// `sign`: adds a signature to any DICOM file.
int signCommand(const std::vector<std::string>& args);
int inspectCommand(const std::vector<std::string>& args);
int archCommand(const std::vector<std::string>& args);
int predictCommand(const std::vector<std::string>& args);
int rtstructCommand(const std::vector<std::string>& args);
/// `seg show`: a DICOM Segmentation's segments, frames, approval and network.
int segCommand(const std::vector<std::string>& args);
/// `finetune`: a network fine-tuned on a dataset, written as its next version.
int finetuneCommand(const std::vector<std::string>& args);
int auditCommand(const std::vector<std::string>& args);
/// `serve`: the inference service; `serve token`: a bearer token for it.
int serveCommand(const std::vector<std::string>& args);
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

/// The signing flags of the commands that write what a signer vouches for (pack, predict, roi):
/// --sign-key, --sign-certificate, --sign-passphrase-file.
struct SigningFlags {
  std::string key, certificate, passphraseFile;

  void add(boost::program_options::options_description& desc);
  /// The credentials, or nothing when no flag was given. Throws Error(InvalidArgument) when only
  /// some are given, Error(FileNotFound) for a passphrase file that cannot be read.
  [[nodiscard]] std::optional<iod::SigningCredentials> resolve() const;
};

/// The trust anchors of --trusted (repeatable), or nothing when none was given.
[[nodiscard]] std::optional<iod::TrustAnchors> trustAnchors(const std::vector<std::string>& trusted);

// Exit codes: iodeep::kExit* in iodeep/iod/Error.hpp (docs/cli.md).

}  // namespace iodeep::cli

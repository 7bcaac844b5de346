#pragma once
/// @file ClientConfig.hpp
/// The client configuration: one JSON file (docs/pacs-workflow.md, "Configuration") read by the
/// CLI and the viewer; command-line flags override it.

#include <cstdint>
#include <filesystem>
#include <string>

#include "iodeep/network/Pacs.hpp"
#include "iodeep/trust/Trust.hpp"

namespace iodeep::client {

/// "inference_service": AI ROI on an inference service (docs/service.md) instead of this
/// workstation's libtorch: the slices go to it by reference, the review and the store stay here.
struct InferenceServiceSettings {
  std::string url;                  ///< "http(s)://host:port"; empty: predict here
  std::filesystem::path tokenFile;  ///< the file holding our bearer token (one line)
  std::filesystem::path caFile;     ///< the CA certificate that verifies an https service
};

/// "signing": the reviewer's key and certificate; the viewer signs the structure sets it stores
/// with them (the CLI takes --sign-key and --sign-certificate instead). Empty key: not signed.
struct SigningSettings {
  std::filesystem::path key, certificate;
  std::filesystem::path passphraseFile;  ///< optional: the key's passphrase on its first line
};

/// "dicomweb": authentication with a DICOMweb PACS (docs/pacs-workflow.md, "DICOMweb"). The
/// secrets are read from these files into NetworkOptions::web; $IODEEP_DICOMWEB_PASSWORD and
/// $IODEEP_DICOMWEB_TOKEN, when set, win over them.
struct DicomWebSettings {
  std::string user;                    ///< HTTP Basic
  std::filesystem::path passwordFile;  ///< its password on the first line
  std::filesystem::path tokenFile;     ///< a bearer token on the first line (wins over Basic)
};

struct ClientConfig {
  NetworkOptions network;
  DicomWebSettings dicomweb;  ///< "dicomweb" (the secrets themselves are in network.web)
  /// "result_format": what reviews are stored as by default: "rtstruct", "seg" or "both" (the
  /// viewer's store, `roi` without --format; docs/seg.md)
  std::string resultFormat{"rtstruct"};
  /// Run TorchScript networks from the PACS (code as well as data). Off by default.
  bool allowTorchScript{false};
  std::filesystem::path cacheDir;                 ///< the model cache
  std::uint64_t cacheMaxBytes{4ULL << 30U};       ///< least recently used models go beyond this
  std::filesystem::path outboxDir;                ///< structure sets waiting to be stored
  std::uint64_t engineMaxBytes{2ULL << 30U};      ///< networks kept built in memory (long-running viewer)
  std::filesystem::path imageCacheDir;            ///< slices the viewer retrieved (patient data)
  std::uint64_t imageCacheMaxBytes{2ULL << 30U};  ///< least recently opened series go beyond this
  std::string reviewer;                           ///< default ReviewerName (PN)
  TrustPolicy trust;                              ///< require_signed_networks, trusted_signers
  std::filesystem::path auditLog;                 ///< the audit trail (JSON lines, appended only)
  InferenceServiceSettings inferenceService;      ///< "inference_service"
  SigningSettings signing;                        ///< "signing"
  /// The "service" object, kept as text for `iodeep serve` (which checks it); clients ignore it.
  std::string serviceSection;
  /// The discovery cache (stores/DiscoveryCache.hpp); empty: "discovery" beside the model cache's
  /// directory (the workstation resolves it: discoveryCacheDirectory).
  std::filesystem::path discoveryCacheDir;
  /// How long (seconds) a cached listing of the networks is used without asking the PACS; 0: it is
  /// refreshed on every use (new networks seen at once).
  std::uint32_t discoveryMaxAgeSeconds{0};
  /// How old (seconds) a listing may grow by refreshes before it is made again from scratch.
  std::uint32_t discoveryRebuildAgeSeconds{86400};
  std::filesystem::path source;  ///< the file read, or empty when none was
};

/// The configuration: @p path when given (it must exist), else $IODEEP_CONFIG, else
/// $XDG_CONFIG_HOME/iodeep/client.json (~/.config/...), else the defaults. Directories the file
/// does not name default to $XDG_CACHE_HOME/iodeep/models and .../images, $XDG_DATA_HOME/iodeep/
/// outbox and .../audit.log (~/.cache, ~/.local/share); when such a default is needed and neither
/// the XDG variable nor $HOME is set: Error(InvalidArgument) naming the key (never a shared
/// directory instead). Unknown keys, wrong types and invalid values are refused:
/// Error(InvalidArgument, InvalidJson, FileNotFound) naming the file and key. The passphrase of
/// an encrypted TLS key comes from $IODEEP_TLS_KEY_PASSPHRASE.
[[nodiscard]] ClientConfig loadClientConfig(const std::filesystem::path& path = {});

/// Parses configuration JSON text; @p source names it in errors. Default directories as
/// loadClientConfig.
[[nodiscard]] ClientConfig parseClientConfig(const std::string& json, const std::string& source);

/// The configuration as JSON text in the documented format (every key; parseClientConfig reads
/// it back to the same values; "tls" when TLS is on or configured, never the key's passphrase). @p comment, when not
/// empty, is kept under "comment".
[[nodiscard]] std::string toJson(const ClientConfig& config, const std::string& comment = {});

/// Writes toJson(@p config) to @p path atomically (the viewer's settings dialog). Throws
/// Error(OutputError).
void saveClientConfig(const ClientConfig& config, const std::filesystem::path& path, const std::string& comment = {});

/// Where the discovery cache lives for @p config: discoveryCacheDir, else "discovery" beside
/// cacheDir (~/.cache/iodeep/discovery beside ~/.cache/iodeep/models); empty when neither is set.
[[nodiscard]] std::filesystem::path discoveryCacheDirectory(const ClientConfig& config);

/// Where the viewer saves settings: @p config.source when it came from a file, else
/// $IODEEP_CONFIG, else $XDG_CONFIG_HOME/iodeep/client.json (~/.config/...). Throws
/// Error(InvalidArgument) when none of these is set.
[[nodiscard]] std::filesystem::path configSavePath(const ClientConfig& config);

}  // namespace iodeep::client

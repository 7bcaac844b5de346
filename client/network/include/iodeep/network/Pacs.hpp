#pragma once
/// @file Pacs.hpp
/// DICOM networking with one PACS: C-ECHO, C-FIND (study, series, image), C-MOVE to our own
/// storage SCP or C-GET, and C-STORE. Plain types only; DCMTK stays in client/network/src.
/// Every call opens its own association (released, or aborted on error, when the call returns),
/// checks the DCMTK condition and the DIMSE status separately, and throws iodeep::Error with the
/// peer as context: PacsUnreachable, AssociationRejected, DimseFailure, NetworkError, and
/// TlsFailure when DICOM TLS is on (docs/security.md, "DICOM TLS").

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iodeep::client {

/// A DICOM application entity on the network, or a DICOMweb server (docs/pacs-workflow.md,
/// "DICOMweb").
struct Peer {
  std::string aeTitle;
  std::string host;
  std::uint16_t port{0};
  /// The DICOMweb base URL ("https://host:port/dicom-web", no trailing '/'); empty for a DIMSE peer.
  std::string url;

  /// Parses "AET@host:port", or an http:// or https:// URL (a DICOMweb server: QIDO-RS, WADO-RS
  /// and STOW-RS below it). Throws Error(InvalidArgument), also for a URL that carries
  /// credentials, a query or a fragment.
  [[nodiscard]] static Peer parse(std::string_view text);
  /// "AET@host:port", or the URL.
  [[nodiscard]] std::string toString() const;
  /// True for a DICOMweb server.
  [[nodiscard]] bool isWeb() const noexcept { return !url.empty(); }
};

enum class RetrieveMode {
  Move,  ///< C-MOVE to our storage SCP (the PACS must know our AE title, host and port)
  Get,   ///< C-GET on the same association (no listening port)
};

/// DICOM TLS (docs/security.md, "DICOM TLS"). When enabled, every association the client opens
/// and the PACS's C-MOVE association to our storage SCP run over TLS 1.2 or newer with DCMTK's
/// Non-downgrading BCP 195 profile; both sides present a certificate.
struct TlsOptions {
  bool enabled{false};
  std::filesystem::path certificate;  ///< our certificate, PEM (intermediate certificates may follow it)
  std::filesystem::path privateKey;   ///< its private key, PEM
  /// The passphrase of an encrypted private key (the configuration file never holds it: the
  /// environment variable IODEEP_TLS_KEY_PASSPHRASE does). Empty: the key is not encrypted.
  std::string privateKeyPassphrase;
  /// PEM files, or directories of them (*.pem, *.crt, *.cer), of the certificates that may
  /// issue (or be) the peer's certificate.
  std::vector<std::filesystem::path> trustedCertificates;
  /// Verify the peer's certificate against trustedCertificates and, as a client, that it names
  /// the PACS's host. Turning it off leaves the connection open to impersonation (warnings()).
  bool verifyPeer{true};
};

/// The DICOMweb transport's own settings (docs/pacs-workflow.md, "DICOMweb"). Secrets come from
/// files or the environment, never from the command line.
struct WebOptions {
  std::string user;      ///< HTTP Basic authentication; empty: none
  std::string password;  ///< its password (read from "password_file" or $IODEEP_DICOMWEB_PASSWORD)
  /// A bearer token (read from "token_file" or $IODEEP_DICOMWEB_TOKEN); wins over Basic.
  std::string bearerToken;
  /// Most bytes one WADO-RS response may bring (the whole multipart body); more: the transfer is
  /// stopped, Error(NetworkError), nothing of it is kept.
  std::uint64_t maxRetrieveBytes{std::uint64_t{4} << 30U};
};

/// How to talk to the PACS (flags or the client configuration file, docs/pacs-workflow.md).
struct NetworkOptions {
  Peer pacs;
  std::string callingAeTitle{"IODEEP"};
  RetrieveMode retrieve{RetrieveMode::Move};
  std::uint16_t movePort{11113};  ///< our storage SCP's port during a C-MOVE
  std::string moveAeTitle;        ///< the move destination; empty: callingAeTitle
  std::uint32_t connectTimeoutSeconds{5};
  std::uint32_t dimseTimeoutSeconds{60};  ///< longest wait for one DIMSE message
  /// Longest a whole C-FIND may take, however often the peer answers (a peer that dribbles its
  /// responses cannot hold us longer). Exceeded: Error(NetworkError) and the association aborted.
  std::uint32_t findDeadlineSeconds{120};
  /// Most responses taken from one C-FIND: then a C-CANCEL is sent, the rest is ignored and the
  /// result is marked truncated (FindResult, and a warning line).
  std::uint32_t maxFindResults{10000};
  /// When set, our C-MOVE storage SCP accepts associations only from this host (name or address)
  /// besides the PACS's AE title; empty: the AE title alone.
  std::string moveFromHost;
  std::uint32_t maxPdu{131072};
  /// DICOM TLS; for an https:// DICOMweb server, the trust settings (trusted certificates, peer
  /// verification, our client certificate when given) of its TLS connections.
  TlsOptions tls;
  WebOptions web;

  /// Throws Error(InvalidArgument) when something required is missing or out of range, and
  /// Error(FileNotFound) (the file as context) when TLS is on and a certificate, key or trusted
  /// certificate file or directory cannot be read.
  void validate() const;
  /// What a user should be told about these options although they are valid (TLS without peer
  /// verification); one line each.
  [[nodiscard]] std::vector<std::string> warnings() const;
};

/// A DICOM tag as (group << 16) | element.
using Tag = std::uint32_t;
[[nodiscard]] constexpr Tag makeTag(std::uint16_t group, std::uint16_t element) {
  return (static_cast<Tag>(group) << 16U) | element;
}

/// Tags used in queries (the C-FIND keys and return keys this client uses).
namespace tags {
inline constexpr Tag kSpecificCharacterSet = makeTag(0x0008, 0x0005);
inline constexpr Tag kStudyDate = makeTag(0x0008, 0x0020);
inline constexpr Tag kStudyTime = makeTag(0x0008, 0x0030);
inline constexpr Tag kContentDate = makeTag(0x0008, 0x0023);
inline constexpr Tag kContentTime = makeTag(0x0008, 0x0033);
inline constexpr Tag kInstanceCreationDate = makeTag(0x0008, 0x0012);
inline constexpr Tag kInstanceCreationTime = makeTag(0x0008, 0x0013);
inline constexpr Tag kAccessionNumber = makeTag(0x0008, 0x0050);
inline constexpr Tag kSopClassUid = makeTag(0x0008, 0x0016);
inline constexpr Tag kSopInstanceUid = makeTag(0x0008, 0x0018);
inline constexpr Tag kQueryRetrieveLevel = makeTag(0x0008, 0x0052);
inline constexpr Tag kModality = makeTag(0x0008, 0x0060);
inline constexpr Tag kModalitiesInStudy = makeTag(0x0008, 0x0061);
inline constexpr Tag kStudyDescription = makeTag(0x0008, 0x1030);
inline constexpr Tag kSeriesDescription = makeTag(0x0008, 0x103E);
inline constexpr Tag kPatientName = makeTag(0x0010, 0x0010);
inline constexpr Tag kPatientId = makeTag(0x0010, 0x0020);
inline constexpr Tag kPatientBirthDate = makeTag(0x0010, 0x0030);
inline constexpr Tag kPatientSex = makeTag(0x0010, 0x0040);
inline constexpr Tag kBodyPartExamined = makeTag(0x0018, 0x0015);
inline constexpr Tag kStudyInstanceUid = makeTag(0x0020, 0x000D);
inline constexpr Tag kSeriesInstanceUid = makeTag(0x0020, 0x000E);
inline constexpr Tag kStudyId = makeTag(0x0020, 0x0010);
inline constexpr Tag kSeriesNumber = makeTag(0x0020, 0x0011);
inline constexpr Tag kInstanceNumber = makeTag(0x0020, 0x0013);
inline constexpr Tag kNumberOfSeriesRelatedInstances = makeTag(0x0020, 0x1209);
inline constexpr Tag kNumberOfStudyRelatedSeries = makeTag(0x0020, 0x1206);
inline constexpr Tag kSamplesPerPixel = makeTag(0x0028, 0x0002);
inline constexpr Tag kPhotometricInterpretation = makeTag(0x0028, 0x0004);
inline constexpr Tag kRows = makeTag(0x0028, 0x0010);
inline constexpr Tag kColumns = makeTag(0x0028, 0x0011);
}  // namespace tags

/// One C-FIND match: the values of its return keys, as strings (trailing padding removed).
struct DicomRecord {
  std::vector<std::pair<Tag, std::string>> values;

  /// The value of @p tag, or empty when absent or empty.
  [[nodiscard]] std::string get(Tag tag) const;
  /// True when the peer returned @p tag (possibly empty).
  [[nodiscard]] bool has(Tag tag) const;
};

enum class QueryLevel { Study, Series, Image };

/// A C-FIND query: the level, the matching keys (value: what to match, DICOM wildcards allowed)
/// and the return keys (empty value).
struct Query {
  QueryLevel level{QueryLevel::Study};
  std::vector<std::pair<Tag, std::string>> keys;
};

/// Instances received by a retrieval.
struct RetrieveResult {
  std::vector<std::filesystem::path> files;  ///< complete files in the target directory
  std::uint64_t bytes{0};                    ///< their total size
  std::uint32_t completed{0}, failed{0}, warnings{0};
  /// Instances the peer sent that were not asked for (another SOP instance, series, study or
  /// class, or a second copy): deleted as they arrived or before anything used them, each one
  /// reported by a warning line (iod::warn).
  std::uint32_t discarded{0};
};

/// Outcome of one C-FIND.
struct FindResult {
  std::size_t matches{0};  ///< responses handed to the caller
  /// The peer had more than NetworkOptions::maxFindResults: the caller got the first ones only
  /// (a C-CANCEL was sent and a warning line reported).
  bool truncated{false};
};

/// Progress of a retrieval as the PACS reports it in its pending responses: sub-operations
/// completed (plus failed and warning ones) and remaining. Return false to cancel (a C-CANCEL is
/// sent; the instances already received are kept and Error(Cancelled) is thrown).
struct RetrieveProgress {
  std::uint32_t completed{0}, remaining{0}, failed{0};
};
using RetrieveProgressHandler = std::function<bool(const RetrieveProgress&)>;

/// Outcome of one C-STORE.
struct StoreOutcome {
  std::filesystem::path file;
  std::string sopInstanceUid;
  std::uint16_t status{0};  ///< the DIMSE status (0 = success; 0xB000-0xB0FF warnings)
  bool warning{false};
};

namespace detail {
class TlsContext;  // the DICOM TLS transport layers (client/network/src/DicomTls.hpp)
class HttpPeer;    // the DICOMweb server (client/network/src/Http.hpp)
}  // namespace detail

/// The PACS as the client sees it. Copyable value holding the options (copies share the TLS
/// context: certificates are read once); each call is one association. With a DICOMweb address
/// (Peer::isWeb) the same calls run over HTTP: C-ECHO as a QIDO-RS request, C-FIND as QIDO-RS,
/// retrievals as WADO-RS (multipart/related, streamed to disk, the same filter of what was asked
/// for), C-STORE as STOW-RS; an HTTP failure status is Error(DimseFailure), 401/403
/// AssociationRejected (docs/pacs-workflow.md, "DICOMweb").
class Pacs {
 public:
  /// Validates @p options; with TLS on, reads our certificate, key and the trusted certificates
  /// (Error(TlsFailure) naming the file when one cannot be used: a wrong passphrase, a key that
  /// does not match the certificate, a file that holds no certificate).
  explicit Pacs(NetworkOptions options);

  [[nodiscard]] const NetworkOptions& options() const noexcept { return options_; }

  /// C-ECHO. Throws PacsUnreachable, AssociationRejected, DimseFailure, NetworkError.
  void echo() const;

  /// C-FIND (Study Root). Each match is handed to @p onMatch as it arrives; return false from
  /// it to stop (a C-CANCEL is sent). At most options().maxFindResults matches are handed over,
  /// and the whole exchange ends within options().findDeadlineSeconds (else NetworkError). Text
  /// values are UTF-8, converted from the response's SpecificCharacterSet.
  FindResult find(const Query& query, const std::function<bool(const DicomRecord&)>& onMatch) const;
  /// Several C-FINDs on one association, in order; @p onMatch also gets the query's index.
  /// Returns each query's FindResult, in order.
  std::vector<FindResult> findEach(const std::vector<Query>& queries,
                                   const std::function<bool(std::size_t, const DicomRecord&)>& onMatch) const;
  /// C-FIND collecting every match.
  [[nodiscard]] std::vector<DicomRecord> findAll(const Query& query) const;

  /// Retrieves the instances selected by @p level and UIDs (an IMAGE-level retrieval names all
  /// three) into @p directory, by C-MOVE or C-GET as the options say. Files arrive in a
  /// temporary directory beside @p directory (received straight to disk, never held in memory)
  /// and are renamed into it only when complete and what was asked for: an instance of another
  /// study, series, SOP instance (IMAGE level) or of a class not in @p sopClassUids is deleted
  /// and reported (RetrieveResult::discarded). Our storage SCP accepts an association only
  /// from the PACS's AE title (and options().moveFromHost when set), and only while the C-MOVE
  /// is pending.
  /// @p sopClassUids: the storage SOP classes to accept for C-GET (empty: the usual image,
  /// RT and Raw Data classes). Throws DimseFailure when the PACS reports failed sub-operations
  /// or nothing that was asked for arrives, NetworkError when our storage port is taken, and
  /// the others.
  /// @p onProgress (optional) is called once when the retrieval begins (the association open
  /// and, for C-MOVE, our storage SCP's thread running; all counts zero), then with each pending
  /// response, and may cancel: the complete files received so far are moved into @p directory
  /// and Error(Cancelled) is thrown.
  RetrieveResult retrieve(QueryLevel level, const std::string& studyUid, const std::string& seriesUid,
                          const std::string& sopInstanceUid, const std::filesystem::path& directory,
                          const std::vector<std::string>& sopClassUids = {},
                          const RetrieveProgressHandler& onProgress = {}) const;

  /// C-STORE of each file on one association, in order. A failure status throws
  /// Error(DimseFailure) naming the file and status (files before it are stored); a warning
  /// status is returned in the outcome. Throws Error(FileNotFound, NotDicom) for a bad file.
  std::vector<StoreOutcome> store(const std::vector<std::filesystem::path>& files) const;

  /// Instances built in this process (the workstation's construction counts).
  [[nodiscard]] static std::uint64_t instancesBuilt() noexcept;
  /// C-FIND requests sent by this process, by every Pacs (the discovery tests count them).
  [[nodiscard]] static std::uint64_t findsSent() noexcept;

 private:
  NetworkOptions options_;
  std::shared_ptr<detail::TlsContext> tls_;  ///< null without DICOM TLS
  std::shared_ptr<detail::HttpPeer> web_;    ///< the DICOMweb server; null for a DIMSE peer
};

}  // namespace iodeep::client

// The commands that talk to the PACS: one per persona (docs/cli.md). They parse options, call
// the client core and print its reports.
#include <boost/program_options.hpp>
#include <cctype>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/reports/BrowseReport.hpp"
#include "iodeep/service/ServiceClient.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Dataset.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/StructureSets.hpp"
#include "iodeep/workflow/Upload.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

namespace {

// The network flags every PACS command takes; they override the configuration file.
struct NetworkFlags {
  std::string config, pacs, aet, retrieve, moveAet, cacheDir, outboxDir;
  unsigned movePort{0}, timeout{0}, dimseTimeout{0}, maxPdu{0}, findDeadline{0}, maxFindResults{0};
  bool json{false};
  // DICOM TLS (docs/security.md)
  bool tls{false}, tlsNoVerifyPeer{false};
  std::string tlsCertificate, tlsKey;
  std::vector<std::string> tlsTrusted;

  void add(po::options_description& d) {
    d.add_options()("config", po::value(&config), "client configuration file (docs/pacs-workflow.md)")(
        "pacs", po::value(&pacs), "the PACS: AET@host:port")("aet", po::value(&aet), "our calling AE title")(
        "retrieve", po::value(&retrieve), "move (C-MOVE to our storage SCP) or get (C-GET)")(
        "move-port", po::value(&movePort), "our storage SCP's port during a C-MOVE")(
        "move-aet", po::value(&moveAet), "the C-MOVE destination AE title (default: --aet)")(
        "timeout", po::value(&timeout), "seconds to connect (association)")("dimse-timeout", po::value(&dimseTimeout),
                                                                            "seconds to wait for one DIMSE message")(
        "max-pdu", po::value(&maxPdu), "maximum PDU we receive (4096-131072)")(
        "find-deadline", po::value(&findDeadline), "seconds a whole C-FIND may take (default 120)")(
        "max-find-results", po::value(&maxFindResults),
        "responses taken from one C-FIND before it is cancelled and marked incomplete (default 10000)")(
        "cache-dir", po::value(&cacheDir), "the model cache")("outbox-dir", po::value(&outboxDir), "the outbox")(
        "json", po::bool_switch(&json), "print JSON");
    d.add_options()("tls", po::bool_switch(&tls), "DICOM TLS on every association (docs/security.md)")(
        "tls-certificate", po::value(&tlsCertificate), "our TLS certificate (PEM)")(
        "tls-key", po::value(&tlsKey),
        "its private key (PEM; an encrypted key's passphrase in $IODEEP_TLS_KEY_PASSPHRASE)")(
        "tls-trusted", po::value(&tlsTrusted)->composing(),
        "PEM file or directory of certificates that verify the peer (repeatable; replaces the file's list)")(
        "tls-no-verify-peer", po::bool_switch(&tlsNoVerifyPeer),
        "accept any peer certificate (encrypted, but open to impersonation: not for production)");
  }

  [[nodiscard]] client::ClientConfig resolve() const {
    auto c = client::loadClientConfig(config);
    if (!pacs.empty()) c.network.pacs = client::Peer::parse(pacs);
    if (!aet.empty()) c.network.callingAeTitle = aet;
    if (!retrieve.empty()) {
      if (retrieve != "move" && retrieve != "get") {
        throw Error(ErrorCode::InvalidArgument, "--retrieve must be move or get, not '" + retrieve + "'");
      }
      c.network.retrieve = retrieve == "move" ? client::RetrieveMode::Move : client::RetrieveMode::Get;
    }
    if (movePort != 0) {
      if (movePort > 65535) throw Error(ErrorCode::InvalidArgument, "--move-port must be 1-65535");
      c.network.movePort = static_cast<std::uint16_t>(movePort);
    }
    if (!moveAet.empty()) c.network.moveAeTitle = moveAet;
    if (timeout != 0) c.network.connectTimeoutSeconds = timeout;
    if (dimseTimeout != 0) c.network.dimseTimeoutSeconds = dimseTimeout;
    if (maxPdu != 0) c.network.maxPdu = maxPdu;
    if (findDeadline != 0) c.network.findDeadlineSeconds = findDeadline;
    if (maxFindResults != 0) c.network.maxFindResults = maxFindResults;
    if (!cacheDir.empty()) c.cacheDir = cacheDir;
    if (!outboxDir.empty()) c.outboxDir = outboxDir;
    auto& t = c.network.tls;
    if (tls) t.enabled = true;
    if (!tlsCertificate.empty()) t.certificate = tlsCertificate;
    if (!tlsKey.empty()) t.privateKey = tlsKey;
    if (!tlsTrusted.empty()) t.trustedCertificates.assign(tlsTrusted.begin(), tlsTrusted.end());
    if (tlsNoVerifyPeer) t.verifyPeer = false;
    if (!t.enabled && (!tlsCertificate.empty() || !tlsKey.empty() || !tlsTrusted.empty() || tlsNoVerifyPeer)) {
      throw Error(
          ErrorCode::InvalidArgument,
          "the --tls-* options need DICOM TLS on (--tls, or \"tls\": {\"enabled\": true} in the configuration)");
    }
    c.network.validate();
    for (const auto& w : c.network.warnings()) std::cerr << "iodeep: warning: " << w << "\n";
    return c;
  }
};

po::options_description described(const std::string& usage, NetworkFlags& flags) {
  po::options_description d(usage + "\n\nOptions");
  d.add_options()("help,h", "show this help");
  flags.add(d);
  return d;
}

int echo(const std::vector<std::string>& args) {
  NetworkFlags f;
  auto d = described("usage: iodeep echo --pacs AET@host:port\n\nC-ECHO: checks that the PACS answers.", f);
  if (!parseOptions(args, d)) return kExitOk;
  const client::Workstation ws(f.resolve());
  ws.pacs().echo();
  std::cout << "echo: " << ws.pacsName() << " answers\n";
  return kExitOk;
}

int upload(const std::vector<std::string>& args) {
  NetworkFlags f;
  std::vector<std::string> files;
  auto d = described(
      "usage: iodeep upload --pacs AET@host:port FILE|DIR...\n\n"
      "For the PACS administrator: checks that each file is a valid IODeep object (as inspect does), stores\n"
      "the valid ones with C-STORE, and prints what was stored, refused and failed. Exit code 4 when a file was\n"
      "refused, 6 when a store failed.",
      f);
  d.add_options()("file", po::value(&files), "IODeep files or directories");
  po::positional_options_description pos;
  pos.add("file", -1);
  if (!parseOptions(args, d, &pos)) return kExitOk;
  if (files.empty()) {
    std::cerr << "iodeep upload: no file given (see 'iodeep upload --help')\n";
    return kExitUsage;
  }
  const client::Workstation ws(f.resolve());
  const auto report = client::upload(ws.pacs(), {files.begin(), files.end()});
  std::cout << (f.json ? report.toJson() : report.toText());
  return report.exitCode();
}

int models(const std::vector<std::string>& args) {
  NetworkFlags f;
  std::string modality;
  auto d = described(
      "usage: iodeep models --pacs AET@host:port [--modality MR]\n\n"
      "The IODeep networks on the PACS (C-FIND by the IODeep convention): name, version, modality, body part,\n"
      "samples per pixel; DnnUID and size for those already in the model cache.",
      f);
  d.add_options()("modality", po::value(&modality), "only networks for this modality");
  if (!parseOptions(args, d)) return kExitOk;
  client::Workstation ws(f.resolve());
  const auto found = client::findModels(ws.pacs(), modality);
  std::cout << client::modelsReport(found, ws.models(), f.json);
  return kExitOk;
}

int studies(const std::vector<std::string>& args) {
  NetworkFlags f;
  client::StudyFilter filter;
  auto d = described("usage: iodeep studies --pacs AET@host:port [--patient-name N] [--patient-id ID] [--date D]", f);
  d.add_options()("patient-name", po::value(&filter.patientName), "PatientName (wildcards * and ?)")(
      "patient-id", po::value(&filter.patientId), "PatientID")("date", po::value(&filter.studyDate),
                                                               "StudyDate, YYYYMMDD or a range YYYYMMDD-YYYYMMDD")(
      "description", po::value(&filter.studyDescription), "StudyDescription (wildcards)")(
      "modality", po::value(&filter.modality), "a modality in the study");
  if (!parseOptions(args, d)) return kExitOk;
  const client::Workstation ws(f.resolve());
  const auto v = client::findStudies(ws.pacs(), filter);
  std::cout << (f.json ? client::toJson(v) : client::toText(v));
  return kExitOk;
}

int series(const std::vector<std::string>& args) {
  NetworkFlags f;
  std::string study;
  auto d = described("usage: iodeep series --pacs AET@host:port --study UID", f);
  d.add_options()("study", po::value(&study), "StudyInstanceUID");
  if (!parseOptions(args, d)) return kExitOk;
  if (study.empty()) throw Error(ErrorCode::InvalidArgument, "--study is required");
  const client::Workstation ws(f.resolve());
  const auto v = client::findSeries(ws.pacs(), study);
  std::cout << (f.json ? client::toJson(v) : client::toText(v));
  return kExitOk;
}

int instances(const std::vector<std::string>& args) {
  NetworkFlags f;
  std::string study;
  std::string seriesUid;
  auto d = described("usage: iodeep instances --pacs AET@host:port --study UID --series UID", f);
  d.add_options()("study", po::value(&study), "StudyInstanceUID")("series", po::value(&seriesUid), "SeriesInstanceUID");
  if (!parseOptions(args, d)) return kExitOk;
  if (study.empty() || seriesUid.empty()) throw Error(ErrorCode::InvalidArgument, "--study and --series are required");
  const client::Workstation ws(f.resolve());
  const auto v = client::findInstances(ws.pacs(), study, seriesUid);
  std::cout << (f.json ? client::toJson(v) : client::toText(v));
  return kExitOk;
}

void addSliceOptions(po::options_description& d, client::SliceRequest& r) {
  d.add_options()("instance", po::value(&r.instances)->composing(), "SOP Instance UID of a slice (repeatable)")(
      "study", po::value(&r.studyUid), "its StudyInstanceUID (optional: narrows the search)")(
      "series", po::value(&r.seriesUid), "its SeriesInstanceUID (optional)")(
      "frame", po::value(&r.frame)->default_value(0), "frame of a multi-frame image (0-based)");
}

int select(const std::vector<std::string>& args) {
  NetworkFlags f;
  client::SliceRequest request;
  auto d = described(
      "usage: iodeep select --pacs AET@host:port --instance UID\n\n"
      "Explains which IODeep network would be chosen for the slice, and why every other candidate was not\n"
      "(docs/selection.md). Moves no model bytes on a PACS that describes its networks at C-FIND (Orthanc);\n"
      "one that does not (dcmqrscp) has each candidate of the slice's modality retrieved once into the model\n"
      "cache to describe it. Exit code 7 when no network matches.",
      f);
  addSliceOptions(d, request);
  if (!parseOptions(args, d)) return kExitOk;
  client::Workstation ws(f.resolve());
  const iod::TemporaryDirectory work(ws.config().cacheDir.parent_path(), "select-");
  const auto report = client::selectForSlices(ws, request, work.path());
  std::cout << (f.json ? report.toJson() : report.toText());
  return report.selection.exitCode();
}

// One line per structure set that waits in the outbox: the reason (the peer, the status) and the
// file, as for every other PACS error.
template <typename Result>
void reportUnstored(const Result& r) {
  const auto report = [](const auto& set, const char* what) {
    if (!set || set->stored) return;
    std::cerr << "iodeep roi: the " << what << " could not be stored (" << set->storeError
              << "); it waits in the outbox: " << set->outboxFile.string() << "\n";
  };
  for (const auto* set : {&r.originalSet, &r.approvedSet, &r.rejectedSet}) report(*set, "structure set");
  if constexpr (requires { r.approvedSeg; }) {
    for (const auto* set : {&r.originalSeg, &r.approvedSeg, &r.rejectedSeg}) report(*set, "segmentation");
  }
}

int roi(const std::vector<std::string>& args) {
  NetworkFlags f;
  client::RoiOptions o;
  bool allowTorchScript = false;
  SigningFlags signing;
  std::string serviceUrl, serviceTokenFile, serviceCa;
  std::string format;
  bool noService = false;
  auto d = described(
      "usage: iodeep roi --pacs AET@host:port|https://host/dicom-web --instance UID [--instance UID ...]\n"
      "                  [--approve all|none|1,3] [--correct N=MASK ...] [--draw LABEL[@K]=MASK ...]\n"
      "                  --reviewer NAME [--rejected] [--format rtstruct|seg|both]\n"
      "                  [--sign-key KEY.pem --sign-certificate CERT.pem]\n\n"
      "AI ROI end to end: retrieves the slice(s), selects the network on the PACS, retrieves it once into the\n"
      "model cache (or reuses it), predicts, stores the approved proposals as one RT Structure Set for the\n"
      "slices (through the outbox: nothing approved is lost) and checks that the PACS holds it. Exit code 7\n"
      "when no network matches, 6 when the set could not be stored (it waits in the outbox).",
      f);
  addSliceOptions(d, o.slices);
  d.add_options()("approve", po::value(&o.approve)->default_value("none"),
                  "approved proposals: all, none, or numbers as printed (1,3)")(
      "reviewer", po::value(&o.reviewer), "the approving physician, DICOM PN (e.g. Doe^Jane)")(
      "rejected", po::bool_switch(&o.storeRejected), "also store the rejected proposals (ApprovalStatus REJECTED)")(
      "format", po::value(&format),
      "store the review as RT Structure Sets (rtstruct, the default), DICOM Segmentations (seg, docs/seg.md) or "
      "both; the configuration's result_format when not given")(
      "correct", po::value(&o.corrections)->composing(),
      "N=MASK: proposal N (as printed) corrected to MASK (a PNG or a JSON polygon at the slice's pixel grid) and "
      "approved; stored SEMIAUTOMATIC, its original proposal kept (docs/rtstruct.md)")(
      "draw", po::value(&o.drawings)->composing(),
      "LABEL=MASK or LABEL@K=MASK: an ROI drawn for a label the network knows, on slice K (1-based; the first)")(
      "allow-torchscript", po::bool_switch(&allowTorchScript),
      "run a TorchScript network (overrides the configuration)");
  d.add_options()("service", po::value(&serviceUrl),
                  "let the inference service at this URL select and predict (docs/service.md); the review and the "
                  "store stay here, and libtorch is never opened")("service-token-file", po::value(&serviceTokenFile),
                                                                   "file holding the service's bearer token")(
      "service-ca", po::value(&serviceCa), "CA certificate (PEM) that verifies an https service")(
      "no-service", po::bool_switch(&noService), "predict here even when the configuration names an inference service");
  signing.add(d);
  if (!parseOptions(args, d)) return kExitOk;
  auto c = f.resolve();
  o.format = client::resultFormatFrom(format.empty() ? c.resultFormat : format);
  // the inference service: --service, else the configuration's, unless --no-service
  client::InferenceServiceSettings onService = noService ? client::InferenceServiceSettings{} : c.inferenceService;
  if (!serviceUrl.empty()) onService = {serviceUrl, serviceTokenFile, serviceCa};
  if (noService && !serviceUrl.empty())
    throw Error(ErrorCode::InvalidArgument, "--service and --no-service exclude each other");
  if (!onService.url.empty()) {
    if (allowTorchScript) {
      throw Error(ErrorCode::InvalidArgument, "--allow-torchscript is the service's to decide, not with a service");
    }
    const service::ServiceClient serviceClient(service::clientOptionsFor(onService));
    o.signing = signing.resolve();
    client::Workstation ws(std::move(c));
    const auto r = service::runRoiViaService(ws, serviceClient, o);
    std::cout << (f.json ? r.toJson() : r.toText());
    if (r.exitCode() == kExitPacs) reportUnstored(r);
    return r.exitCode();
  }
  if (allowTorchScript) c.allowTorchScript = true;
  o.signing = signing.resolve();
  client::Workstation ws(std::move(c));
  const auto r = client::runRoi(ws, o);
  std::cout << (f.json ? r.toJson() : r.toText());
  if (r.exitCode() == kExitPacs) reportUnstored(r);
  return r.exitCode();
}

int outbox(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "list" && args[0] != "flush")) {
    std::cerr << "iodeep outbox: usage: iodeep outbox list|flush [options]\n";
    return args.empty() || (args[0] != "--help" && args[0] != "-h") ? kExitUsage : kExitOk;
  }
  NetworkFlags f;
  auto d = described(
      "usage: iodeep outbox list|flush [--pacs AET@host:port]\n\n"
      "Structure sets waiting for the PACS: list them, or send them (flush). Only the sets iodeep\n"
      "wrote there are sent; any other file is listed as \"not written by iodeep: not sent\" and left.",
      f);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (!parseOptions(rest, d)) return kExitOk;
  if (args[0] == "list") {  // no PACS needed
    client::ClientConfig c = client::loadClientConfig(f.config);
    if (!f.outboxDir.empty()) c.outboxDir = f.outboxDir;
    client::Workstation ws(std::move(c));  // no PACS needed to list
    std::cout << client::outboxReport(ws.outbox().contents(), f.json);
    return kExitOk;
  }
  client::Workstation ws(f.resolve());
  const auto r = ws.outbox().flush(ws.pacs(), ws.auditLog());
  std::cout << client::flushReport(r, f.json);
  return r.failed.empty() ? kExitOk : kExitPacs;
}

int dataset(const std::vector<std::string>& args) {
  NetworkFlags f;
  client::DatasetOptions o;
  std::string output;
  auto d = described(
      "usage: iodeep dataset --pacs AET@host:port --network DNNUID -o DIR [--since YYYYMMDD]\n"
      "                      [--validation-percent 20]\n\n"
      "A training set from the PACS (docs/finetuning.md): the approved RT Structure Sets the network's\n"
      "proposals led to (found by C-FIND, read), the slices they contour (retrieved), and per slice and label\n"
      "the image, the approved mask and, for a corrected ROI, the network's original proposal, with a\n"
      "manifest (manifest.csv) and dataset.json. Training and validation are split by patient. DIR must not\n"
      "exist; it appears complete or not at all.",
      f);
  d.add_options()("network", po::value(&o.network), "the DnnUID whose proposals the structure sets came from")(
      "output,o", po::value(&output), "the dataset directory to write (must not exist)")(
      "since", po::value(&o.since), "only structure sets reviewed on or after this date (YYYYMMDD)")(
      "validation-percent", po::value(&o.validationPercent)->default_value(20),
      "patients put aside for validation (by a hash of the PatientID; 0-100)");
  if (!parseOptions(args, d)) return kExitOk;
  o.output = output;
  client::Workstation ws(f.resolve());
  const auto r = client::buildDataset(ws, o);
  std::cout << (f.json ? r.toJson() : r.toText());
  return kExitOk;
}

}  // namespace

int pacsCommand(const std::string& command, const std::vector<std::string>& args) {
  if (command == "echo") return echo(args);
  if (command == "upload") return upload(args);
  if (command == "models") return models(args);
  if (command == "studies") return studies(args);
  if (command == "series") return series(args);
  if (command == "instances") return instances(args);
  if (command == "select") return select(args);
  if (command == "roi") return roi(args);
  if (command == "outbox") return outbox(args);
  if (command == "dataset") return dataset(args);
  return -1;
}

int rtstructListCommand(const std::vector<std::string>& args) {
  NetworkFlags f;
  std::string study;
  std::string seriesUid;
  std::string directory;
  auto d = described(
      "usage: iodeep rtstruct list --pacs AET@host:port --series UID [--study UID] [--retrieve-to DIR]\n\n"
      "The RT Structure Sets on the PACS with contours on the series (retrieved and read).",
      f);
  d.add_options()("series", po::value(&seriesUid), "SeriesInstanceUID of the images")(
      "study", po::value(&study), "its StudyInstanceUID (optional)")(
      "retrieve-to", po::value(&directory), "keep the retrieved structure sets in this directory");
  if (!parseOptions(args, d)) return kExitOk;
  if (seriesUid.empty()) throw Error(ErrorCode::InvalidArgument, "--series is required");
  const client::Workstation ws(f.resolve());
  std::optional<iod::TemporaryDirectory> temporary;  // unless the caller keeps the files
  if (directory.empty()) temporary.emplace(ws.config().cacheDir.parent_path(), "rtstruct-");
  const std::filesystem::path dir = temporary ? temporary->path() : std::filesystem::path(directory);
  const auto sets = client::findStructureSets(ws.pacs(), study, seriesUid, dir);
  std::cout << (f.json ? client::toJson(sets) : client::toText(sets));
  return kExitOk;
}

}  // namespace iodeep::cli

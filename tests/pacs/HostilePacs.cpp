// hostile_pacs: a Query/Retrieve SCP for the tests that misbehaves on purpose (issue 17, "Hostile
// peers and hostile files"; tests/pacs/hostile.sh runs the iodeep CLI against it).
//
// It serves Verification and the Study Root C-FIND, C-MOVE and C-GET models from a directory of
// DICOM files indexed at start, with DCMTK's low-level dcmnet API (ASC_* and DIMSE_*, as storescp,
// movescu and dcmqrscp do), one thread per association. C-FIND matches at STUDY, SERIES and IMAGE
// level on any key the client sends: UID lists, single values, `*` and `?` wildcards, date
// ranges; it returns whatever the files hold (SeriesDescription and BodyPartExamined at SERIES
// level, SamplesPerPixel at IMAGE level, as Orthanc does) and computes ModalitiesInStudy and the
// NumberOf...Related... counts. C-MOVE sends to the destinations given with --move-destination,
// as a PACS's modality table would. Each flag below is one hostile peer:
//
//   --find-flood N         every C-FIND answered with N synthetic pending responses, then success;
//                          a C-CANCEL stops it (answered with status Cancel, logged)
//   --find-dribble SECS    every C-FIND answered with its matches, then synthetic ones without end
//                          (N with --find-flood), one response per SECS seconds (a decimal: 0.7); a
//                          C-CANCEL or the peer going away stops it (logged)
//   --find-huge BYTES      every C-FIND response carries PatientComments (0010,4000) of BYTES bytes
//   --move-wrong           a C-MOVE/C-GET answered with another instance instead of each one asked for
//   --move-extra           a C-MOVE/C-GET answered with what was asked for plus another instance
//   --third-ae AET         during a C-MOVE, before sending anything, another instance is C-STOREd
//                          to the move destination on an association whose calling AE title is AET
//                          (not ours); whether it was accepted or rejected is logged
//   --describe SEL:K=V[,K=V...]
//                          C-FIND answers the instance SEL (a SOP Instance UID, a file of the
//                          directory, or `*` for every Raw Data instance: the IODeep networks) with
//                          the attributes K (DICOM keywords, e.g. Modality, BodyPartExamined,
//                          SamplesPerPixel, PhotometricInterpretation) set to V; retrievals send the
//                          file as it is. Repeatable.
//   --only models|images   --move-wrong, --move-extra and --third-ae act only on retrievals of Raw
//                          Data instances (models) or of the others (images); default: all
//   --substitute UID       the other instance those three send (default: the next instance after the
//                          one asked for, by file name, of the same SOP class, preferably of its series)
//
// Usage: hostile_pacs --port N --dir DIR [--aet AET] [--move-destination AET=host:port]...
//                     [--ready FILE] [--dimse-timeout SECS] [the flags above]
// Logs one line per request, and per refused or aborted association, on stderr ("hostile_pacs: ...").
// SIGTERM or SIGINT: stops accepting, ends its associations and exits 0. Exit code 2 for a bad
// command line or directory, 1 when the port cannot be opened.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dul.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::atomic<bool> stopRequested{false};

extern "C" void onSignal(int /*signal*/) {
  stopRequested = true;
}

std::mutex& logMutex() {
  static std::mutex m;
  return m;
}

void say(const std::string& line) {
  const std::lock_guard lock(logMutex());
  std::cerr << "hostile_pacs: " << line << std::endl;
}

constexpr Uint16 kPending = 0xFF00;  // a sub-operation or a match pending (STATUS_Pending is deprecated)

// A condition's text on one line (DCMTK's may hold several).
std::string text(const OFCondition& cond) {
  std::string t = cond.text();
  for (std::size_t at = t.find('\n'); at != std::string::npos; at = t.find('\n', at)) t.replace(at, 1, "; ");
  return t;
}

std::string hex(Uint16 status) {
  std::ostringstream o;
  o << "0x" << std::hex << std::uppercase;
  o.width(4);
  o.fill('0');
  o << status;
  return o.str();
}

std::string seconds(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(std::string(" \t\r\n\0", 5));
  return s.substr(first, last - first + 1);
}

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, by)) out.push_back(part);
  if (!s.empty() && s.back() == by) out.emplace_back();
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ---- the command line -------------------------------------------------------------------------

struct Destination {
  std::string aeTitle, host;
  int port{0};
  [[nodiscard]] std::string toString() const { return aeTitle + "@" + host + ":" + std::to_string(port); }
};

struct DescribeRule {
  std::string selector;  // a SOP Instance UID or "*"
  std::vector<std::pair<DcmTagKey, std::string>> values;
  std::string text;  // as given, for the log
};

enum class Only { All, Models, Images };

struct Options {
  int port{0};
  std::string aeTitle{"HOSTILE"};
  fs::path directory;
  std::map<std::string, Destination> destinations;
  std::size_t findFlood{0};
  double findDribbleSeconds{0};
  std::size_t findHugeBytes{0};
  bool moveWrong{false}, moveExtra{false};
  std::string thirdAe;
  std::vector<DescribeRule> describe;
  Only only{Only::All};
  std::string substitute;
  fs::path ready;
  int dimseTimeout{30};
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "hostile_pacs: " << problem << "\n"
            << "usage: hostile_pacs --port N --dir DIR [--aet AET] [--move-destination AET=host:port]...\n"
               "                    [--find-flood N] [--find-dribble SECONDS] [--find-huge BYTES] [--move-wrong]\n"
               "                    [--move-extra]\n"
               "                    [--third-ae AET] [--describe SELECTOR:Keyword=Value[,Keyword=Value...]]...\n"
               "                    [--only models|images] [--substitute SOPInstanceUID] [--ready FILE]\n"
               "                    [--dimse-timeout SECONDS]\n";
  std::exit(2);
}

long number(const std::string& flag, const std::string& value, long min, long max) {
  try {
    std::size_t used = 0;
    const long n = std::stol(value, &used);
    if (used == value.size() && n >= min && n <= max) return n;
  } catch (const std::exception&) {
  }
  usage(flag + " wants a number " + std::to_string(min) + "-" + std::to_string(max) + ", not '" + value + "'");
}

double decimal(const std::string& flag, const std::string& value, double min, double max) {
  try {
    std::size_t used = 0;
    const double n = std::stod(value, &used);
    if (used == value.size() && n >= min && n <= max) return n;
  } catch (const std::exception&) {
  }
  usage(flag + " wants a number of seconds " + std::to_string(min) + "-" + std::to_string(max) + ", not '" + value +
        "'");
}

std::string uidOfFile(const fs::path& file);

DescribeRule parseDescribe(const std::string& rule) {
  const auto colon = rule.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rule.size()) {
    usage("--describe wants SELECTOR:Keyword=Value[,Keyword=Value...], not '" + rule + "'");
  }
  DescribeRule r;
  r.text = rule;
  r.selector = rule.substr(0, colon);
  if (r.selector != "*" && fs::is_regular_file(r.selector)) r.selector = uidOfFile(r.selector);
  for (const auto& item : split(rule.substr(colon + 1), ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) usage("--describe: '" + item + "' is not Keyword=Value");
    DcmTag tag;
    if (DcmTag::findTagFromName(item.substr(0, eq).c_str(), tag).bad()) {
      usage("--describe: '" + item.substr(0, eq) + "' is not a DICOM keyword");
    }
    r.values.emplace_back(DcmTagKey(tag.getGroup(), tag.getElement()), item.substr(eq + 1));
  }
  return r;
}

Options parseOptions(int argc, char** argv) {
  Options o;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    if (a == "--port") {
      o.port = static_cast<int>(number(a, value(), 1, 65535));
    } else if (a == "--aet") {
      o.aeTitle = value();
    } else if (a == "--dir") {
      o.directory = value();
    } else if (a == "--move-destination") {
      const std::string& v = value();
      const auto eq = v.find('=');
      const auto colon = v.rfind(':');
      if (eq == std::string::npos || colon == std::string::npos || colon < eq || eq == 0) {
        usage("--move-destination wants AET=host:port, not '" + v + "'");
      }
      Destination d{v.substr(0, eq), v.substr(eq + 1, colon - eq - 1),
                    static_cast<int>(number(a, v.substr(colon + 1), 1, 65535))};
      o.destinations[d.aeTitle] = d;
    } else if (a == "--find-flood") {
      o.findFlood = static_cast<std::size_t>(number(a, value(), 1, 100'000'000));
    } else if (a == "--find-dribble") {
      o.findDribbleSeconds = decimal(a, value(), 0.05, 3600);
    } else if (a == "--find-huge") {
      o.findHugeBytes = static_cast<std::size_t>(number(a, value(), 1, 1'000'000'000));
    } else if (a == "--move-wrong") {
      o.moveWrong = true;
    } else if (a == "--move-extra") {
      o.moveExtra = true;
    } else if (a == "--third-ae") {
      o.thirdAe = value();
    } else if (a == "--describe") {
      o.describe.push_back(parseDescribe(value()));
    } else if (a == "--only") {
      const std::string& v = value();
      if (v == "models") {
        o.only = Only::Models;
      } else if (v == "images") {
        o.only = Only::Images;
      } else if (v == "all") {
        o.only = Only::All;
      } else {
        usage("--only wants models, images or all");
      }
    } else if (a == "--substitute") {
      o.substitute = value();
    } else if (a == "--ready") {
      o.ready = value();
    } else if (a == "--dimse-timeout") {
      o.dimseTimeout = static_cast<int>(number(a, value(), 1, 3600));
    } else if (a == "--help" || a == "-h") {
      usage("a hostile Query/Retrieve SCP for the tests");
    } else {
      usage("unknown option '" + a + "'");
    }
  }
  if (o.port == 0 || o.directory.empty()) usage("--port and --dir are required");
  if (o.aeTitle.empty() || o.aeTitle.size() > 16 || o.thirdAe.size() > 16) usage("AE titles are 1-16 characters");
  return o;
}

// ---- the index --------------------------------------------------------------------------------

using Values = std::map<DcmTagKey, std::string>;

struct Instance {
  fs::path file;
  std::string study, series, sop, sopClass;
  Values values;  // what C-FIND answers (after --describe)

  [[nodiscard]] std::string get(const DcmTagKey& key) const {
    const auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
  [[nodiscard]] bool has(const DcmTagKey& key) const { return values.count(key) != 0; }
  [[nodiscard]] bool isModel() const { return sopClass == UID_RawDataStorage; }
  [[nodiscard]] std::string name() const { return sop + " (" + file.filename().string() + ")"; }
};

// The attributes of a file that C-FIND can return: short top-level values, text or numbers.
std::optional<Instance> readInstance(const fs::path& file) {
  DcmFileFormat ff;
  // values longer than 4 KB (pixels, the network's payload) are not read
  if (ff.loadFile(OFFilename(file.c_str()), EXS_Unknown, EGL_noChange, 4096).bad()) return std::nullopt;
  DcmDataset* ds = ff.getDataset();
  Instance in;
  in.file = file;
  for (unsigned long i = 0; i < ds->card(); ++i) {
    DcmElement* e = ds->getElement(i);
    if (e == nullptr || !e->isLeaf()) continue;
    const DcmTag& tag = e->getTag();
    const DcmEVR vr = e->ident();
    const bool numeric = vr == EVR_US || vr == EVR_UL || vr == EVR_SS || vr == EVR_SL;
    if (tag.isPrivate() || tag.getGroup() == 0x7FE0 || e->getLength() > 1024) continue;
    if (!numeric && !DcmVR(vr).isaString()) continue;
    OFString v;
    if (e->getOFStringArray(v).good()) in.values[DcmTagKey(tag.getGroup(), tag.getElement())] = trim(v.c_str());
  }
  in.study = in.get(DCM_StudyInstanceUID);
  in.series = in.get(DCM_SeriesInstanceUID);
  in.sop = in.get(DCM_SOPInstanceUID);
  in.sopClass = in.get(DCM_SOPClassUID);
  if (in.study.empty() || in.series.empty() || in.sop.empty() || in.sopClass.empty()) return std::nullopt;
  return in;
}

std::string uidOfFile(const fs::path& file) {
  const auto in = readInstance(file);
  if (!in) usage("--describe: " + file.string() + " is not a DICOM instance");
  return in->sop;
}

std::vector<Instance> indexDirectory(const Options& o) {
  std::error_code ec;
  if (!fs::is_directory(o.directory, ec)) usage(o.directory.string() + " is not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(o.directory, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Instance> index;
  for (const auto& f : files) {
    auto in = readInstance(f);
    if (!in) {
      say("index: skipped " + f.string() + " (not a DICOM instance with its UIDs)");
      continue;
    }
    const bool duplicate = std::any_of(index.begin(), index.end(), [&](const Instance& x) { return x.sop == in->sop; });
    if (duplicate) {
      say("index: skipped " + f.string() + " (SOP Instance UID already indexed)");
      continue;
    }
    index.push_back(std::move(*in));
  }
  for (const auto& rule : o.describe) {
    bool used = false;
    for (auto& in : index) {
      if (rule.selector == "*" ? !in.isModel() : rule.selector != in.sop) continue;
      std::string was;
      for (const auto& [key, value] : rule.values) {
        was += std::string(was.empty() ? "" : ", ") + DcmTag(key).getTagName() + "=" + in.get(key);
        in.values[key] = value;
      }
      say("describe: C-FIND answers " + in.name() + " as " + rule.text.substr(rule.text.find(':') + 1) +
          " (the object has " + was + ")");
      used = true;
    }
    if (!used) usage("--describe: no instance of the directory is '" + rule.selector + "'");
  }
  return index;
}

// ---- C-FIND matching ----------------------------------------------------------------------------

enum class Level { Study, Series, Image };

const char* levelName(Level l) {
  switch (l) {
    case Level::Study: return "STUDY";
    case Level::Series: return "SERIES";
    case Level::Image: return "IMAGE";
  }
  return "?";
}

std::optional<Level> levelOf(DcmDataset& ids) {
  OFString v;
  if (ids.findAndGetOFString(DCM_QueryRetrieveLevel, v).bad()) return std::nullopt;
  const std::string s = trim(v.c_str());
  if (s == "STUDY") return Level::Study;
  if (s == "SERIES") return Level::Series;
  if (s == "IMAGE") return Level::Image;
  return std::nullopt;
}

bool wildcardMatch(const std::string& pattern, const std::string& value) {
  // iterative * and ? matching with backtracking to the last *
  std::size_t p = 0, v = 0, star = std::string::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == value[v])) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// One value of one key (PS3.4 C.2.2.2): single value, UID list, wildcards, range.
bool valueMatches(const std::string& patternIn, const std::string& valueIn, DcmEVR vr) {
  std::string pattern = trim(patternIn);
  std::string value = trim(valueIn);
  if (pattern.empty() || pattern == "*") return true;
  if (vr == EVR_PN) {
    pattern = upper(pattern);
    value = upper(value);
  }
  if (vr == EVR_UI) {
    const auto uids = split(pattern, '\\');
    return std::find(uids.begin(), uids.end(), value) != uids.end();
  }
  if ((vr == EVR_DA || vr == EVR_TM || vr == EVR_DT) && pattern.find('-') != std::string::npos) {
    const auto dash = pattern.find('-');
    const std::string from = pattern.substr(0, dash), to = pattern.substr(dash + 1);
    if (value.empty()) return false;
    return (from.empty() || value >= from) && (to.empty() || value.substr(0, to.size()) <= to);
  }
  if (pattern.find_first_of("*?") != std::string::npos) return wildcardMatch(pattern, value);
  return pattern == value;
}

// Attributes a PACS computes instead of reading them from a file.
bool isComputed(const DcmTagKey& key) {
  return key == DCM_ModalitiesInStudy || key == DCM_NumberOfStudyRelatedSeries ||
         key == DCM_NumberOfStudyRelatedInstances || key == DCM_NumberOfSeriesRelatedInstances;
}

// The unit a response stands for: a study, a series or an instance, and its instances.
struct Unit {
  std::vector<const Instance*> instances;
};

std::vector<Unit> unitsAt(const std::vector<Instance>& index, Level level) {
  std::vector<Unit> units;
  std::map<std::string, std::size_t> at;
  for (const auto& in : index) {
    const std::string& key = level == Level::Study ? in.study : level == Level::Series ? in.series : in.sop;
    const auto [it, fresh] = at.emplace(key, units.size());
    if (fresh) units.emplace_back();
    units[it->second].instances.push_back(&in);
  }
  return units;
}

std::string computed(const DcmTagKey& key, const std::vector<Instance>& index, const Instance& in) {
  std::vector<std::string> modalities;
  std::vector<std::string> series;
  std::size_t instances = 0;
  for (const auto& x : index) {
    if (key == DCM_NumberOfSeriesRelatedInstances ? x.series != in.series : x.study != in.study) continue;
    ++instances;
    if (std::find(series.begin(), series.end(), x.series) == series.end()) series.push_back(x.series);
    const std::string m = x.get(DCM_Modality);
    if (!m.empty() && std::find(modalities.begin(), modalities.end(), m) == modalities.end()) modalities.push_back(m);
  }
  if (key == DCM_ModalitiesInStudy) {
    std::string out;
    for (const auto& m : modalities) out += (out.empty() ? "" : "\\") + m;
    return out;
  }
  if (key == DCM_NumberOfStudyRelatedSeries) return std::to_string(series.size());
  return std::to_string(instances);
}

bool isControlKey(const DcmTagKey& key) {
  return key == DCM_QueryRetrieveLevel || key == DCM_SpecificCharacterSet || key == DCM_RetrieveAETitle ||
         key == DCM_InstanceAvailability || key == DCM_TimezoneOffsetFromUTC;
}

// Does @p in (of its unit) satisfy every key of the request?
bool instanceMatches(DcmDataset& request, const std::vector<Instance>& index, const Instance& in) {
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* e = request.getElement(i);
    if (e == nullptr || !e->isLeaf()) continue;
    const DcmTagKey key(e->getTag().getGroup(), e->getTag().getElement());
    if (isControlKey(key) || key == DCM_NumberOfStudyRelatedSeries || key == DCM_NumberOfStudyRelatedInstances ||
        key == DCM_NumberOfSeriesRelatedInstances) {
      continue;
    }
    OFString pattern;
    (void)e->getOFStringArray(pattern);
    if (trim(pattern.c_str()).empty()) continue;
    if (key == DCM_ModalitiesInStudy) {
      const auto modalities = split(computed(key, index, in), '\\');
      const bool any = std::any_of(modalities.begin(), modalities.end(),
                                   [&](const std::string& m) { return valueMatches(pattern.c_str(), m, EVR_CS); });
      if (!any) return false;
      continue;
    }
    if (!in.has(key)) return false;
    if (!valueMatches(pattern.c_str(), in.get(key), e->ident())) return false;
  }
  return true;
}

std::unique_ptr<DcmDataset> answerFor(DcmDataset& request, Level level, const std::vector<Instance>& index,
                                      const Instance& in) {
  auto out = std::make_unique<DcmDataset>();
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* e = request.getElement(i);
    if (e == nullptr || !e->isLeaf()) continue;
    const DcmTag tag = e->getTag();
    const DcmTagKey key(tag.getGroup(), tag.getElement());
    std::string v;
    if (key == DCM_QueryRetrieveLevel) {
      v = levelName(level);
    } else if (key == DCM_RetrieveAETitle || key == DCM_InstanceAvailability || key == DCM_TimezoneOffsetFromUTC) {
      continue;
    } else if (key == DCM_SpecificCharacterSet) {
      if (!in.has(key)) continue;
      v = in.get(key);
    } else if (isComputed(key)) {
      v = computed(key, index, in);
    } else {
      v = in.get(key);
    }
    (void)out->putAndInsertString(tag, v.c_str());
  }
  return out;
}

// A response that stands for nothing on disk: the flood's and the dribble's.
std::unique_ptr<DcmDataset> syntheticAnswer(DcmDataset& request, Level level, std::size_t n) {
  auto out = std::make_unique<DcmDataset>();
  const std::string id = std::to_string(n);
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* e = request.getElement(i);
    if (e == nullptr || !e->isLeaf()) continue;
    const DcmTag tag = e->getTag();
    const DcmTagKey key(tag.getGroup(), tag.getElement());
    OFString given;
    (void)e->getOFStringArray(given);
    const std::string asked = trim(given.c_str());
    std::string v;
    if (key == DCM_QueryRetrieveLevel) {
      v = levelName(level);
    } else if (!asked.empty() && asked.find_first_of("*?\\-") == std::string::npos) {
      v = asked;  // a single value asked for (e.g. the study of a SERIES query): the same
    } else if (key == DCM_StudyInstanceUID) {
      v = "2.25.9" + std::string(12 - std::min<std::size_t>(12, id.size()), '0') + id;
    } else if (key == DCM_SeriesInstanceUID) {
      v = "2.25.8" + std::string(12 - std::min<std::size_t>(12, id.size()), '0') + id;
    } else if (key == DCM_SOPInstanceUID) {
      v = "2.25.7" + std::string(12 - std::min<std::size_t>(12, id.size()), '0') + id;
    } else if (key == DCM_SOPClassUID) {
      v = UID_MRImageStorage;
    } else if (key == DCM_PatientName) {
      v = "FLOOD^" + id;
    } else if (key == DCM_PatientID) {
      v = "FLOOD" + id;
    } else if (key == DCM_StudyDescription || key == DCM_SeriesDescription) {
      v = "FLOOD " + id;
    } else if (key == DCM_Modality || key == DCM_ModalitiesInStudy) {
      v = "MR";
    } else if (key == DCM_StudyDate) {
      v = "20260101";
    } else if (key == DCM_StudyTime) {
      v = "120000";
    } else if (key == DCM_NumberOfStudyRelatedSeries || key == DCM_NumberOfSeriesRelatedInstances ||
               key == DCM_SeriesNumber || key == DCM_InstanceNumber) {
      v = "1";
    }
    (void)out->putAndInsertString(tag, v.c_str());
  }
  return out;
}

std::string describeKeys(DcmDataset& request) {
  std::string out;
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* e = request.getElement(i);
    if (e == nullptr || !e->isLeaf()) continue;
    const DcmTagKey key(e->getTag().getGroup(), e->getTag().getElement());
    if (key == DCM_QueryRetrieveLevel) continue;
    OFString v;
    (void)e->getOFStringArray(v);
    if (trim(v.c_str()).empty()) continue;
    out += std::string(out.empty() ? "" : ", ") + DcmTag(key).getTagName() + "=" + trim(v.c_str());
  }
  return out.empty() ? "(no matching keys)" : out;
}

// ---- outgoing associations (C-MOVE sub-operations, the third AE) ------------------------------------

class OutgoingAssociation {
 public:
  OutgoingAssociation() = default;
  OutgoingAssociation(const OutgoingAssociation&) = delete;
  OutgoingAssociation& operator=(const OutgoingAssociation&) = delete;
  OutgoingAssociation(OutgoingAssociation&&) = delete;
  OutgoingAssociation& operator=(OutgoingAssociation&&) = delete;
  ~OutgoingAssociation() {
    if (assoc_ != nullptr) {
      if (open_) (void)ASC_abortAssociation(assoc_);
      (void)ASC_dropAssociation(assoc_);
      (void)ASC_destroyAssociation(&assoc_);
    } else if (params_ != nullptr) {
      (void)ASC_destroyAssociationParameters(&params_);
    }
    if (net_ != nullptr) (void)ASC_dropNetwork(&net_);
  }

  /// Opens an association from @p callingAe to @p d proposing the SOP classes (and transfer
  /// syntaxes) of @p files. Returns an empty string, or why not; @p rejected tells a rejection.
  std::string open(const std::string& callingAe, const Destination& d, const std::vector<const Instance*>& files,
                   int timeout, bool& rejected) {
    rejected = false;
    OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, timeout, &net_);
    if (cond.bad()) return "cannot initialise the network: " + text(cond);
    cond = ASC_createAssociationParameters(&params_, ASC_DEFAULTMAXPDU);
    if (cond.bad()) return "cannot create association parameters: " + text(cond);
    (void)ASC_setAPTitles(params_, callingAe.c_str(), d.aeTitle.c_str(), nullptr);
    const std::string address = d.host + ":" + std::to_string(d.port);
    (void)ASC_setPresentationAddresses(params_, "localhost", address.c_str());
    std::vector<std::pair<std::string, std::string>> proposed;  // (class, the file's syntax)
    T_ASC_PresentationContextID id = 1;
    for (const Instance* in : files) {
      const std::string xfer = transferSyntaxOf(*in);
      const std::pair key{in->sopClass, xfer};
      if (std::find(proposed.begin(), proposed.end(), key) != proposed.end()) continue;
      proposed.push_back(key);
      std::vector<const char*> syntaxes{xfer.c_str()};
      for (const char* ts : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
        if (xfer != ts) syntaxes.push_back(ts);
      }
      cond = ASC_addPresentationContext(params_, id, in->sopClass.c_str(), syntaxes.data(),
                                        static_cast<int>(syntaxes.size()));
      if (cond.bad()) return "cannot propose " + in->sopClass + ": " + text(cond);
      id = static_cast<T_ASC_PresentationContextID>(id + 2);
    }
    cond = ASC_requestAssociation(net_, params_, &assoc_);
    if (cond.bad()) {
      if (cond == DUL_ASSOCIATIONREJECTED) {
        rejected = true;
        T_ASC_RejectParameters rej;
        (void)ASC_getRejectParameters(params_, &rej);
        OFString why;
        ASC_printRejectParameters(why, &rej);
        std::string one = why.c_str();
        std::replace(one.begin(), one.end(), '\n', ' ');
        return "association rejected (" + trim(one) + ")";
      }
      return "association failed: " + text(cond);
    }
    open_ = true;
    if (ASC_countAcceptedPresentationContexts(params_) == 0) return "no presentation context accepted";
    return {};
  }

  /// C-STORE of @p in. Returns the DIMSE status, or nothing (and @p error) when the exchange failed.
  std::optional<Uint16> store(const Instance& in, const std::string& moveOriginator, DIC_US moveId, int timeout,
                              std::string& error) {
    DcmFileFormat ff;
    OFCondition cond = ff.loadFile(OFFilename(in.file.c_str()));
    if (cond.bad()) {
      error = "cannot read " + in.file.string() + ": " + text(cond);
      return std::nullopt;
    }
    const std::string xfer = DcmXfer(ff.getDataset()->getOriginalXfer()).getXferID();
    T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(assoc_, in.sopClass.c_str(), xfer.c_str());
    if (id == 0) id = ASC_findAcceptedPresentationContextID(assoc_, in.sopClass.c_str());
    if (id == 0) {
      error = "no accepted presentation context for " + in.sopClass;
      return std::nullopt;
    }
    return storeOn(assoc_, id, in, *ff.getDataset(), moveOriginator, moveId, timeout, error);
  }

  void release() {
    if (assoc_ != nullptr && open_) {
      if (ASC_releaseAssociation(assoc_).bad()) (void)ASC_abortAssociation(assoc_);
      open_ = false;
    }
  }

  static std::optional<Uint16> storeOn(T_ASC_Association* assoc, T_ASC_PresentationContextID id, const Instance& in,
                                       DcmDataset& data, const std::string& moveOriginator, DIC_US moveId, int timeout,
                                       std::string& error) {
    T_DIMSE_C_StoreRQ req{};
    req.MessageID = assoc->nextMsgID++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, in.sopClass.c_str(), sizeof(req.AffectedSOPClassUID));
    OFStandard::strlcpy(req.AffectedSOPInstanceUID, in.sop.c_str(), sizeof(req.AffectedSOPInstanceUID));
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    if (!moveOriginator.empty()) {
      req.opts = O_STORE_MOVEORIGINATORAETITLE | O_STORE_MOVEORIGINATORID;
      OFStandard::strlcpy(req.MoveOriginatorApplicationEntityTitle, moveOriginator.c_str(),
                          sizeof(req.MoveOriginatorApplicationEntityTitle));
      req.MoveOriginatorID = moveId;
    }
    T_DIMSE_C_StoreRSP rsp{};
    DcmDataset* detail = nullptr;
    const OFCondition cond = DIMSE_storeUser(assoc, id, &req, nullptr, &data, nullptr, nullptr, DIMSE_NONBLOCKING,
                                             timeout, &rsp, &detail, nullptr, 0);
    delete detail;  // NOLINT(cppcoreguidelines-owning-memory): DCMTK's ownership contract
    if (cond.bad()) {
      error = "C-STORE of " + in.name() + " failed: " + text(cond);
      return std::nullopt;
    }
    return rsp.DimseStatus;
  }

 private:
  static std::string transferSyntaxOf(const Instance& in) {
    DcmFileFormat ff;
    if (ff.loadFile(OFFilename(in.file.c_str()), EXS_Unknown, EGL_noChange, 256).bad()) {
      return UID_LittleEndianExplicitTransferSyntax;
    }
    const E_TransferSyntax xfer = ff.getDataset()->getOriginalXfer();
    return xfer == EXS_Unknown ? UID_LittleEndianExplicitTransferSyntax : DcmXfer(xfer).getXferID();
  }

  T_ASC_Network* net_{nullptr};
  T_ASC_Parameters* params_{nullptr};
  T_ASC_Association* assoc_{nullptr};
  bool open_{false};
};

// ---- the server -------------------------------------------------------------------------------

struct Server {
  Options options;
  std::vector<Instance> index;

  // the other instance --move-wrong, --move-extra and --third-ae send instead of / besides @p asked
  [[nodiscard]] const Instance* substituteFor(const Instance& asked, const std::vector<const Instance*>& avoid) const {
    const auto allowed = [&](const Instance& x) {
      return x.sop != asked.sop && std::find(avoid.begin(), avoid.end(), &x) == avoid.end();
    };
    if (!options.substitute.empty()) {
      for (const auto& x : index) {
        if (x.sop == options.substitute && allowed(x)) return &x;
      }
      return nullptr;
    }
    const auto at = static_cast<std::size_t>(&asked - index.data());
    const auto pick = [&](auto&& fits) -> const Instance* {
      for (std::size_t k = 1; k < index.size(); ++k) {  // the next ones after it, wrapping around
        const Instance& x = index[(at + k) % index.size()];
        if (allowed(x) && fits(x)) return &x;
      }
      return nullptr;
    };
    if (const auto* x =
            pick([&](const Instance& i) { return i.sopClass == asked.sopClass && i.series == asked.series; }))
      return x;
    if (const auto* x = pick([&](const Instance& i) { return i.sopClass == asked.sopClass; })) return x;
    return pick([](const Instance&) { return true; });
  }

  [[nodiscard]] bool hostileFor(const std::vector<const Instance*>& asked) const {
    if (asked.empty()) return false;
    switch (options.only) {
      case Only::All: return true;
      case Only::Models: return std::all_of(asked.begin(), asked.end(), [](const Instance* i) { return i->isModel(); });
      case Only::Images:
        return std::none_of(asked.begin(), asked.end(), [](const Instance* i) { return i->isModel(); });
    }
    return false;
  }
};

// ---- C-FIND -----------------------------------------------------------------------------------

struct FindJob {
  const Server* server{nullptr};
  T_ASC_Association* assoc{nullptr};
  T_ASC_PresentationContextID presId{0};
  DIC_US messageId{0};
  std::string peer;
  Level level{Level::Study};
  std::string keys;
  std::vector<std::unique_ptr<DcmDataset>> matches;
  std::size_t sent{0};
  std::size_t synthetic{0};  // synthetic responses sent
  std::string outcome;       // how it ended, for the log
};

// Waits @p seconds before the next dribbled response; false when the C-FIND must end (outcome set).
bool dribbleWait(FindJob& job, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (stopRequested) {
      job.outcome = "stopped (SIGTERM) after " + std::to_string(job.sent) + " responses";
      return false;
    }
    const OFCondition cond = DIMSE_checkForCancelRQ(job.assoc, job.presId, job.messageId);
    if (cond.good()) {
      job.outcome = "C-CANCEL received after " + std::to_string(job.sent) + " responses: answered Cancel";
      return false;
    }
    if (cond != DIMSE_NODATAAVAILABLE) {
      job.outcome = "the peer went away after " + std::to_string(job.sent) + " responses (" + text(cond) + ")";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void findCallback(void* data, OFBool cancelled, T_DIMSE_C_FindRQ* /*request*/, DcmDataset* ids, int responseCount,
                  T_DIMSE_C_FindRSP* rsp, DcmDataset** rspIds, DcmDataset** /*statusDetail*/) {
  FindJob& job = *static_cast<FindJob*>(data);
  const Options& o = job.server->options;
  if (responseCount == 1) {
    const auto level = ids != nullptr ? levelOf(*ids) : std::nullopt;
    if (!level) {
      job.outcome = "refused: no or unsupported QueryRetrieveLevel (status 0xA900)";
      rsp->DimseStatus = STATUS_FIND_Error_DataSetDoesNotMatchSOPClass;
      return;
    }
    job.level = *level;
    job.keys = describeKeys(*ids);
    if (o.findFlood == 0 || o.findDribbleSeconds > 0) {
      for (const auto& unit : unitsAt(job.server->index, job.level)) {
        for (const Instance* in : unit.instances) {
          if (!instanceMatches(*ids, job.server->index, *in)) continue;
          job.matches.push_back(answerFor(*ids, job.level, job.server->index, *in));
          break;
        }
      }
    }
  }
  if (cancelled) {
    job.outcome = "C-CANCEL received after " + std::to_string(job.sent) + " responses: answered Cancel";
    rsp->DimseStatus = STATUS_FIND_Cancel_MatchingTerminatedDueToCancelRequest;
    return;
  }
  if (stopRequested) {
    job.outcome = "stopped (SIGTERM) after " + std::to_string(job.sent) + " responses";
    rsp->DimseStatus = STATUS_FIND_Failed_UnableToProcess;
    return;
  }
  const bool dribble = o.findDribbleSeconds > 0;
  if (dribble && job.sent > 0 && !dribbleWait(job, o.findDribbleSeconds)) {
    rsp->DimseStatus = job.outcome.rfind("C-CANCEL", 0) == 0
                           ? static_cast<DIC_US>(STATUS_FIND_Cancel_MatchingTerminatedDueToCancelRequest)
                           : static_cast<DIC_US>(STATUS_FIND_Failed_UnableToProcess);
    return;
  }
  if (job.sent < job.matches.size()) {
    *rspIds = job.matches[job.sent].release();
  } else if (o.findFlood > 0 ? job.synthetic < o.findFlood : dribble) {
    *rspIds = syntheticAnswer(*ids, job.level, ++job.synthetic).release();
  } else {
    job.outcome = "success after " + std::to_string(job.sent) + " responses";
    rsp->DimseStatus = STATUS_FIND_Success;
    return;
  }
  if (o.findHugeBytes > 0 && *rspIds != nullptr) {
    const std::string huge(o.findHugeBytes, 'x');
    (void)(*rspIds)->putAndInsertString(DCM_PatientComments, huge.c_str());
  }
  ++job.sent;
  rsp->DimseStatus = STATUS_FIND_Pending_MatchesAreContinuing;
}

OFCondition handleFind(const Server& server, T_ASC_Association* assoc, T_ASC_PresentationContextID presId,
                       T_DIMSE_C_FindRQ& rq, const std::string& peer) {
  FindJob job;
  job.server = &server;
  job.assoc = assoc;
  job.presId = presId;
  job.messageId = rq.MessageID;
  job.peer = peer;
  const auto& o = server.options;
  const OFCondition cond =
      DIMSE_findProvider(assoc, presId, &rq, findCallback, &job, DIMSE_NONBLOCKING, o.dimseTimeout);
  if (job.outcome.empty()) job.outcome = "ended after " + std::to_string(job.sent) + " responses";
  std::string mode;
  if (o.findFlood > 0 && o.findDribbleSeconds == 0) mode = " [flood " + std::to_string(o.findFlood) + "]";
  if (o.findDribbleSeconds > 0) mode = " [dribble 1 per " + seconds(o.findDribbleSeconds) + " s]";
  say("C-FIND " + std::string(levelName(job.level)) + " from " + peer + mode + ": " + job.keys + " -> " + job.outcome +
      (cond.bad() ? " (" + text(cond) + ")" : ""));
  return cond;
}

// ---- C-MOVE and C-GET -----------------------------------------------------------------------------

struct RetrieveJob {
  Server* server{nullptr};
  T_ASC_Association* assoc{nullptr};  // the requester's (C-GET sends on it)
  bool get{false};
  std::string peer, callingAe, destinationAe;
  DIC_US messageId{0};
  std::vector<const Instance*> toSend;
  std::size_t next{0};
  DIC_US completed{0}, failed{0}, warning{0};
  std::unique_ptr<OutgoingAssociation> sub;  // C-MOVE: to the destination
  std::string request, notes;
  Uint16 finalStatus{STATUS_Success};
};

std::vector<const Instance*> requested(const Server& server, DcmDataset& ids, Level level) {
  OFString study, series, sop;
  (void)ids.findAndGetOFStringArray(DCM_StudyInstanceUID, study);
  (void)ids.findAndGetOFStringArray(DCM_SeriesInstanceUID, series);
  (void)ids.findAndGetOFStringArray(DCM_SOPInstanceUID, sop);
  std::vector<const Instance*> out;
  for (const auto& in : server.index) {
    if (!valueMatches(study.c_str(), in.study, EVR_UI)) continue;
    if (level != Level::Study && !valueMatches(series.c_str(), in.series, EVR_UI)) continue;
    if (level == Level::Image && !valueMatches(sop.c_str(), in.sop, EVR_UI)) continue;
    out.push_back(&in);
  }
  return out;
}

std::string names(const std::vector<const Instance*>& v) {
  std::string out;
  for (const auto* in : v) out += (out.empty() ? "" : ", ") + in->name();
  return out.empty() ? "nothing" : out;
}

// The third AE: another instance C-STOREd to the move destination under a calling AE title not ours.
void pushAsThirdAe(const Server& server, const Destination& d, const Instance& rogue) {
  const auto& o = server.options;
  OutgoingAssociation a;
  bool rejected = false;
  const std::string problem = a.open(o.thirdAe, d, {&rogue}, o.dimseTimeout, rejected);
  const std::string who = "third-ae " + o.thirdAe + " -> " + d.toString() + ": ";
  if (!problem.empty()) {
    say(who + problem + "; " + rogue.name() + " not sent");
    return;
  }
  std::string error;
  const auto status = a.store(rogue, {}, 0, o.dimseTimeout, error);
  if (status) {
    say(who + "association accepted; C-STORE of " + rogue.name() + ": status " + hex(*status) +
        (*status == STATUS_Success ? " (stored)" : ""));
  } else {
    say(who + "association accepted; " + error);
  }
  a.release();
}

// First response: what to send, the hostile part, the sub-association. Returns Pending to go on.
Uint16 startRetrieve(RetrieveJob& job, DcmDataset* ids) {
  const Options& o = job.server->options;
  const auto level = ids != nullptr ? levelOf(*ids) : std::nullopt;
  if (!level) {
    job.notes = "refused: no or unsupported QueryRetrieveLevel";
    return STATUS_MOVE_Error_DataSetDoesNotMatchSOPClass;
  }
  job.request = std::string(levelName(*level)) + " " + describeKeys(*ids);
  const auto asked = requested(*job.server, *ids, *level);
  job.toSend = asked;
  std::optional<Destination> destination;
  if (!job.get) {
    const auto it = o.destinations.find(job.destinationAe);
    if (it == o.destinations.end()) {
      job.notes = "move destination " + job.destinationAe + " unknown (status 0xA801)";
      return STATUS_MOVE_Refused_MoveDestinationUnknown;
    }
    destination = it->second;
  }
  if (job.server->hostileFor(asked)) {
    if (o.moveWrong) {
      std::vector<const Instance*> instead;
      for (const Instance* a : asked) {
        const Instance* other = job.server->substituteFor(*a, asked);
        if (other == nullptr) {
          say("move-wrong: no other instance to send instead of " + a->name());
          continue;
        }
        say("move-wrong: sends " + other->name() + " instead of " + a->name());
        instead.push_back(other);
      }
      job.toSend = instead;
    }
    if (o.moveExtra) {
      const Instance* other = job.server->substituteFor(*asked.front(), job.toSend);
      if (other == nullptr) {
        say("move-extra: no other instance to send");
      } else {
        say("move-extra: sends " + other->name() + " as well as " + names(asked));
        job.toSend.push_back(other);
      }
    }
    if (!o.thirdAe.empty()) {
      const Instance* rogue = job.server->substituteFor(*asked.front(), {});
      if (job.get) {
        say("third-ae: a C-GET has no move destination: nothing sent as " + o.thirdAe);
      } else if (rogue == nullptr) {
        say("third-ae: no other instance to send as " + o.thirdAe);
      } else {
        pushAsThirdAe(*job.server, *destination, *rogue);
      }
    }
  }
  if (!job.get && !job.toSend.empty()) {
    job.sub = std::make_unique<OutgoingAssociation>();
    bool rejected = false;
    const std::string problem = job.sub->open(o.aeTitle, *destination, job.toSend, o.dimseTimeout, rejected);
    if (!problem.empty()) {
      job.notes = "cannot reach the move destination " + destination->toString() + ": " + problem;
      job.failed = static_cast<DIC_US>(job.toSend.size());
      job.toSend.clear();
      return STATUS_MOVE_Refused_OutOfResourcesSubOperations;
    }
  }
  return kPending;
}

void storeNext(RetrieveJob& job) {
  const Options& o = job.server->options;
  const Instance& in = *job.toSend[job.next++];
  std::string error;
  std::optional<Uint16> status;
  if (job.get) {
    DcmFileFormat ff;
    const OFCondition cond = ff.loadFile(OFFilename(in.file.c_str()));
    if (cond.bad()) {
      error = "cannot read " + in.file.string() + ": " + text(cond);
    } else {
      const std::string xfer = DcmXfer(ff.getDataset()->getOriginalXfer()).getXferID();
      T_ASC_PresentationContextID id =
          ASC_findAcceptedPresentationContextID(job.assoc, in.sopClass.c_str(), xfer.c_str());
      if (id == 0) id = ASC_findAcceptedPresentationContextID(job.assoc, in.sopClass.c_str());
      if (id == 0) {
        error = "the C-GET requester accepted no context for " + in.sopClass;
      } else {
        status = OutgoingAssociation::storeOn(job.assoc, id, in, *ff.getDataset(), job.callingAe, job.messageId,
                                              o.dimseTimeout, error);
      }
    }
  } else {
    status = job.sub->store(in, job.callingAe, job.messageId, o.dimseTimeout, error);
  }
  if (!status) {
    ++job.failed;
    job.notes += std::string(job.notes.empty() ? "" : "; ") + error;
  } else if (*status == STATUS_Success) {
    ++job.completed;
  } else if ((*status & 0xF000) == 0xB000) {
    ++job.warning;
  } else {
    ++job.failed;
    job.notes += std::string(job.notes.empty() ? "" : "; ") + "C-STORE of " + in.name() + ": status " + hex(*status);
  }
}

template <class Response>
void retrieveStep(RetrieveJob& job, OFBool cancelled, DcmDataset* ids, int responseCount, Response* rsp) {
  const auto fill = [&](Uint16 status) {
    rsp->DimseStatus = status;
    rsp->NumberOfRemainingSubOperations = static_cast<DIC_US>(job.toSend.size() - job.next);
    rsp->NumberOfCompletedSubOperations = job.completed;
    rsp->NumberOfFailedSubOperations = job.failed;
    rsp->NumberOfWarningSubOperations = job.warning;
    job.finalStatus = status;
  };
  if (responseCount == 1) {
    const Uint16 status = startRetrieve(job, ids);
    if (status != kPending) {
      fill(status);
      return;
    }
  }
  if (cancelled || stopRequested) {
    job.notes += std::string(job.notes.empty() ? "" : "; ") + (cancelled ? "C-CANCEL received" : "stopped (SIGTERM)");
    fill(STATUS_MOVE_Cancel_SubOperationsTerminatedDueToCancelIndication);
    if (job.sub) job.sub->release();
    return;
  }
  if (job.next < job.toSend.size()) {
    storeNext(job);
    if (job.next < job.toSend.size()) {
      fill(kPending);
      return;
    }
  }
  if (job.sub) job.sub->release();
  const std::size_t total = job.toSend.size();
  if (job.failed > 0 && static_cast<std::size_t>(job.failed) == total) {
    fill(STATUS_MOVE_Refused_OutOfResourcesSubOperations);
  } else if (job.failed > 0 || job.warning > 0) {
    fill(STATUS_MOVE_Warning_SubOperationsCompleteOneOrMoreFailures);
  } else {
    fill(STATUS_Success);
  }
}

void moveCallback(void* data, OFBool cancelled, T_DIMSE_C_MoveRQ* /*request*/, DcmDataset* ids, int responseCount,
                  T_DIMSE_C_MoveRSP* rsp, DcmDataset** /*statusDetail*/, DcmDataset** /*rspIds*/) {
  retrieveStep(*static_cast<RetrieveJob*>(data), cancelled, ids, responseCount, rsp);
}

void getCallback(void* data, OFBool cancelled, T_DIMSE_C_GetRQ* /*request*/, DcmDataset* ids, int responseCount,
                 T_DIMSE_C_GetRSP* rsp, DcmDataset** /*statusDetail*/, DcmDataset** /*rspIds*/) {
  retrieveStep(*static_cast<RetrieveJob*>(data), cancelled, ids, responseCount, rsp);
}

void logRetrieve(const RetrieveJob& job, const OFCondition& cond) {
  std::string line = std::string(job.get ? "C-GET" : "C-MOVE") + " from " + job.peer +
                     (job.get ? "" : " to " + job.destinationAe) + ": " + job.request + " -> sent " +
                     names(job.toSend) + "; status " + hex(job.finalStatus) + ", " + std::to_string(job.completed) +
                     " completed, " + std::to_string(job.failed) + " failed, " + std::to_string(job.warning) +
                     " warning";
  if (!job.notes.empty()) line += " (" + job.notes + ")";
  if (cond.bad()) line += " [" + text(cond) + "]";
  say(line);
}

// ---- associations -------------------------------------------------------------------------------

const char* const kQueryRetrieveClasses[] = {UID_VerificationSOPClass, UID_FINDStudyRootQueryRetrieveInformationModel,
                                             UID_MOVEStudyRootQueryRetrieveInformationModel,
                                             UID_GETStudyRootQueryRetrieveInformationModel};

bool isQueryRetrieveClass(const char* uid) {
  return std::any_of(std::begin(kQueryRetrieveClasses), std::end(kQueryRetrieveClasses),
                     [&](const char* c) { return std::string(c) == uid; });
}

// Accepts Verification and Q/R (uncompressed), and storage classes in the SCP role for C-GET.
OFCondition negotiate(T_ASC_Association* assoc) {
  const int n = ASC_countPresentationContexts(assoc->params);
  for (int i = 0; i < n; ++i) {
    T_ASC_PresentationContext pc;
    OFCondition cond = ASC_getPresentationContext(assoc->params, i, &pc);
    if (cond.bad()) return cond;
    const bool qr = isQueryRetrieveClass(pc.abstractSyntax);
    const bool getStorage = !qr && dcmIsaStorageSOPClassUID(pc.abstractSyntax, ESSC_All) &&
                            (pc.proposedRole == ASC_SC_ROLE_SCP || pc.proposedRole == ASC_SC_ROLE_SCUSCP);
    if (!qr && !getStorage) {
      cond = ASC_refusePresentationContext(assoc->params, pc.presentationContextID, ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
      if (cond.bad()) return cond;
      continue;
    }
    const char* chosen = nullptr;
    for (const char* ts : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
      for (int j = 0; j < pc.transferSyntaxCount && chosen == nullptr; ++j) {
        if (std::string(pc.proposedTransferSyntaxes[j]) == ts) chosen = ts;
      }
      if (chosen != nullptr) break;
    }
    if (chosen == nullptr) {
      cond = ASC_refusePresentationContext(assoc->params, pc.presentationContextID, ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
    } else {
      cond = ASC_acceptPresentationContext(assoc->params, pc.presentationContextID, chosen,
                                           getStorage ? pc.proposedRole : ASC_SC_ROLE_DEFAULT);
    }
    if (cond.bad()) return cond;
  }
  return EC_Normal;
}

void serveAssociation(Server& server, T_ASC_Association* assoc, const std::string& peer, const std::string& callingAe) {
  const Options& o = server.options;
  bool done = false;
  while (!done) {
    T_ASC_PresentationContextID presId = 0;
    T_DIMSE_Message msg{};
    const OFCondition cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &presId, &msg, nullptr);
    if (cond == DIMSE_NODATAAVAILABLE) {
      if (stopRequested) {
        say("association from " + peer + ": aborted (stopping)");
        (void)ASC_abortAssociation(assoc);
        done = true;
      }
      continue;
    }
    if (cond == DUL_PEERREQUESTEDRELEASE) {
      (void)ASC_acknowledgeRelease(assoc);
      break;
    }
    if (cond == DUL_PEERABORTEDASSOCIATION) {
      say("association from " + peer + ": aborted by the peer");
      break;
    }
    if (cond.bad()) {
      say("association from " + peer + ": " + text(cond) + "; aborted");
      (void)ASC_abortAssociation(assoc);
      break;
    }
    OFCondition provided = EC_Normal;  // a request that failed on the network ends the association
    switch (msg.CommandField) {
      case DIMSE_C_ECHO_RQ:
        say("C-ECHO from " + peer);
        provided = DIMSE_sendEchoResponse(assoc, presId, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
        break;
      case DIMSE_C_FIND_RQ: provided = handleFind(server, assoc, presId, msg.msg.CFindRQ, peer); break;
      case DIMSE_C_MOVE_RQ: {
        RetrieveJob job;
        job.server = &server;
        job.assoc = assoc;
        job.peer = peer;
        job.callingAe = callingAe;
        job.destinationAe = trim(msg.msg.CMoveRQ.MoveDestination);
        job.messageId = msg.msg.CMoveRQ.MessageID;
        const OFCondition c =
            DIMSE_moveProvider(assoc, presId, &msg.msg.CMoveRQ, moveCallback, &job, DIMSE_NONBLOCKING, o.dimseTimeout);
        job.sub.reset();
        logRetrieve(job, c);
        provided = c;
        break;
      }
      case DIMSE_C_GET_RQ: {
        RetrieveJob job;
        job.server = &server;
        job.assoc = assoc;
        job.get = true;
        job.peer = peer;
        job.callingAe = callingAe;
        job.messageId = msg.msg.CGetRQ.MessageID;
        const OFCondition c =
            DIMSE_getProvider(assoc, presId, &msg.msg.CGetRQ, getCallback, &job, DIMSE_NONBLOCKING, o.dimseTimeout);
        logRetrieve(job, c);
        provided = c;
        break;
      }
      case DIMSE_C_CANCEL_RQ: say("C-CANCEL from " + peer + " after its request had ended: ignored"); break;
      default:
        say("association from " + peer + ": unsupported command " + hex(static_cast<Uint16>(msg.CommandField)) +
            "; aborted");
        (void)ASC_abortAssociation(assoc);
        done = true;
        break;
    }
    if (!done && provided.bad()) {
      say("association from " + peer + ": ended (" + text(provided) + ")");
      (void)ASC_abortAssociation(assoc);
      done = true;
    }
  }
  (void)ASC_dropSCPAssociation(assoc);
  (void)ASC_destroyAssociation(&assoc);
}

// Receives one association (or times out after a second); hands an accepted one to a thread.
void acceptOne(Server& server, T_ASC_Network* net, std::list<std::pair<std::thread, std::shared_ptr<bool>>>& workers,
               std::mutex& workersMutex) {
  T_ASC_Association* assoc = nullptr;
  OFCondition cond = ASC_receiveAssociation(net, &assoc, ASC_DEFAULTMAXPDU, nullptr, nullptr, OFFalse, DUL_NOBLOCK, 1);
  if (cond.bad()) {
    if (cond != DUL_NOASSOCIATIONREQUEST) say("receiving an association failed: " + text(cond));
    if (assoc != nullptr) {
      (void)ASC_dropSCPAssociation(assoc);
      (void)ASC_destroyAssociation(&assoc);
    }
    return;
  }
  char calling[65] = {}, called[65] = {}, address[128] = {}, ours[128] = {};
  (void)ASC_getAPTitles(assoc->params, calling, sizeof calling, called, sizeof called, nullptr, 0);
  (void)ASC_getPresentationAddresses(assoc->params, address, sizeof address, ours, sizeof ours);
  const std::string peer = std::string(calling) + "@" + address;
  if (trim(called) != server.options.aeTitle) {
    T_ASC_RejectParameters rej{ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                               ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED};
    (void)ASC_rejectAssociation(assoc, &rej);
    say("association from " + peer + " to " + trim(called) + ": rejected (we are " + server.options.aeTitle + ")");
    (void)ASC_dropSCPAssociation(assoc);
    (void)ASC_destroyAssociation(&assoc);
    return;
  }
  cond = negotiate(assoc);
  if (cond.good()) cond = ASC_acknowledgeAssociation(assoc);
  if (cond.bad()) {
    say("association from " + peer + ": negotiation failed: " + text(cond));
    (void)ASC_dropSCPAssociation(assoc);
    (void)ASC_destroyAssociation(&assoc);
    return;
  }
  auto finished = std::make_shared<bool>(false);
  const std::lock_guard lock(workersMutex);
  workers.emplace_back(std::thread([&server, assoc, peer, callingAe = trim(calling), finished, &workersMutex] {
                         serveAssociation(server, assoc, peer, callingAe);
                         const std::lock_guard done(workersMutex);
                         *finished = true;
                       }),
                       finished);
}

}  // namespace

int main(int argc, char** argv) {
  Server server;
  server.options = parseOptions(argc, argv);
  const Options& o = server.options;
  // responses written in two parts must not wait for a delayed ACK (as the client does)
  (void)::setenv("TCP_NODELAY", "1", 0);
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::signal(SIGPIPE, SIG_IGN);
  dcmDisableGethostbyaddr.set(OFTrue);  // peers by address, without reverse lookups
  if (!dcmDataDict.isDictionaryLoaded()) {
    std::cerr << "hostile_pacs: no DICOM data dictionary loaded\n";
    return 1;
  }
  server.index = indexDirectory(o);

  T_ASC_Network* net = nullptr;
  const OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, o.port, o.dimseTimeout, &net);
  if (cond.bad()) {
    say("cannot listen on port " + std::to_string(o.port) + ": " + text(cond));
    return 1;
  }
  std::string modes;
  if (o.findFlood > 0) modes += " --find-flood " + std::to_string(o.findFlood);
  if (o.findDribbleSeconds > 0) modes += " --find-dribble " + seconds(o.findDribbleSeconds);
  if (o.findHugeBytes > 0) modes += " --find-huge " + std::to_string(o.findHugeBytes);
  if (o.moveWrong) modes += " --move-wrong";
  if (o.moveExtra) modes += " --move-extra";
  if (!o.thirdAe.empty()) modes += " --third-ae " + o.thirdAe;
  if (!o.describe.empty()) modes += " --describe (" + std::to_string(o.describe.size()) + ")";
  if (o.only != Only::All) modes += o.only == Only::Models ? " --only models" : " --only images";
  say("listening on port " + std::to_string(o.port) + " as " + o.aeTitle + ", " + std::to_string(server.index.size()) +
      " instance(s) from " + o.directory.string() + (modes.empty() ? ", well-behaved" : ";" + modes));
  if (!o.ready.empty()) std::ofstream(o.ready) << ::getpid() << "\n";

  std::list<std::pair<std::thread, std::shared_ptr<bool>>> workers;
  std::mutex workersMutex;
  while (!stopRequested) {
    acceptOne(server, net, workers, workersMutex);
    // join the threads whose association has ended
    std::vector<std::thread> ended;
    {
      const std::lock_guard lock(workersMutex);
      for (auto it = workers.begin(); it != workers.end();) {
        if (*it->second) {
          ended.push_back(std::move(it->first));
          it = workers.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& t : ended) t.join();
  }
  say("stopping (" + std::to_string(workers.size()) + " association(s) still open)");
  for (auto& [thread, finished] : workers) thread.join();
  (void)ASC_dropNetwork(&net);
  say("stopped");
  return 0;
}

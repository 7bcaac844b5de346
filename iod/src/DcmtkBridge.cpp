#include "iodeep/iod/DcmtkBridge.hpp"

#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Text.hpp"

namespace iodeep::iod::dcmtk {

void check(const OFCondition& cond, ErrorCode code, std::string_view what, ErrorContext context) {
  if (cond.bad()) throw Error(code, std::string(what) + ": " + cond.text(), std::move(context));
}

std::string tagString(const DcmTagKey& key) {
  return key.toString().c_str();
}

void registerDecoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // JPEG decoder: convert YBR to RGB and set PhotometricInterpretation accordingly.
    DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation);
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

void registerPrivateDictionary() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct Entry {
      std::uint8_t offset;
      DcmEVR vr;
      const char* name;
    };
    static constexpr std::array<Entry, 13> kEntries{{
        {element::kArchitecture, EVR_UT, "DnnArchitecture"},
        {element::kWeightsUri, EVR_UT, "DnnWeights"},
        {element::kName, EVR_LO, "DnnName"},
        {element::kUid, EVR_UI, "DnnUID"},
        {element::kVersion, EVR_LO, "DnnVersion"},
        {element::kDescription, EVR_UT, "DnnDescription"},
        {element::kWeightsFormat, EVR_CS, "DnnWeightsFormat"},
        {element::kWeightsSha256, EVR_LO, "DnnWeightsSHA256"},
        {element::kWeightsLength, EVR_UL, "DnnWeightsLength"},
        {element::kPredecessorUid, EVR_UI, "DnnPredecessorUID"},
        {element::kPredecessorSop, EVR_UI, "DnnPredecessorSOPInstanceUID"},
        {element::kTraining, EVR_UT, "DnnTraining"},
        {element::kWeightsPayload, EVR_OB, "DnnWeightsPayload"},
    }};
    DcmDataDictionary& dict = dcmDataDict.wrlock();
    const std::string creator(kPrivateCreator);
    for (const auto& e : kEntries) {
      // DCMTK's dictionary takes ownership of the entry (its documented API).
      // NOLINTNEXTLINE(cppcoreguidelines-owning-memory)
      dict.addEntry(new DcmDictEntry(kPrivateGroup, static_cast<Uint16>(0x1000U + e.offset), DcmVR(e.vr), e.name, 1, 1,
                                     "private", OFTrue, creator.c_str()));
    }
    dcmDataDict.wrunlock();
  });
}

std::shared_mutex& globalsMutex() {
  static std::shared_mutex m;
  return m;
}

std::optional<std::uint64_t> valueOffsetInFile(const DcmElement& element) {
  const DcmInputStreamFactory* factory = element.getInputStream();
  if (factory == nullptr || factory->ident() != DFT_DcmInputFileStreamFactory) return std::nullopt;
  const auto offset = static_cast<const DcmInputFileStreamFactory*>(factory)->getOffset();
  if (offset < 0) return std::nullopt;
  return static_cast<std::uint64_t>(offset);
}

namespace {

// True when DCMTK stopped because the file ends before what it declares: decided on the
// condition's module and code (OFCondition::operator== compares status, module and code, never
// the text). DCMTK 3.6.7 reports a value longer than what is left as EC_InvalidStream and a header
// cut short as EC_StreamNotifyClient ("I/O suspension or premature end of stream"); a sequence
// delimiter before an item's explicit length is read is EC_PrematureSequDelimitationItem.
bool endsEarly(const OFCondition& cond) {
  return cond == EC_StreamNotifyClient || cond == EC_PrematureSequDelimitationItem || cond == EC_InvalidStream ||
         cond == EC_ItemEnd;
}

std::unique_ptr<DcmFileFormat> load(const std::filesystem::path& path, std::uint32_t maxReadLength,
                                    const DcmTagKey& stopAt) {
  registerPrivateDictionary();
  const ErrorContext where{.file = path.string()};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ErrorCode::FileNotFound, "no such file", where);
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(ErrorCode::IoError, "not a regular file", where);
  auto file = std::make_unique<DcmFileFormat>();
  // ERM_autoDetect: the preamble is optional, the file meta group is read when the file starts
  // with it, and a data set without one is read in the syntax its first bytes show.
  OFCondition cond = EC_Normal;
  {
    // read with automatic input correction on (UIDs padded with NUL, odd lengths), whatever
    // another thread's network code did to the flag (globalsMutex)
    const std::shared_lock lock(globalsMutex());
    dcmEnableAutomaticInputDataCorrection.set(OFTrue);
    cond = file->loadFileUntilTag(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, maxReadLength, ERM_autoDetect,
                                  stopAt);
  }
  const bool meta = hasMetaInformation(*file);
  DcmDataset* ds = file->getDataset();
  // Without file meta information anything parses as a few elements: only a data set that names
  // its SOP class is taken for DICOM.
  const bool dicom = meta || (ds != nullptr && ds->tagExists(DCM_SOPClassUID));
  if (cond.bad()) {
    const bool truncated = endsEarly(cond);
    if (!dicom) throw Error(ErrorCode::NotDicom, std::string("not a DICOM file: ") + cond.text(), where);
    throw Error(truncated ? ErrorCode::TruncatedDicom : ErrorCode::NotDicom,
                std::string("cannot read DICOM") + (truncated ? " (truncated?)" : "") + ": " + cond.text(), where);
  }
  if (!dicom) {
    throw Error(ErrorCode::NotDicom, "not a DICOM file (no file meta information and no data set with a SOP class)",
                where);
  }
  return file;
}

}  // namespace

std::unique_ptr<DcmFileFormat> loadFile(const std::filesystem::path& path, std::uint32_t maxReadLength) {
  return load(path, maxReadLength, DCM_UndefinedTagKey);
}

std::unique_ptr<DcmFileFormat> loadFileUntil(const std::filesystem::path& path, const DcmTagKey& stopAt,
                                             std::uint32_t maxReadLength) {
  return load(path, maxReadLength, stopAt);
}

bool hasMetaInformation(DcmFileFormat& file) {
  DcmMetaInfo* meta = file.getMetaInfo();
  return meta != nullptr && meta->card() > 0;
}

std::string transferSyntaxOf(DcmFileFormat& file) {
  if (hasMetaInformation(file)) {
    std::string uid = getString(*file.getMetaInfo(), DCM_TransferSyntaxUID);
    if (!uid.empty()) return uid;
  }
  return DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
}

std::string getString(DcmItem& item, const DcmTagKey& key) {
  DcmElement* elem = nullptr;
  if (item.findAndGetElement(key, elem).bad() || elem == nullptr) return {};
  const DcmEVR vr = elem->ident();
  if (vr == EVR_UN || vr == EVR_OB || vr == EVR_OW) {
    Uint8* bytes = nullptr;
    if (elem->getUint8Array(bytes).bad() || bytes == nullptr) return {};
    std::string s(reinterpret_cast<const char*>(bytes), elem->getLength());
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
    return s;
  }
  OFString value;
  if (elem->getOFStringArray(value).bad()) return {};
  std::string s(value.c_str(), value.length());
  // a UI value padded with NUL read under another text VR (a private slot read as LO) keeps it
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

Utf8Text::Utf8Text(DcmItem& dataset) : charset_(getString(dataset, DCM_SpecificCharacterSet)) {
  while (!charset_.empty() && charset_.front() == '\\') charset_.erase(charset_.begin());  // empty first value
  while (!charset_.empty() && charset_.back() == ' ') charset_.pop_back();
  if (charset_.empty() || charset_ == "ISO_IR 6" || charset_ == "ISO_IR 192") return;
  converter_ = std::make_unique<DcmSpecificCharacterSet>();
  if (converter_->selectCharacterSet(dataset).bad()) converter_.reset();  // each value says whether it converts
}

Utf8Text::~Utf8Text() = default;

std::string Utf8Text::operator()(const std::string& raw, bool personName) {
  // plain ASCII needs nothing; ISO 2022 code extensions are 7-bit too, but start with ESC
  if (std::all_of(raw.begin(), raw.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80 && c != 0x1B; })) {
    return raw;
  }
  if (charset_ == "ISO_IR 192") return sanitizeUtf8(raw);
  if (charset_.empty() || charset_ == "ISO_IR 6") return latin1ToUtf8(raw);
  if (converter_) {
    OFString converted;
    if (converter_->convertString(OFString(raw.c_str(), raw.size()), converted, personName ? "\\^=" : "\\").good()) {
      return sanitizeUtf8(std::string(converted.c_str(), converted.length()));
    }
  }
  if (charset_.find("ISO 2022 IR 87") != std::string::npos || charset_.find("ISO 2022 IR 13") != std::string::npos ||
      charset_.find("ISO 2022 IR 159") != std::string::npos) {
    if (auto japanese = japaneseIso2022ToUtf8(raw)) return sanitizeUtf8(*japanese);
  }
  failed_ = true;
  return sanitizeUtf8(raw);
}

std::uint16_t findPrivateCreator(DcmItem& item, std::uint16_t group, std::string_view creator) {
  for (Uint16 e = 0x10; e <= 0xFF; ++e) {
    const std::string value = getString(item, DcmTagKey(group, e));
    // Private creator values are LO: compare without the padding space.
    std::string_view v(value);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v == creator) return e;
  }
  return 0;
}

}  // namespace iodeep::iod::dcmtk

#include <dcmtk/oflog/oflog.h>

#include "iodeep/iod/DateTime.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::iod {

std::pair<std::string, std::string> nowDicomDateTime() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::array<char, 16> date{};
  std::array<char, 16> time{};
  std::strftime(date.data(), date.size(), "%Y%m%d", &tm);
  std::strftime(time.data(), time.size(), "%H%M%S", &tm);
  return {date.data(), time.data()};
}

void setToolkitLogging(bool verbose) {
  OFLog::configure(verbose ? OFLogger::WARN_LOG_LEVEL : OFLogger::FATAL_LOG_LEVEL);
}

}  // namespace iodeep::iod

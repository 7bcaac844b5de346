// C-FIND identifiers both ways: query keys into a data set, response data sets into DicomRecords.
#include "Records.hpp"

#include <dcmtk/dcmdata/dctk.h>

#include <utility>

#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Text.hpp"

namespace iodeep::client {

namespace detail {

const char* levelName(QueryLevel level) {
  switch (level) {
    case QueryLevel::Study: return "STUDY";
    case QueryLevel::Series: return "SERIES";
    case QueryLevel::Image: return "IMAGE";
  }
  return "STUDY";
}

std::string trimmed(const OFString& s) {
  std::string v(s.c_str(), s.length());
  while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

namespace {

bool isCharsetText(DcmEVR vr) {
  return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_ST || vr == EVR_LT || vr == EVR_UT || vr == EVR_UC;
}

}  // namespace

DicomRecord toRecord(DcmDataset& ds) {
  DicomRecord r;
  iod::dcmtk::Utf8Text utf8(ds);  // text as UTF-8, from the response's SpecificCharacterSet
  for (unsigned long i = 0; i < ds.card(); ++i) {
    DcmElement* e = ds.getElement(i);
    if (e == nullptr) continue;
    const DcmTag& t = e->getTag();
    if (t.getGroup() == 0x0008 && t.getElement() == 0x0052) continue;  // QueryRetrieveLevel
    OFString value;
    if (e->ident() != EVR_SQ) (void)e->getOFStringArray(value);  // an empty value stays empty
    std::string text = trimmed(value);
    text = isCharsetText(e->ident()) ? utf8(text, e->ident() == EVR_PN) : iod::sanitizeUtf8(text);
    r.values.emplace_back(makeTag(t.getGroup(), t.getElement()), std::move(text));
  }
  return r;
}

void putKey(DcmDataset& ds, Tag tag, const std::string& value, const ErrorContext& where) {
  iod::dcmtk::check(
      ds.putAndInsertString(DcmTag(static_cast<Uint16>(tag >> 16U), static_cast<Uint16>(tag & 0xFFFFU)), value.c_str()),
      ErrorCode::InvalidArgument, "query key", where);
}

}  // namespace detail

std::string DicomRecord::get(Tag tag) const {
  for (const auto& [t, v] : values) {
    if (t == tag) return v;
  }
  return {};
}

bool DicomRecord::has(Tag tag) const {
  for (const auto& [t, v] : values) {
    if (t == tag) return true;
  }
  return false;
}

}  // namespace iodeep::client

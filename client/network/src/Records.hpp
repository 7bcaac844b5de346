#pragma once
// C-FIND identifiers: query keys into a DCMTK data set, a response data set into a DicomRecord.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/ofstd/ofstring.h>

#include <string>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

/// The Query/Retrieve Level value of @p level ("STUDY", "SERIES", "IMAGE").
const char* levelName(QueryLevel level);
/// @p s without its padding (trailing spaces and NULs, leading spaces).
std::string trimmed(const OFString& s);
/// A C-FIND response's identifier as a record, its text as UTF-8 (Query/Retrieve Level left out).
DicomRecord toRecord(DcmDataset& ds);
/// Puts @p value under @p tag into @p ds; Error(InvalidArgument) with @p where when it cannot.
void putKey(DcmDataset& ds, Tag tag, const std::string& value, const ErrorContext& where);

}  // namespace iodeep::client::detail

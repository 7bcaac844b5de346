#pragma once
// Which transfer syntaxes and storage classes our associations propose and our storage SCP accepts.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/ofstd/oflist.h>
#include <dcmtk/ofstd/ofstring.h>

#include <string>
#include <vector>

namespace iodeep::client::detail {

/// The syntaxes of requests (C-ECHO/FIND/MOVE/GET): uncompressed only.
OFList<OFString> requestSyntaxes();
/// The uncompressed syntaxes we accept for instances we receive.
OFList<OFString> uncompressedStorageSyntaxes();
/// The compressed syntaxes we accept for instances we receive (those the slice decoder reads).
const std::vector<const char*>& compressedStorageSyntaxes();
/// uncompressedStorageSyntaxes() then compressedStorageSyntaxes().
OFList<OFString> acceptedStorageSyntaxes();
/// The storage classes offered for C-GET when the caller names none.
const std::vector<std::string>& defaultStorageClasses();

}  // namespace iodeep::client::detail

#pragma once
// Private to iod: the DCMTK bridge. Nothing here appears in a public header.

#include <dcmtk/dcmdata/dctk.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod::dcmtk {

/// Throws Error(@p code) "<context>: <DCMTK text>" when @p cond is bad.
void check(const OFCondition& cond, ErrorCode code, std::string_view context);

/// Registers the IODeep private dictionary entries once per process, so that Implicit VR
/// copies made by a PACS still read with the right VRs.
void registerPrivateDictionary();

/// True when @p path starts with the 128-byte preamble and "DICM".
bool hasPart10Prefix(const std::filesystem::path& path);

/// Loads a DICOM Part 10 file (preamble + "DICM" required). Large values stay in the file until
/// accessed. Throws Error(FileNotFound, NotDicom, TruncatedDicom).
std::unique_ptr<DcmFileFormat> loadPart10(const std::filesystem::path& path);

/// String value of an element, or empty when absent. Works for text VRs and for UN/OB values
/// holding text (private tags read without a dictionary).
std::string getString(DcmItem& item, const DcmTagKey& key);

/// Finds the element (gggg,0010-00FF) whose value is @p creator; 0 when absent.
std::uint16_t findPrivateCreator(DcmItem& item, std::uint16_t group, std::string_view creator);

}  // namespace iodeep::iod::dcmtk

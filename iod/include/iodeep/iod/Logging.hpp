#pragma once
/// @file Logging.hpp
/// The DICOM toolkit's own log. Our errors already carry what went wrong and where, so the
/// command-line tools silence the toolkit unless asked (IODEEP_DCMTK_LOG set).

namespace iodeep::iod {

/// @p verbose true: the toolkit logs warnings and errors to stderr; false: only fatal messages.
void setToolkitLogging(bool verbose);

}  // namespace iodeep::iod

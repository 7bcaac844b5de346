#pragma once
/// @file Logging.hpp
/// Two logs. The DICOM toolkit's own log: our errors already carry what went wrong and where, so
/// the command-line tools silence the toolkit unless asked (IODEEP_DCMTK_LOG set). And our
/// warnings: things that did not stop the work but that the user must be able to see (an
/// instance a peer sent that nobody asked for, discarded; a C-FIND answer cut at its cap).

#include <functional>
#include <string>
#include <string_view>

namespace iodeep::iod {

/// @p verbose true: the toolkit logs warnings and errors to stderr; false: only fatal messages.
void setToolkitLogging(bool verbose);

/// Where warnings go: one line each, without a trailing newline. The default handler writes
/// "iodeep: warning: <line>" to stderr. Thread-safe; an empty handler restores the default.
using WarningHandler = std::function<void(std::string_view line)>;
void setWarningHandler(WarningHandler handler);

/// Reports one warning line to the current handler (never throws).
void warn(std::string_view line) noexcept;

}  // namespace iodeep::iod

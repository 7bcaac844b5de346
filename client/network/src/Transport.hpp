#pragma once
// The plain TCP transport (no DICOM TLS) of our associations and of our storage SCP.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/dcmlayer.h>

namespace iodeep::client::detail {

/// The transport layer without DICOM TLS: its connections acknowledge at once what they read and
/// honour this thread's read limits (ReadGuard, DicomTls.hpp). Lives as long as the process.
DcmTransportLayer& quickAckLayer();

}  // namespace iodeep::client::detail

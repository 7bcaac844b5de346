#pragma once
// DICOM date-time (DT) and ISO 8601 UTC text, read and written; shared by the signature report
// (Signature.cpp) and the trust decision (CertificateTrust.cpp). Private to iod/src.

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace iodeep::iod::detail {

/// @p t as UTC "YYYY-MM-DDTHH:MM:SSZ".
[[nodiscard]] std::string formatUtc(std::time_t t);

/// A DICOM DT value read: the instant, and whether the value carried a UTC offset.
struct ParsedTime {
  std::time_t utc{0};
  bool hasOffset{false};
};

/// A DICOM DT value "YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]" (PS3.5 6.2). Without an offset the
/// value is taken as UTC (hasOffset false). nullopt when it cannot be read.
[[nodiscard]] std::optional<ParsedTime> parseDicomDateTime(std::string_view dt);

/// "YYYY-MM-DDTHH:MM:SS" with an optional "Z", as UTC; nullopt when it cannot be read.
[[nodiscard]] std::optional<std::time_t> parseIso(std::string_view s);

/// DigitalSignatureDateTime as the report shows it: UTC with "Z" when the value has an offset,
/// else as stored (no "Z"); the raw value when it cannot be read.
[[nodiscard]] std::string signingTimeText(const std::string& dt);

}  // namespace iodeep::iod::detail

#pragma once
// The JSON form of a SignatureCheck, for the reports that embed it (inspect, rtstruct show).
// Private to client/core: names nlohmann-json.

#include <nlohmann/json.hpp>

#include "iodeep/client/Signing.hpp"

namespace iodeep::client {

[[nodiscard]] nlohmann::json signatureCheckJson(const SignatureCheck& check);

}  // namespace iodeep::client

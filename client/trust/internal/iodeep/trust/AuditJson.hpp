#pragma once
// Private to the client modules: an audit event as the JSON object of its line in the log (what
// Audit.cpp writes and reads; the outbox keeps one in each set's record for the store's event).

#include <nlohmann/json.hpp>

#include "iodeep/trust/Audit.hpp"

namespace iodeep::client {

[[nodiscard]] nlohmann::json auditEventToJson(const AuditEvent& event);
/// Throws nlohmann::json::exception for a missing "time" or "event", or a wrongly typed field.
[[nodiscard]] AuditEvent auditEventFromJson(const nlohmann::json& json);

}  // namespace iodeep::client

#pragma once
// Private to the client modules (names nlohmann-json): signatures as JSON, for the model cache's
// index (a SignatureReport read back) and for the reports that embed a SignatureCheck (inspect,
// rtstruct show).
#include <nlohmann/json.hpp>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/trust/Signing.hpp"

namespace iodeep::client::detail {

inline nlohmann::json toJson(const iod::CertificateInfo& c) {
  return {{"subject", c.subject},           {"issuer", c.issuer},
          {"serialNumber", c.serialNumber}, {"notBefore", c.notBefore},
          {"notAfter", c.notAfter},         {"sha256Fingerprint", c.sha256Fingerprint},
          {"keyType", c.keyType},           {"pem", c.pem}};
}

inline iod::CertificateInfo certificateFromJson(const nlohmann::json& j) {
  return iod::CertificateInfo{j.at("subject").get<std::string>(),      j.at("issuer").get<std::string>(),
                              j.at("serialNumber").get<std::string>(), j.at("notBefore").get<std::string>(),
                              j.at("notAfter").get<std::string>(),     j.at("sha256Fingerprint").get<std::string>(),
                              j.at("keyType").get<std::string>(),      j.at("pem").get<std::string>()};
}

inline nlohmann::json toJson(const iod::SignatureInfo& s) {
  return {{"verified", s.verified},
          {"coversWholeDataset", s.coversWholeDataset},
          {"problem", s.problem},
          {"unsignedAttributes", s.unsignedAttributes},
          {"macAlgorithm", s.macAlgorithm},
          {"signatureAlgorithm", s.signatureAlgorithm},
          {"signingDateTime", s.signingDateTime},
          {"uid", s.uid},
          {"macIdNumber", s.macIdNumber},
          {"profile", s.profile},
          {"signer", toJson(s.signer)}};
}

inline nlohmann::json toJson(const iod::SignatureReport& report) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : report.signatures) list.push_back(toJson(s));
  return list;
}

inline iod::SignatureReport signatureReportFromJson(const nlohmann::json& list) {
  iod::SignatureReport report;
  for (const auto& j : list) {
    iod::SignatureInfo s;
    s.verified = j.at("verified").get<bool>();
    s.coversWholeDataset = j.at("coversWholeDataset").get<bool>();
    s.problem = j.at("problem").get<std::string>();
    s.macAlgorithm = j.at("macAlgorithm").get<std::string>();
    s.signatureAlgorithm = j.at("signatureAlgorithm").get<std::string>();
    s.signingDateTime = j.at("signingDateTime").get<std::string>();
    s.uid = j.at("uid").get<std::string>();
    s.macIdNumber = j.at("macIdNumber").get<std::uint16_t>();
    s.profile = j.at("profile").get<std::string>();
    s.unsignedAttributes = j.at("unsignedAttributes").get<std::vector<std::string>>();
    s.signer = certificateFromJson(j.at("signer"));
    report.signatures.push_back(std::move(s));
  }
  return report;
}

}  // namespace iodeep::client::detail

namespace iodeep::client {

[[nodiscard]] nlohmann::json signatureCheckJson(const SignatureCheck& check);

}  // namespace iodeep::client

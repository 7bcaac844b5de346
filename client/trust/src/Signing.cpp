#include "iodeep/trust/Signing.hpp"

#include <fstream>
#include <sstream>

#include "iodeep/iod/Error.hpp"
#include "iodeep/trust/SignatureJson.hpp"

namespace iodeep::client {

namespace {

std::string whoSigned(const iod::SignatureInfo& s) {
  return s.signer.subject.empty() ? std::string("an unknown signer") : s.signer.subject;
}

// "verified, covers the whole object" and the like, for the first line of a signature.
std::string verdict(const iod::SignatureInfo& s) {
  if (!s.verified) return "DOES NOT VERIFY: " + s.problem;
  if (!s.coversWholeDataset) return "verified, but DOES NOT COVER the whole object: " + s.problem;
  return "verified, covers the whole object (every attribute)";
}

std::string algorithms(const iod::SignatureInfo& s) {
  std::string text = s.signatureAlgorithm.empty() ? std::string("unknown algorithm") : s.signatureAlgorithm;
  // keyType is "RSA 3072", "EC prime256v1", ...: the key's size or curve
  const auto space = s.signer.keyType.find(' ');
  if (space != std::string::npos) {
    const std::string detail = s.signer.keyType.substr(space + 1);
    text += s.signer.keyType.rfind("EC ", 0) == 0 ? " (curve " + detail + ")" : " (" + detail + "-bit key)";
  }
  text += ", MAC " + (s.macAlgorithm.empty() ? std::string("unknown") : s.macAlgorithm);
  if (!s.profile.empty()) text += "; meets the " + s.profile + " profile";
  return text;
}

void signerLines(std::ostringstream& o, const iod::SignatureInfo& s) {
  o << "  signer:    " << (s.signer.subject.empty() ? "(no readable certificate)" : s.signer.subject) << "\n";
  if (s.signer.subject.empty()) return;
  o << "  issuer:    " << s.signer.issuer << "\n"
    << "  valid:     " << s.signer.notBefore << " to " << s.signer.notAfter << "\n"
    << "  signed at: " << (s.signingDateTime.empty() ? "(no date)" : s.signingDateTime) << "\n"
    << "  algorithm: " << algorithms(s) << "\n"
    << "  serial:    " << s.signer.serialNumber << "\n"
    << "  SHA-256:   " << s.signer.sha256Fingerprint << "\n";
}

}  // namespace

iod::SigningCredentials signingCredentials(const std::filesystem::path& privateKey,
                                           const std::filesystem::path& certificate,
                                           const std::filesystem::path& passphraseFile) {
  iod::SigningCredentials c{privateKey, certificate, {}};
  if (!passphraseFile.empty()) {
    std::ifstream in(passphraseFile, std::ios::binary);
    if (!in) {
      throw Error(ErrorCode::FileNotFound, "cannot read the passphrase file", {.file = passphraseFile.string()});
    }
    std::getline(in, c.passphrase);
    if (!c.passphrase.empty() && c.passphrase.back() == '\r') c.passphrase.pop_back();
  }
  return c;
}

SignResult signObject(const std::filesystem::path& input, const std::filesystem::path& output,
                      const iod::SigningCredentials& credentials) {
  return {input, output, iod::signFile(input, output, credentials)};
}

std::string SignResult::toText() const {
  std::ostringstream o;
  o << "signed " << input.string() << (input == output ? " in place" : " -> " + output.string()) << "\n";
  signerLines(o, signature);
  o << "  uid:       " << signature.uid << " (MAC ID " << signature.macIdNumber << ")\n";
  return o.str();
}

std::string SignResult::toJson() const {
  nlohmann::json j{{"input", input.string()}, {"output", output.string()}, {"signature", detail::toJson(signature)}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

SignatureCheck checkSignatures(const std::filesystem::path& file, const std::optional<iod::TrustAnchors>& anchors) {
  SignatureCheck c;
  c.report = iod::verifyFileSignatures(file);
  if (anchors) c.trust = iod::evaluateTrust(c.report, *anchors);
  return c;
}

bool SignatureCheck::ok() const noexcept {
  for (const auto& s : report.signatures) {
    if (!s.verified || !s.coversWholeDataset) return false;
  }
  return !trust || trust->trusted;
}

std::vector<SignatureProblem> SignatureCheck::problems() const {
  std::vector<SignatureProblem> out;
  for (std::size_t i = 0; i < report.signatures.size(); ++i) {
    const auto& s = report.signatures[i];
    if (!s.verified || !s.coversWholeDataset) {
      out.push_back({ErrorCode::SignatureInvalid,
                     "signature " + std::to_string(i + 1) + " by " + whoSigned(s) + ": " + s.problem});
    }
  }
  if (trust && !trust->trusted) out.push_back({trust->code, trust->reason});
  return out;
}

std::string SignatureCheck::toText() const {
  std::ostringstream o;
  if (report.unsignedObject()) o << "signatures:  not signed\n";
  for (std::size_t i = 0; i < report.signatures.size(); ++i) {
    const auto& s = report.signatures[i];
    o << "signature " << i + 1 << ": " << verdict(s) << "\n";
    signerLines(o, s);
  }
  if (trust) o << "trust:       " << trust->reason << "\n";
  return o.str();
}

std::string SignatureCheck::toJson() const {
  return signatureCheckJson(*this).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json signatureCheckJson(const SignatureCheck& check) {
  nlohmann::json j;
  j["signed"] = !check.report.unsignedObject();
  j["ok"] = check.ok();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : check.report.signatures) list.push_back(detail::toJson(s));
  j["signatures"] = list;
  if (check.trust) {
    j["trust"] = {{"trusted", check.trust->trusted},
                  {"code", check.trust->trusted ? "" : std::string(toString(check.trust->code))},
                  {"reason", check.trust->reason}};
  }
  return j;
}

}  // namespace iodeep::client

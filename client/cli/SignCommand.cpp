#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/trust/Signing.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

void SigningFlags::add(po::options_description& desc) {
  desc.add_options()("sign-key", po::value(&key), "sign the output with this private key (PEM)")(
      "sign-certificate", po::value(&certificate), "the signer's X.509 certificate (PEM), with --sign-key")(
      "sign-passphrase-file", po::value(&passphraseFile), "file whose first line is the key's passphrase");
}

std::optional<iod::SigningCredentials> SigningFlags::resolve() const {
  if (key.empty() && certificate.empty() && passphraseFile.empty()) return std::nullopt;
  if (key.empty() || certificate.empty()) {
    throw Error(ErrorCode::InvalidArgument, "--sign-key and --sign-certificate go together");
  }
  return client::signingCredentials(key, certificate, passphraseFile);
}

std::optional<iod::TrustAnchors> trustAnchors(const std::vector<std::string>& trusted) {
  if (trusted.empty()) return std::nullopt;
  iod::TrustAnchors anchors;
  for (const auto& t : trusted) anchors.certificates.emplace_back(t);
  return anchors;
}

int signCommand(const std::vector<std::string>& args) {
  std::string file;
  std::string key;
  std::string certificate;
  std::string passphraseFile;
  std::string output;
  po::options_description desc(
      "usage: iodeep sign FILE --key KEY.pem --certificate CERT.pem [--passphrase-file F] (-o OUT | --in-place)\n\n"
      "Adds a DICOM digital signature over every attribute of FILE (an IODeep object, an RT Structure Set, any\n"
      "DICOM file): MAC SHA256, RSA or ECDSA per the key, the certificate embedded, the signing time recorded.\n"
      "The file keeps its transfer syntax and earlier signatures (which must verify); the output is written\n"
      "atomically. Exit code 4 when the key or certificate cannot sign (SigningFailed), 3 when a file is\n"
      "missing. See docs/security.md.\n\nOptions");
  desc.add_options()                                                                                    //
      ("help,h", "show this help")                                                                      //
      ("key,k", po::value(&key), "the signer's private key (PEM)")                                      //
      ("certificate,c", po::value(&certificate), "the signer's X.509 certificate (PEM)")                //
      ("passphrase-file", po::value(&passphraseFile), "file whose first line is the key's passphrase")  //
      ("output,o", po::value(&output), "the signed file (written atomically)")                          //
      ("in-place", "replace FILE with the signed file (atomically)")                                    //
      ("json", "print the signature added as JSON")                                                     //
      ("file", po::value(&file), "the DICOM file to sign");
  po::positional_options_description pos;
  pos.add("file", 1);
  const auto parsed = parseOptions(args, desc, &pos);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  const bool inPlace = vm.count("in-place") != 0;
  if (file.empty() || key.empty() || certificate.empty()) {
    std::cerr << "iodeep sign: FILE, --key and --certificate are required (see 'iodeep sign --help')\n";
    return kExitUsage;
  }
  if (output.empty() == !inPlace) {
    std::cerr << "iodeep sign: give one of -o OUT or --in-place\n";
    return kExitUsage;
  }
  const auto credentials = client::signingCredentials(key, certificate, passphraseFile);
  const auto r =
      client::signObject(file, inPlace ? std::filesystem::path(file) : std::filesystem::path(output), credentials);
  std::cout << (vm.count("json") != 0 ? r.toJson() : r.toText());
  return kExitOk;
}

}  // namespace iodeep::cli

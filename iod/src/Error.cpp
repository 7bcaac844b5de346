#include "iodeep/iod/Error.hpp"

#include <initializer_list>

namespace iodeep {

std::string_view toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::FileNotFound: return "FileNotFound";
    case ErrorCode::IoError: return "IoError";
    case ErrorCode::OutputError: return "OutputError";
    case ErrorCode::NotDicom: return "NotDicom";
    case ErrorCode::TruncatedDicom: return "TruncatedDicom";
    case ErrorCode::NotIodeep: return "NotIodeep";
    case ErrorCode::MalformedIodeep: return "MalformedIodeep";
    case ErrorCode::LegacyIodeep: return "LegacyIodeep";
    case ErrorCode::ChecksumMismatch: return "ChecksumMismatch";
    case ErrorCode::DescriptionMismatch: return "DescriptionMismatch";
    case ErrorCode::InvalidJson: return "InvalidJson";
    case ErrorCode::InvalidPythonLiteral: return "InvalidPythonLiteral";
    case ErrorCode::InvalidSafetensors: return "InvalidSafetensors";
    case ErrorCode::UnsupportedDtype: return "UnsupportedDtype";
    case ErrorCode::NonFiniteWeights: return "NonFiniteWeights";
    case ErrorCode::UnsupportedWeights: return "UnsupportedWeights";
    case ErrorCode::InvalidArchitecture: return "InvalidArchitecture";
    case ErrorCode::UnknownLayerType: return "UnknownLayerType";
    case ErrorCode::UnsupportedLayer: return "UnsupportedLayer";
    case ErrorCode::DanglingInput: return "DanglingInput";
    case ErrorCode::CyclicGraph: return "CyclicGraph";
    case ErrorCode::ShapeMismatch: return "ShapeMismatch";
    case ErrorCode::ChannelMismatch: return "ChannelMismatch";
    case ErrorCode::ResourceLimit: return "ResourceLimit";
    case ErrorCode::WeightsMismatch: return "WeightsMismatch";
    case ErrorCode::TorchScriptRefused: return "TorchScriptRefused";
    case ErrorCode::UnsupportedImage: return "UnsupportedImage";
    case ErrorCode::IncompatibleImage: return "IncompatibleImage";
    case ErrorCode::MissingGeometry: return "MissingGeometry";
    case ErrorCode::NotRtStructureSet: return "NotRtStructureSet";
    case ErrorCode::MalformedRtStructureSet: return "MalformedRtStructureSet";
    case ErrorCode::SignatureInvalid: return "SignatureInvalid";
    case ErrorCode::UntrustedSigner: return "UntrustedSigner";
    case ErrorCode::UnsignedObject: return "UnsignedObject";
    case ErrorCode::SigningFailed: return "SigningFailed";
    case ErrorCode::PacsUnreachable: return "PacsUnreachable";
    case ErrorCode::AssociationRejected: return "AssociationRejected";
    case ErrorCode::DimseFailure: return "DimseFailure";
    case ErrorCode::NetworkError: return "NetworkError";
    case ErrorCode::Cancelled: return "Cancelled";
    case ErrorCode::TlsFailure: return "TlsFailure";
    case ErrorCode::DicomError: return "DicomError";
    case ErrorCode::TorchError: return "TorchError";
    case ErrorCode::NotSegmentation: return "NotSegmentation";
    case ErrorCode::MalformedSegmentation: return "MalformedSegmentation";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

// Exit codes are documented in docs/cli.md; keep both in step.
int exitCodeFor(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return kExitUsage;
    case ErrorCode::FileNotFound:
    case ErrorCode::IoError: return kExitInput;
    case ErrorCode::NotDicom:
    case ErrorCode::TruncatedDicom:
    case ErrorCode::NotIodeep:
    case ErrorCode::MalformedIodeep:
    case ErrorCode::LegacyIodeep:
    case ErrorCode::ChecksumMismatch:
    case ErrorCode::DescriptionMismatch:
    case ErrorCode::InvalidJson:
    case ErrorCode::InvalidPythonLiteral:
    case ErrorCode::InvalidSafetensors:
    case ErrorCode::UnsupportedDtype:
    case ErrorCode::NonFiniteWeights:
    case ErrorCode::UnsupportedWeights:
    case ErrorCode::InvalidArchitecture:
    case ErrorCode::UnknownLayerType:
    case ErrorCode::UnsupportedLayer:
    case ErrorCode::DanglingInput:
    case ErrorCode::CyclicGraph:
    case ErrorCode::ShapeMismatch:
    case ErrorCode::ChannelMismatch:
    case ErrorCode::ResourceLimit:
    case ErrorCode::WeightsMismatch:
    case ErrorCode::TorchScriptRefused:
    case ErrorCode::UnsupportedImage:
    case ErrorCode::IncompatibleImage:
    case ErrorCode::MissingGeometry:
    case ErrorCode::NotRtStructureSet:
    case ErrorCode::MalformedRtStructureSet:
    case ErrorCode::NotSegmentation:
    case ErrorCode::MalformedSegmentation:
    case ErrorCode::SignatureInvalid:
    case ErrorCode::UntrustedSigner:
    case ErrorCode::UnsignedObject:
    case ErrorCode::SigningFailed: return kExitContent;
    case ErrorCode::OutputError: return kExitOutput;
    case ErrorCode::PacsUnreachable:
    case ErrorCode::AssociationRejected:
    case ErrorCode::DimseFailure:
    case ErrorCode::NetworkError:
    case ErrorCode::Cancelled:
    case ErrorCode::TlsFailure: return kExitPacs;
    case ErrorCode::DicomError:
    case ErrorCode::TorchError:
    case ErrorCode::Internal: return kExitInternal;
  }
  return kExitInternal;
}

Error::Error(ErrorCode code, std::string detail, ErrorContext context)
    : std::runtime_error(""), code_(code), detail_(std::move(detail)), context_(std::move(context)) {
  render();
}

Error::Error(ErrorCode code, std::string detail, std::string layer, std::string pointer)
    : Error(code, std::move(detail), ErrorContext{.layer = std::move(layer), .pointer = std::move(pointer)}) {}

std::string renderWithContext(const ErrorContext& context, std::string_view detail) {
  std::string head = context.part;
  if (!context.layer.empty()) head += (head.empty() ? "" : ": ") + std::string("layer '") + context.layer + "'";
  if (!context.pointer.empty()) head += (head.empty() ? "(" : " (") + context.pointer + ")";
  std::string out;
  for (const std::string* s : std::initializer_list<const std::string*>{&context.peer, &context.file, &context.uid,
                                                                        &context.dicomTag, &head}) {
    if (!s->empty()) out += *s + ": ";
  }
  out += detail;
  if (!context.dimseStatus.empty()) out += " (status " + context.dimseStatus + ")";
  return out;
}

void Error::render() {
  rendered_ = renderWithContext(context_, detail_);
}

Error& Error::setOnce(std::string ErrorContext::*field, const std::string& value) {
  if ((context_.*field).empty()) context_.*field = value;  // the innermost, most precise value wins
  render();
  return *this;
}

Error& Error::inFile(const std::string& file) {
  return setOnce(&ErrorContext::file, file);
}

Error& Error::withUid(const std::string& uid) {
  return setOnce(&ErrorContext::uid, uid);
}

Error& Error::withTag(const std::string& tag) {
  return setOnce(&ErrorContext::dicomTag, tag);
}

Error& Error::withPeer(const std::string& peer) {
  return setOnce(&ErrorContext::peer, peer);
}

Error& Error::within(const std::string& part) {
  if (!part.empty()) context_.part = context_.part.empty() ? part : part + ": " + context_.part;
  render();
  return *this;
}

}  // namespace iodeep

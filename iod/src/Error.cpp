#include "iodeep/iod/Error.hpp"

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
    case ErrorCode::DicomError: return "DicomError";
    case ErrorCode::TorchError: return "TorchError";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

// Exit codes are documented in docs/cli.md; keep both in step.
int exitCodeFor(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return 2;
    case ErrorCode::FileNotFound:
    case ErrorCode::IoError: return 3;
    case ErrorCode::NotDicom:
    case ErrorCode::TruncatedDicom:
    case ErrorCode::NotIodeep:
    case ErrorCode::MalformedIodeep:
    case ErrorCode::LegacyIodeep:
    case ErrorCode::ChecksumMismatch:
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
    case ErrorCode::MissingGeometry: return 4;
    case ErrorCode::OutputError: return 5;
    case ErrorCode::DicomError:
    case ErrorCode::TorchError:
    case ErrorCode::Internal: return 70;
  }
  return 70;
}

}  // namespace iodeep

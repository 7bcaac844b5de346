// Transfer-syntax policy: what we propose for requests and accept for the instances we receive.
#include "TransferSyntaxes.hpp"

#include <dcmtk/dcmdata/dcuid.h>

namespace iodeep::client::detail {

// Requests (C-ECHO/FIND/MOVE/GET) travel uncompressed: Explicit VR first, Implicit VR always.
OFList<OFString> requestSyntaxes() {
  OFList<OFString> l;
  l.emplace_back(UID_LittleEndianExplicitTransferSyntax);
  l.emplace_back(UID_LittleEndianImplicitTransferSyntax);
  return l;
}

// What we accept for instances we receive: uncompressed always, and the compressed syntaxes the
// slice decoder reads (DCMTK's JPEG, JPEG-LS and RLE codecs; deflate is read by dcmdata; JPEG 2000
// by OpenJPEG, iod/src/Jpeg2000.cpp). A PACS that cannot transcode (Orthanc 1.10 has no JPEG 2000
// codec, dcmqrscp transcodes nothing) fails a retrieval whose stored syntax is not among them.
OFList<OFString> uncompressedStorageSyntaxes() {
  OFList<OFString> l = requestSyntaxes();
  l.emplace_back(UID_BigEndianExplicitTransferSyntax);
  l.emplace_back(UID_DeflatedExplicitVRLittleEndianTransferSyntax);
  return l;
}

const std::vector<const char*>& compressedStorageSyntaxes() {
  static const std::vector<const char*> syntaxes = {
      UID_JPEGProcess1TransferSyntax,     UID_JPEGProcess2_4TransferSyntax,       UID_JPEGProcess14TransferSyntax,
      UID_JPEGProcess14SV1TransferSyntax, UID_JPEGLSLosslessTransferSyntax,       UID_JPEGLSLossyTransferSyntax,
      UID_RLELosslessTransferSyntax,      UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax};
  return syntaxes;
}

OFList<OFString> acceptedStorageSyntaxes() {
  OFList<OFString> l = uncompressedStorageSyntaxes();
  for (const char* ts : compressedStorageSyntaxes()) l.emplace_back(ts);
  return l;
}

// The storage classes offered for C-GET when the caller names none: images this client reads,
// structure sets, and Raw Data (IODeep).
const std::vector<std::string>& defaultStorageClasses() {
  static const std::vector<std::string> classes = {UID_RawDataStorage,
                                                   UID_CTImageStorage,
                                                   UID_MRImageStorage,
                                                   UID_EnhancedCTImageStorage,
                                                   UID_EnhancedMRImageStorage,
                                                   UID_SecondaryCaptureImageStorage,
                                                   UID_RTStructureSetStorage,
                                                   UID_ComputedRadiographyImageStorage,
                                                   UID_DigitalXRayImageStorageForPresentation,
                                                   UID_UltrasoundImageStorage,
                                                   UID_PositronEmissionTomographyImageStorage,
                                                   UID_NuclearMedicineImageStorage,
                                                   UID_XRayAngiographicImageStorage};
  return classes;
}

}  // namespace iodeep::client::detail

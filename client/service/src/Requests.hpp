#pragma once
// The request bodies of the service (docs/service.md, docs/openapi.json), parsed and checked: a
// field that is missing, of the wrong type or out of range is a RequestError naming it (400).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "Exchange.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/selector/Selector.hpp"

namespace iodeep::service::detail {

/// A request the service refuses: its status and the field at fault (a JSON pointer-like path,
/// e.g. "proposals/2/rings/0/pixels", or "body").
struct RequestError : std::runtime_error {
  RequestError(unsigned httpStatus, const std::string& what, std::string fieldAtFault = {})
      : std::runtime_error(what), status(httpStatus), field(std::move(fieldAtFault)) {}
  unsigned status;
  std::string field;
};

/// POST /v1/select: {"Modality", "BodyPartExamined", "StudyDescription", "SamplesPerPixel",
/// "PhotometricInterpretation"} (DICOM keywords; Modality required).
[[nodiscard]] selector::SliceQuery parseSelectRequest(const std::string& body);

/// POST /v1/predict: by reference (JSON {"study", "series", "instance", "frame", "network"}) or
/// by value (Content-Type application/dicom; "network" and "frame" in the query string).
struct PredictRequest {
  bool byValue{false};
  std::string study, series, instance, network;
  std::int32_t frame{0};
};
[[nodiscard]] PredictRequest parsePredictRequest(const Request& request);

/// POST /v1/structure-sets: the slice by reference, the network, the proposals as /v1/predict
/// returned them (possibly edited), which are approved (0-based) and the reviewer.
struct ReviewRequest {
  std::string study, series, instance, dnnUid, reviewer;
  std::int32_t frame{0};
  std::vector<netparser::Proposal> proposals;
  std::vector<std::size_t> approved;
  std::string format{"rtstruct"};  ///< "rtstruct", "seg" or "both" (docs/seg.md)
};
[[nodiscard]] ReviewRequest parseReviewRequest(const std::string& body);

/// The proposals of a /v1/predict answer (the client's side), checked as a review's are.
[[nodiscard]] std::vector<netparser::Proposal> proposalsOf(const std::string& predictResponse);

/// Every point of @p proposals on the slice, edges included (pixel centres are whole numbers, so
/// -0.5..columns-0.5 and -0.5..rows-0.5), rings of 3 points or more.
void checkProposals(const std::vector<netparser::Proposal>& proposals, std::int64_t rows, std::int64_t columns);

}  // namespace iodeep::service::detail

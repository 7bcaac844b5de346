#include "Requests.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace iodeep::service::detail {

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxProposals = 1000;
constexpr std::size_t kMaxRingsPerProposal = 1000;
constexpr std::size_t kMaxPointsPerRing = 100000;
constexpr std::size_t kMaxPointsTotal = 2000000;

Json parseBody(const std::string& body) {
  if (body.empty()) throw RequestError(400, "the request has no body (a JSON object is expected)", "body");
  try {
    auto j = Json::parse(body);
    if (!j.is_object()) throw RequestError(400, "the body is not a JSON object", "body");
    return j;
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number too large
    throw RequestError(400, std::string("the body is not JSON: ") + e.what(), "body");
  }
}

// Keys of @p j not in @p known are refused (a misspelt key is not silently ignored).
void onlyKeys(const Json& j, std::initializer_list<const char*> known, const std::string& where) {
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) throw RequestError(400, "unknown field '" + key + "'", where + key);
    (void)value;
  }
}

std::string text(const Json& j, const char* key, const std::string& where, bool required, std::size_t maxLength) {
  if (!j.contains(key) || j.at(key).is_null()) {
    if (required) throw RequestError(400, std::string("'") + key + "' is required", where + key);
    return {};
  }
  if (!j.at(key).is_string()) throw RequestError(400, std::string("'") + key + "' must be a string", where + key);
  auto s = j.at(key).get<std::string>();
  if (s.size() > maxLength) {
    throw RequestError(400, std::string("'") + key + "' is longer than " + std::to_string(maxLength) + " characters",
                       where + key);
  }
  return s;
}

std::string uid(const Json& j, const char* key, const std::string& where, bool required) {
  auto s = text(j, key, where, required, 64);
  if (!s.empty() && (s.find_first_not_of("0123456789.") != std::string::npos || s.front() == '.' || s.back() == '.')) {
    throw RequestError(400, std::string("'") + key + "' is not a DICOM UID (digits and dots, at most 64)", where + key);
  }
  return s;
}

std::int64_t integer(const Json& j, const char* key, const std::string& where, std::int64_t min, std::int64_t max,
                     std::int64_t fallback) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  const auto& v = j.at(key);
  const auto fail = [&] {
    return RequestError(
        400,
        std::string("'") + key + "' must be a whole number from " + std::to_string(min) + " to " + std::to_string(max),
        where + key);
  };
  if (!v.is_number_integer()) throw fail();
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) throw fail();
    return static_cast<std::int64_t>(u);
  }
  const auto x = v.get<std::int64_t>();
  if (x < min || x > max) throw fail();
  return x;
}

double number(const Json& j, const char* key, const std::string& where, double fallback) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    throw RequestError(400, std::string("'") + key + "' must be a finite number", where + key);
  }
  return v.get<double>();
}

std::string queryValue(const std::string& query, const std::string& key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const auto end = std::min(query.find('&', at), query.size());
    const auto pair = query.substr(at, end - at);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string::npos ? std::string() : pair.substr(eq + 1);
    at = end + 1;
  }
  return {};
}

std::vector<netparser::Proposal> parseProposals(const Json& ps) {
  std::vector<netparser::Proposal> out;
  if (ps.size() > kMaxProposals) throw RequestError(413, "more than 1000 proposals", "proposals");
  std::size_t points = 0;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const std::string where = "proposals/" + std::to_string(i) + "/";
    const auto& pj = ps[i];
    if (!pj.is_object()) throw RequestError(400, "a proposal must be an object", where);
    onlyKeys(pj,
             {"label", "labelIndex", "color", "interpretedType", "areaPixels", "areaMm2", "meanProbability", "rings"},
             where);
    netparser::Proposal p;
    p.label.name = text(pj, "label", where, true, 64);
    if (p.label.name.empty()) throw RequestError(400, "'label' is empty", where + "label");
    p.label.index = integer(pj, "labelIndex", where, 0, 65535, 0);
    p.label.interpretedType = text(pj, "interpretedType", where, false, 16);
    if (p.label.interpretedType.empty()) p.label.interpretedType = "ORGAN";
    if (pj.contains("color")) {
      const auto& c = pj.at("color");
      if (!c.is_array() || c.size() != 3) throw RequestError(400, "'color' must be [r, g, b]", where + "color");
      for (std::size_t k = 0; k < 3; ++k) {
        if (!c[k].is_number_unsigned() || c[k].get<std::uint64_t>() > 255) {
          throw RequestError(400, "'color' values must be 0-255", where + "color");
        }
        p.label.color.at(k) = static_cast<std::uint8_t>(c[k].get<std::uint64_t>());
      }
    }
    p.areaPixels = integer(pj, "areaPixels", where, 0, std::int64_t{1} << 40U, 0);
    p.areaMm2 = number(pj, "areaMm2", where, -1.0);
    p.meanProbability = number(pj, "meanProbability", where, 0.0);
    if (!pj.contains("rings") || !pj.at("rings").is_array() || pj.at("rings").empty()) {
      throw RequestError(400, "'rings' must be a non-empty array", where + "rings");
    }
    const auto& rings = pj.at("rings");
    if (rings.size() > kMaxRingsPerProposal) throw RequestError(413, "too many rings", where + "rings");
    for (std::size_t k = 0; k < rings.size(); ++k) {
      const std::string rw = where + "rings/" + std::to_string(k) + "/";
      const auto& rj = rings[k];
      if (!rj.is_object()) throw RequestError(400, "a ring must be an object", rw);
      onlyKeys(rj, {"hole", "pixels", "patientMm"}, rw);
      iod::Ring ring;
      if (rj.contains("hole")) {
        if (!rj.at("hole").is_boolean()) throw RequestError(400, "'hole' must be true or false", rw + "hole");
        ring.hole = rj.at("hole").get<bool>();
      }
      if (!rj.contains("pixels") || !rj.at("pixels").is_array()) {
        throw RequestError(400, "'pixels' must be an array of [column, row]", rw + "pixels");
      }
      const auto& px = rj.at("pixels");
      if (px.size() > kMaxPointsPerRing || (points += px.size()) > kMaxPointsTotal) {
        throw RequestError(413, "too many points", rw + "pixels");
      }
      ring.points.reserve(px.size());
      for (const auto& pt : px) {
        if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number() ||
            !std::isfinite(pt[0].get<double>()) || !std::isfinite(pt[1].get<double>())) {
          throw RequestError(400, "a point must be [column, row], finite numbers", rw + "pixels");
        }
        ring.points.push_back({pt[0].get<double>(), pt[1].get<double>()});
      }
      p.rings.push_back(std::move(ring));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

selector::SliceQuery parseSelectRequest(const std::string& body) {
  const Json j = parseBody(body);
  onlyKeys(j, {"Modality", "BodyPartExamined", "StudyDescription", "SamplesPerPixel", "PhotometricInterpretation"}, "");
  selector::SliceQuery q;
  q.modality = text(j, "Modality", "", true, 16);
  if (q.modality.empty()) throw RequestError(400, "'Modality' is empty", "Modality");
  q.bodyPartExamined = text(j, "BodyPartExamined", "", false, 64);
  q.studyDescription = text(j, "StudyDescription", "", false, 64);
  const auto spp = integer(j, "SamplesPerPixel", "", 1, 3, 1);
  if (spp == 2) throw RequestError(400, "'SamplesPerPixel' must be 1 or 3", "SamplesPerPixel");
  q.samplesPerPixel = static_cast<std::uint16_t>(spp);
  q.photometricInterpretation = text(j, "PhotometricInterpretation", "", false, 16);
  return q;
}

PredictRequest parsePredictRequest(const Request& request) {
  PredictRequest p;
  const auto type = request.contentType.substr(0, request.contentType.find(';'));
  if (type == "application/dicom") {
    p.byValue = true;
    if (request.body.empty()) throw RequestError(400, "the body is empty (a DICOM Part 10 slice is expected)", "body");
    Json q = Json::object();
    if (const auto n = queryValue(request.query, "network"); !n.empty()) q["network"] = n;
    const auto frame = queryValue(request.query, "frame");
    if (!frame.empty()) {
      if (frame.size() > 6 || frame.find_first_not_of("0123456789") != std::string::npos) {
        throw RequestError(400, "'frame' must be a whole number from 0 to 999999", "frame");
      }
      q["frame"] = std::stoll(frame);
    }
    p.network = uid(q, "network", "", false);
    p.frame = static_cast<std::int32_t>(integer(q, "frame", "", 0, 999999, 0));
    return p;
  }
  if (type != "application/json") {
    throw RequestError(415, "Content-Type must be application/json (a reference) or application/dicom (the slice)",
                       "Content-Type");
  }
  const Json j = parseBody(request.body);
  onlyKeys(j, {"study", "series", "instance", "frame", "network"}, "");
  p.study = uid(j, "study", "", true);
  p.series = uid(j, "series", "", true);
  p.instance = uid(j, "instance", "", true);
  p.frame = static_cast<std::int32_t>(integer(j, "frame", "", 0, 999999, 0));
  p.network = uid(j, "network", "", false);
  return p;
}

ReviewRequest parseReviewRequest(const std::string& body) {
  const Json j = parseBody(body);
  onlyKeys(j, {"slice", "network", "proposals", "approved", "reviewer", "format"}, "");
  ReviewRequest r;
  if (j.contains("format")) {
    r.format = text(j, "format", "", true, 16);
    if (r.format != "rtstruct" && r.format != "seg" && r.format != "both") {
      throw RequestError(400, "'format' must be \"rtstruct\", \"seg\" or \"both\"", "format");
    }
  }
  if (!j.contains("slice") || !j.at("slice").is_object())
    throw RequestError(400, "'slice' object is required", "slice");
  const auto& s = j.at("slice");
  onlyKeys(s, {"study", "series", "instance", "frame"}, "slice/");
  r.study = uid(s, "study", "slice/", true);
  r.series = uid(s, "series", "slice/", true);
  r.instance = uid(s, "instance", "slice/", true);
  r.frame = static_cast<std::int32_t>(integer(s, "frame", "slice/", 0, 999999, 0));
  if (!j.contains("network") || !j.at("network").is_object()) {
    throw RequestError(400, "'network' object is required", "network");
  }
  onlyKeys(j.at("network"), {"dnnUid", "name", "version", "sopInstanceUid"}, "network/");
  r.dnnUid = uid(j.at("network"), "dnnUid", "network/", true);
  r.reviewer = text(j, "reviewer", "", true, 64);
  if (r.reviewer.empty()) throw RequestError(400, "'reviewer' is empty", "reviewer");
  if (!j.contains("proposals") || !j.at("proposals").is_array()) {
    throw RequestError(400, "'proposals' array is required", "proposals");
  }
  r.proposals = parseProposals(j.at("proposals"));
  if (!j.contains("approved") || !j.at("approved").is_array() || j.at("approved").empty()) {
    throw RequestError(400, "'approved' must list at least one proposal (0-based indices)", "approved");
  }
  for (const auto& a : j.at("approved")) {
    if (!a.is_number_unsigned() || a.get<std::uint64_t>() >= r.proposals.size()) {
      throw RequestError(400, "'approved' holds an index that is not one of the proposals", "approved");
    }
    const auto index = static_cast<std::size_t>(a.get<std::uint64_t>());
    if (std::find(r.approved.begin(), r.approved.end(), index) != r.approved.end()) {
      throw RequestError(400, "'approved' names a proposal twice", "approved");
    }
    r.approved.push_back(index);
  }
  std::sort(r.approved.begin(), r.approved.end());
  return r;
}

std::vector<netparser::Proposal> proposalsOf(const std::string& predictResponse) {
  Json j;
  try {
    j = Json::parse(predictResponse);
  } catch (const Json::exception& e) {
    throw RequestError(502, std::string("the answer is not JSON: ") + e.what(), "body");
  }
  if (!j.is_object() || !j.contains("proposals") || !j.at("proposals").is_array()) {
    throw RequestError(502, "the answer has no 'proposals' array", "proposals");
  }
  return parseProposals(j.at("proposals"));
}

void checkProposals(const std::vector<netparser::Proposal>& proposals, std::int64_t rows, std::int64_t columns) {
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    for (std::size_t k = 0; k < proposals[i].rings.size(); ++k) {
      const auto& ring = proposals[i].rings[k];
      const std::string where = "proposals/" + std::to_string(i) + "/rings/" + std::to_string(k) + "/pixels";
      if (ring.points.size() < 3) throw RequestError(422, "a ring needs 3 points or more", where);
      for (const auto& p : ring.points) {
        // pixel centres are whole numbers: the slice's outer edges lie at -0.5 and size - 0.5
        if (p.column < -0.5 || p.row < -0.5 || p.column > static_cast<double>(columns) - 0.5 ||
            p.row > static_cast<double>(rows) - 0.5) {
          throw RequestError(
              422,
              "a point lies outside the slice (" + std::to_string(columns) + " x " + std::to_string(rows) + " pixels)",
              where);
        }
      }
    }
  }
}

}  // namespace iodeep::service::detail

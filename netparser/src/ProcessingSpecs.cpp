// "preprocessing", "output" and "postprocessing" of our architecture format
// (docs/architecture-json.md).
#include <algorithm>
#include <iterator>
#include <set>

#include "ArchitectureInternal.hpp"
#include "ParamReader.hpp"

namespace iodeep::netparser::detail {

namespace {

using nlohmann::json;

// RT ROI Interpreted Type (3006,00A4): the defined terms.
constexpr std::string_view kInterpretedTypes[] = {"EXTERNAL",
                                                  "PTV",
                                                  "CTV",
                                                  "GTV",
                                                  "TREATED_VOLUME",
                                                  "IRRAD_VOLUME",
                                                  "OAR",
                                                  "BOLUS",
                                                  "AVOIDANCE",
                                                  "ORGAN",
                                                  "MARKER",
                                                  "REGISTRATION",
                                                  "ISOCENTER",
                                                  "CONTRAST_AGENT",
                                                  "CAVITY",
                                                  "BRACHY_CHANNEL",
                                                  "BRACHY_ACCESSORY",
                                                  "BRACHY_SRC_APP",
                                                  "BRACHY_CHNL_SHLD",
                                                  "SUPPORT",
                                                  "FIXATION",
                                                  "DOSE_REGION",
                                                  "CONTROL",
                                                  "DOSE_MEASUREMENT"};

PreprocessingSpec parsePreprocessing(const json& pre, const Limits& lim) {
  PreprocessingSpec p;
  static const std::set<std::string> keys = {"window", "normalize", "resize", "channels", "comment"};
  for (const auto& [k, v] : pre.items()) {
    if (keys.count(k) == 0)
      fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/" + escapePointer(k), "unknown key '" + k + "'");
  }
  if (const auto w = pre.find("window"); w != pre.end()) {
    if (!w->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "must be an object");
    ParamReader r(*w, "", "/preprocessing/window", lim);
    const auto mode = r.choice("mode", "none", {"none", "fixed", "percentile", "dicom"});
    if (mode == "fixed") {
      p.window = PreprocessingSpec::Window::Fixed;
      p.windowCenter = r.number("center", 0.0, -1e9, 1e9);
      p.windowWidth = r.number("width", 0.0, 1e-9, 1e9);
      if (!w->contains("center") || !w->contains("width")) {
        fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "a fixed window needs center and width");
      }
    } else if (mode == "percentile") {
      p.window = PreprocessingSpec::Window::Percentile;
      p.percentileLow = r.number("low", 1.0, 0.0, 100.0);
      p.percentileHigh = r.number("high", 99.0, 0.0, 100.0);
      if (p.percentileLow >= p.percentileHigh)
        fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "low must be below high");
    } else if (mode == "dicom") {
      p.window = PreprocessingSpec::Window::Dicom;
    }
    r.finish();
  }
  if (const auto n = pre.find("normalize"); n != pre.end()) {
    if (!n->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/normalize", "must be an object");
    ParamReader r(*n, "", "/preprocessing/normalize", lim);
    const auto mode = r.choice("mode", "none", {"none", "minmax", "zscore", "fixed"});
    p.normalize = mode == "minmax"   ? PreprocessingSpec::Normalize::MinMax
                  : mode == "zscore" ? PreprocessingSpec::Normalize::ZScore
                  : mode == "fixed"  ? PreprocessingSpec::Normalize::Fixed
                                     : PreprocessingSpec::Normalize::None;
    p.mean = r.number("mean", 0.0, -1e12, 1e12);
    p.std = r.number("std", 1.0, 1e-12, 1e12);
    r.finish();
  }
  if (const auto z = pre.find("resize"); z != pre.end()) {
    if (!z->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/resize", "must be an object");
    ParamReader r(*z, "", "/preprocessing/resize", lim);
    p.keepAspect = r.choice("mode", "pad", {"pad", "stretch"}) == "pad";
    p.padValue = r.number("pad_value", 0.0, -1e12, 1e12);
    r.touch("interpolation");
    r.finish();
  }
  if (const auto c = pre.find("channels"); c != pre.end()) {
    if (!c->is_string() || (*c != "strict" && *c != "replicate" && *c != "luminance" && *c != "adapt")) {
      fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/channels",
           "channels must be strict, replicate, luminance or adapt");
    }
    p.channels = *c == "replicate"   ? PreprocessingSpec::Channels::Replicate
                 : *c == "luminance" ? PreprocessingSpec::Channels::Luminance
                 : *c == "adapt"     ? PreprocessingSpec::Channels::Adapt
                                     : PreprocessingSpec::Channels::Strict;
  }
  return p;
}

// One entry of "/output/labels" (at @p ptr); @p seen collects the indices so far.
LabelSpec parseLabel(const json& l, const std::string& ptr, std::set<std::int64_t>& seen, const Limits& lim) {
  if (!l.is_object()) fail(ErrorCode::InvalidArchitecture, "", ptr, "a label must be an object");
  ParamReader lr(l, "", ptr, lim);
  LabelSpec spec;
  spec.index = lr.integer("index", std::nullopt, 0, lim.maxChannels);
  if (!seen.insert(spec.index).second)
    fail(ErrorCode::InvalidArchitecture, "", ptr + "/index", "duplicate label index");
  lr.touch("name");
  lr.touch("color");
  lr.touch("interpreted_type");
  lr.finish();
  const auto name = l.find("name");
  if (name == l.end() || !name->is_string() || name->get<std::string>().empty() ||
      name->get<std::string>().size() > 64) {
    fail(ErrorCode::InvalidArchitecture, "", ptr + "/name", "a label needs a name of 1-64 characters");
  }
  spec.name = name->get<std::string>();
  if (const auto c = l.find("color"); c != l.end()) {
    if (!c->is_array() || c->size() != 3)
      fail(ErrorCode::InvalidArchitecture, "", ptr + "/color", "color must be [r, g, b]");
    for (std::size_t k = 0; k < 3; ++k) {
      if (!(*c)[k].is_number_integer() || (*c)[k].get<std::int64_t>() < 0 || (*c)[k].get<std::int64_t>() > 255) {
        fail(ErrorCode::InvalidArchitecture, "", ptr + "/color/" + std::to_string(k), "colour components are 0-255");
      }
      spec.color[k] = static_cast<std::uint8_t>((*c)[k].get<std::int64_t>());
    }
  }
  if (const auto t = l.find("interpreted_type"); t != l.end()) {
    if (!t->is_string() || std::find(std::begin(kInterpretedTypes), std::end(kInterpretedTypes),
                                     t->get<std::string>()) == std::end(kInterpretedTypes)) {
      fail(ErrorCode::InvalidArchitecture, "", ptr + "/interpreted_type",
           "not an RT ROI Interpreted Type (e.g. ORGAN, GTV)");
    }
    spec.interpretedType = t->get<std::string>();
  }
  return spec;
}

OutputSpec parseOutput(const json& out, const Limits& lim) {
  OutputSpec o;
  ParamReader r(out, "", "/output", lim);
  const auto act = r.choice("activation", "sigmoid", {"none", "sigmoid", "softmax"});
  o.activation = act == "none"      ? OutputSpec::Activation::None
                 : act == "softmax" ? OutputSpec::Activation::Softmax
                                    : OutputSpec::Activation::Sigmoid;
  o.threshold = r.number("threshold", 0.5, -1e9, 1e9);
  r.touch("labels");
  r.finish();
  if (const auto labels = out.find("labels"); labels != out.end()) {
    if (!labels->is_array() || labels->size() > 1024)
      fail(ErrorCode::InvalidArchitecture, "", "/output/labels", "labels must be an array (at most 1024)");
    std::set<std::int64_t> seen;
    for (std::size_t i = 0; i < labels->size(); ++i) {
      o.labels.push_back(parseLabel((*labels)[i], "/output/labels/" + std::to_string(i), seen, lim));
    }
  }
  return o;
}

PostprocessingSpec parsePostprocessing(const json& post, const Limits& lim) {
  PostprocessingSpec p;
  ParamReader r(post, "", "/postprocessing", lim);
  p.minAreaMm2 = r.number("min_area_mm2", 0.0, 0.0, 1e12);
  p.minAreaPixels = r.number("min_area_px", 0.0, 0.0, 1e12);
  p.keepLargest = r.integer("keep_largest", 0, 0, 100000);
  p.fillHoles = r.boolean("fill_holes", false);
  p.simplifyPixels = r.number("simplify_px", 0.0, 0.0, 1000.0);
  r.finish();
  return p;
}

}  // namespace

void parseProcessingSpecs(const json& root, Architecture& arch, const Limits& limits) {
  for (const char* section : {"preprocessing", "output", "postprocessing"}) {
    if (const auto s = root.find(section); s != root.end() && !s->is_object()) {
      fail(ErrorCode::InvalidArchitecture, "", std::string("/") + section, std::string(section) + " must be an object");
    }
  }
  if (const auto it = root.find("preprocessing"); it != root.end())
    arch.preprocessing = parsePreprocessing(*it, limits);
  if (const auto it = root.find("output"); it != root.end()) arch.outputSpec = parseOutput(*it, limits);
  if (const auto it = root.find("postprocessing"); it != root.end())
    arch.postprocessing = parsePostprocessing(*it, limits);
}

}  // namespace iodeep::netparser::detail

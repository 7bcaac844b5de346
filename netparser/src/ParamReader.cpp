// Typed parameter reading with JSON pointers in errors (ParamReader.hpp).
#include "ParamReader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace iodeep::netparser::detail {

void fail(ErrorCode code, const std::string& layer, const std::string& pointer, const std::string& what) {
  throw Error(code, what, ErrorContext{.part = "architecture", .layer = layer, .pointer = pointer});
}

std::string escapePointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

std::int64_t ParamReader::integer(const std::string& key, std::optional<std::int64_t> fallback, std::int64_t min,
                                  std::int64_t max) {
  used_.insert(key);
  const auto it = obj_.find(key);
  if (it == obj_.end()) {
    if (!fallback) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "missing required integer '" + key + "'");
    return *fallback;
  }
  if (!it->is_number_integer())
    fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be an integer");
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail(ErrorCode::ResourceLimit, layer_, at(key), "'" + key + "' is too large");
  }
  const auto v = it->get<std::int64_t>();
  if (v < min)
    fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be at least " + std::to_string(min));
  if (v > max) {
    fail(ErrorCode::ResourceLimit, layer_, at(key),
         "'" + key + "' = " + std::to_string(v) + " exceeds the limit " + std::to_string(max));
  }
  return v;
}

double ParamReader::number(const std::string& key, double fallback, double min, double max) {
  used_.insert(key);
  const auto it = obj_.find(key);
  if (it == obj_.end()) return fallback;
  if (!it->is_number()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    fail(ErrorCode::InvalidArchitecture, layer_, at(key),
         "'" + key + "' must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

bool ParamReader::boolean(const std::string& key, bool fallback) {
  used_.insert(key);
  const auto it = obj_.find(key);
  if (it == obj_.end()) return fallback;
  if (!it->is_boolean()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be true or false");
  return it->get<bool>();
}

std::string ParamReader::choice(const std::string& key, const std::string& fallback,
                                std::initializer_list<std::string_view> allowed) {
  used_.insert(key);
  const auto it = obj_.find(key);
  if (it == obj_.end()) return fallback;
  if (!it->is_string()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be a string");
  auto v = it->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be one of: " + list);
  }
  return v;
}

std::int64_t ParamReader::padding(std::int64_t kernel, std::int64_t dilation, std::int64_t stride,
                                  std::int64_t fallback) {
  used_.insert("padding");
  const auto it = obj_.find("padding");
  if (it != obj_.end() && it->is_string()) {
    if (it->get<std::string>() != "same")
      fail(ErrorCode::InvalidArchitecture, layer_, at("padding"), "padding must be an integer or \"same\"");
    if (kernel % 2 == 0 || stride != 1) {
      fail(ErrorCode::InvalidArchitecture, layer_, at("padding"), "padding \"same\" needs an odd kernel and stride 1");
    }
    return dilation * (kernel - 1) / 2;
  }
  return integer("padding", fallback, 0, limits_.maxKernel);
}

void ParamReader::finish() const {
  for (const auto& [key, value] : obj_.items()) {
    if (used_.count(key) == 0 && key != "comment" && key != "$pointer") {
      fail(ErrorCode::InvalidArchitecture, layer_, at(key), "unknown parameter '" + key + "'");
    }
  }
}

}  // namespace iodeep::netparser::detail

#pragma once
// Private to netparser: the typed reading of one JSON object of our architecture format, with
// the layer id and JSON pointer in every error.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser::detail {

/// Throws Error(@p code, @p what) with part "architecture", @p layer and @p pointer as context
/// (rendered "architecture: layer '<layer>' (<pointer>): <what>").
[[noreturn]] void fail(ErrorCode code, const std::string& layer, const std::string& pointer, const std::string& what);

/// @p key escaped as one JSON pointer reference token ("~" -> "~0", "/" -> "~1").
[[nodiscard]] std::string escapePointer(std::string_view key);

/// Reads the typed parameters of one object (a layer, or a section such as "/input"), refusing
/// wrong types and values out of range; finish() refuses the keys nothing asked for.
class ParamReader {
 public:
  /// @p obj and @p limits must outlive the reader.
  ParamReader(const nlohmann::json& obj, std::string layer, std::string pointer, const Limits& limits)
      : obj_(obj), layer_(std::move(layer)), pointer_(std::move(pointer)), limits_(limits) {}

  /// Required when @p fallback is empty; below @p min is invalid, above @p max a ResourceLimit.
  std::int64_t integer(const std::string& key, std::optional<std::int64_t> fallback, std::int64_t min,
                       std::int64_t max);
  /// A finite number in [min, max].
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key, bool fallback);
  /// A string among @p allowed.
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<std::string_view> allowed);
  /// "padding": an integer, or "same" (odd kernels, stride 1).
  std::int64_t padding(std::int64_t kernel, std::int64_t dilation, std::int64_t stride, std::int64_t fallback);
  /// Marks @p key as known without reading it.
  void touch(const std::string& key) { used_.insert(key); }
  [[nodiscard]] const nlohmann::json& object() const { return obj_; }
  /// Unknown keys are typos: refuses them ("comment" and "$pointer" are always allowed).
  void finish() const;
  /// JSON pointer of @p key in this object.
  [[nodiscard]] std::string at(const std::string& key) const { return pointer_ + "/" + escapePointer(key); }

 private:
  const nlohmann::json& obj_;
  std::string layer_;
  std::string pointer_;
  const Limits& limits_;
  std::set<std::string> used_;
};

}  // namespace iodeep::netparser::detail

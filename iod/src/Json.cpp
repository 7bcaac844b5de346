#include "iodeep/iod/Json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"

namespace iodeep::iod {

namespace {

// "line:column" (1-based) of a byte offset in @p text.
std::string lineColumn(std::string_view text, std::size_t byteOffset) {
  std::size_t line = 1;
  std::size_t column = 1;
  const std::size_t end = std::min(byteOffset, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

Error tooDeep(std::string_view text, std::string_view source, std::size_t offset, std::size_t maxDepth) {
  return Error(ErrorCode::ResourceLimit,
               "JSON nested deeper than " + std::to_string(maxDepth) + " levels (arrays and objects)",
               ErrorContext{.part = std::string(source) + ":" + lineColumn(text, offset)});
}

// The closing quote of the string whose opening quote is at @p open (text.size() when unclosed).
std::size_t stringEnd(std::string_view text, std::size_t open) {
  for (std::size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // the escaped character
    } else if (text[i] == '"') {
      return i;
    }
  }
  return text.size();
}

// The first byte at which arrays and objects nest deeper than @p maxDepth, outside strings; a
// loop, not a recursion, so that it cannot itself be the thing that overflows.
std::optional<std::size_t> depthExceededAt(std::string_view text, std::size_t maxDepth) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      i = stringEnd(text, i);
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

std::size_t endOfTopLevelElement(std::string_view text, std::size_t n) {
  std::size_t depth = 0, count = 0;
  bool inElement = false;
  const auto ended = [&] {
    inElement = false;
    return ++count == n;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      if (depth == 1) inElement = true;
      i = stringEnd(text, i);
    } else if (c == '[' || c == '{') {
      if (depth == 1) inElement = true;
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) return std::string_view::npos;
      --depth;
      if (depth == 1 && inElement && ended()) return i + 1;
    } else if (depth == 1 && c == ',') {
      if (inElement && ended()) return i;
    } else if (depth == 1 && c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      inElement = true;  // a scalar element
    }
  }
  return std::string_view::npos;
}

nlohmann::json parseJson(std::string_view text, std::string_view source, JsonLimits limits) {
  if (text.size() > limits.maxBytes) {
    throw Error(ErrorCode::ResourceLimit,
                "JSON text of " + std::to_string(text.size()) + " bytes (at most " + std::to_string(limits.maxBytes) +
                    " are read)",
                ErrorContext{.part = std::string(source)});
  }
  if (const auto at = depthExceededAt(text, limits.maxDepth)) throw tooDeep(text, source, *at, limits.maxDepth);
  // the second guard: nlohmann reports the depth of each array or object as it opens it
  const nlohmann::json::parser_callback_t guard = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& /*parsed*/) {
    const bool opens =
        event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start;
    if (opens && static_cast<std::size_t>(depth) >= limits.maxDepth) {
      throw tooDeep(text, source, text.size(), limits.maxDepth);
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), guard);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    if (const auto pos = what.find("syntax error"); pos != std::string::npos) what = what.substr(pos);
    throw Error(ErrorCode::InvalidJson, "not JSON: " + what,
                ErrorContext{.part = std::string(source) + ":" + lineColumn(text, offset)});
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range for a number like 2e999
    throw Error(ErrorCode::InvalidJson, std::string("not usable JSON: ") + e.what(),
                ErrorContext{.part = std::string(source)});
  }
}

void checkJson(std::string_view text, std::string_view source, JsonLimits limits) {
  (void)parseJson(text, source, limits);
}

std::string canonicalJson(std::string_view text, std::string_view source, JsonLimits limits) {
  return parseJson(text, source, limits).dump();
}

}  // namespace iodeep::iod

#include "iodeep/iod/Json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

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

}  // namespace

nlohmann::json parseJson(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
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

void checkJson(std::string_view text, std::string_view source) {
  (void)parseJson(text, source);
}

std::string canonicalJson(std::string_view text, std::string_view source) {
  return parseJson(text, source).dump();
}

}  // namespace iodeep::iod

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Legacy.hpp"

using namespace iodeep;
using namespace iodeep::iod;

TEST(PythonLiteral, ConvertsTheReferenceArchitectureRepr) {
  const std::string lit =
      "{'input_shape': {'input_shape0': 224, 'input_shape1': 224, 'input_shape2': 3, 'label_shape': 1},"
      " 'architecture': {'1': 'doubleConv', '2': 'Maxpool2d'}, 'skip_connection': {'1': '16'},"
      " 'flags': (True, False, None), \"quoted\": \"it's\", 'rate': 0.5, 'neg': -3, 'exp': 1e-3, 5: 'int key'}";
  const auto j = nlohmann::json::parse(pythonLiteralToJson(lit));
  EXPECT_EQ(j["input_shape"]["input_shape0"], 224);
  EXPECT_EQ(j["architecture"]["1"], "doubleConv");
  EXPECT_EQ(j["flags"], nlohmann::json::array({true, false, nullptr}));
  EXPECT_EQ(j["quoted"], "it's");
  EXPECT_DOUBLE_EQ(j["rate"].get<double>(), 0.5);
  EXPECT_EQ(j["neg"], -3);
  EXPECT_DOUBLE_EQ(j["exp"].get<double>(), 0.001);
  EXPECT_EQ(j["5"], "int key");
}

TEST(PythonLiteral, EscapesAndUnicode) {
  const auto j = nlohmann::json::parse(pythonLiteralToJson(R"({'a': 'x\ny\t\'z\\', 'b': '\xe9\u20ac'})"));
  EXPECT_EQ(j["a"], "x\ny\t'z\\");
  EXPECT_EQ(j["b"], "\xc3\xa9\xe2\x82\xac");
}

TEST(PythonLiteral, RefusesAnythingThatIsNotALiteral) {
  for (const char* bad : {"{'a': __import__('os')}", "{'a': 1", "{'a' 1}", "{'a': 1} x", "{'a': inf}",
                          "{'a': float('nan')}", "{'a': 'unterminated}", "{'a': 1 + 2}", ""}) {
    try {
      (void)pythonLiteralToJson(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidPythonLiteral) << bad;
    }
  }
  // Found by tests/fuzz/payload_fuzz: bytes that are not UTF-8 made the JSON writer throw a
  // foreign exception (tests/data/README.md). Surrogate escapes cannot be UTF-8 either.
  for (const char* notUtf8 : {"{'a': '\x80'}", "{'a': 'caf\xe9'}", "{'a': '\xc3'}", "{'a': '\\ud800'}"}) {
    try {
      (void)pythonLiteralToJson(notUtf8);
      ADD_FAILURE() << "accepted: " << notUtf8;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidPythonLiteral) << notUtf8;
    }
  }
  EXPECT_EQ(nlohmann::json::parse(pythonLiteralToJson("{'a': 'caf\xc3\xa9'}"))["a"], "caf\xc3\xa9");
  // Deep nesting is refused, not a stack overflow.
  EXPECT_THROW((void)pythonLiteralToJson(std::string(100000, '[')), Error);
}

TEST(Json, NumbersJsonCannotHoldAreInvalidJson) {
  try {
    checkJson(R"({"a": 2e2222})", "arch.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidJson);
  }
}

TEST(Base64, DecodesWithAndWithoutPaddingAndRejectsGarbage) {
  auto text = [](const ByteBuffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); };
  EXPECT_EQ(text(decodeBase64("aGVsbG8=")), "hello");
  EXPECT_EQ(text(decodeBase64("aGVsbG8")), "hello");
  EXPECT_EQ(text(decodeBase64("aGVs\nbG8gd29y bGQ= ")), "hello world");
  EXPECT_EQ(text(decodeBase64("")), "");
  EXPECT_THROW((void)decodeBase64("aGV*bG8="), Error);
  EXPECT_THROW((void)decodeBase64("aGVsbG8=x"), Error);
  EXPECT_THROW((void)decodeBase64("a"), Error);
}

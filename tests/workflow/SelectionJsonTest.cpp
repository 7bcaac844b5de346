// SelectionReport's JSON, written without a DOM: read back by nlohmann, whatever the candidates'
// text holds (quotes, backslashes, control characters, bytes that are not UTF-8).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "iodeep/workflow/Selection.hpp"

using namespace iodeep;

namespace {

client::SelectionReport hostileReport() {
  client::SelectionReport r;
  r.query.modality = "MR";
  r.query.bodyPartExamined = "HEAD";
  r.query.studyDescription = "say \"hi\"\\\n\t\x01";
  r.query.samplesPerPixel = 1;
  for (const std::string& name :
       {std::string("Brain \"net\""), std::string("bad \xff\xfe bytes"), std::string("tab\there\r\nand \x1f")}) {
    selector::Candidate c;
    c.name = name;
    c.version = "1.0";
    c.modality = "MR";
    c.bodyPartExamined = name == "Brain \"net\"" ? "HEAD" : "KNEE\\";
    c.sopInstanceUid = "1.2." + std::to_string(r.candidates.size() + 1);
    c.samplesPerPixel = 1;
    r.candidates.push_back(c);
  }
  r.selection = selector::select(r.query, r.candidates);
  r.locateMs = 1.5;
  r.discovery.path = "relational";
  r.discovery.queries = 1;
  return r;
}

}  // namespace

TEST(SelectionJson, HostileTextRoundTrips) {
  const auto r = hostileReport();
  ASSERT_TRUE(r.selection.matched());
  const auto j = nlohmann::json::parse(r.toJson());
  EXPECT_EQ(j.at("slice").at("studyDescription"), r.query.studyDescription);
  EXPECT_EQ(j.at("slice").at("samplesPerPixel"), 1);
  EXPECT_TRUE(j.at("matched").get<bool>());
  EXPECT_EQ(j.at("chosen").at("name"), "Brain \"net\"");
  ASSERT_EQ(j.at("candidates").size(), 3U);
  EXPECT_EQ(j.at("candidates")[2].at("name"), "tab\there\r\nand \x1f");
  EXPECT_EQ(j.at("candidates")[1].at("name"), "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");  // U+FFFD per bad byte
  EXPECT_EQ(j.at("candidates")[1].at("bodyPartExamined"), "KNEE\\");
  EXPECT_FALSE(j.at("candidates")[1].at("matched").get<bool>());
  EXPECT_FALSE(j.at("candidates")[1].at("reason").get<std::string>().empty());
  EXPECT_EQ(j.at("discovery").at("path"), "relational");
  EXPECT_EQ(j.at("discovery").at("queries"), 1);
  EXPECT_DOUBLE_EQ(j.at("timingsMs").at("locate").get<double>(), 1.5);
}

TEST(SelectionJson, CompactWithTheCallersTimings) {
  const auto r = hostileReport();
  const auto text = r.toJson({{"total", 2.25}, {"select", 0.0}}, -1);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.at("timingsMs").size(), 2U);
  EXPECT_DOUBLE_EQ(j.at("timingsMs").at("total").get<double>(), 2.25);
  EXPECT_EQ(j.at("candidates").size(), 3U);
  // indented and compact say the same
  EXPECT_EQ(nlohmann::json::parse(r.toJson({{"total", 2.25}, {"select", 0.0}})), j);
}

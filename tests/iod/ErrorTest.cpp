#include <gtest/gtest.h>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"

using namespace iodeep;

TEST(Error, ContextIsKeptAsFieldsAndRendered) {
  const Error e(ErrorCode::ChannelMismatch, "out_channels must be positive",
                ErrorContext{.part = "architecture", .layer = "conv1", .pointer = "/layers/0/out_channels"});
  EXPECT_EQ(e.code(), ErrorCode::ChannelMismatch);
  EXPECT_EQ(e.detail(), "out_channels must be positive");
  EXPECT_EQ(e.layer(), "conv1");
  EXPECT_EQ(e.pointer(), "/layers/0/out_channels");
  EXPECT_STREQ(e.what(), "architecture: layer 'conv1' (/layers/0/out_channels): out_channels must be positive");
  const Error pointerOnly(ErrorCode::InvalidArchitecture, "must be an object",
                          ErrorContext{.part = "architecture", .pointer = "/preprocessing/resize"});
  EXPECT_STREQ(pointerOnly.what(), "architecture (/preprocessing/resize): must be an object");
}

TEST(Error, ContextAddedWhilePropagatingKeepsTheInnermostValue) {
  try {
    try {
      try {
        throw Error(ErrorCode::InvalidJson, "3:14: not JSON", ErrorContext{.part = "architecture"});
      } catch (Error& e) {
        e.withTag("(0017,0016)").inFile("inner.dcm");
        throw;
      }
    } catch (Error& e) {
      e.inFile("outer.dcm").withUid("2.25.1").within("DnnArchitecture");  // file already set: kept
      throw;
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "inner.dcm");
    EXPECT_EQ(e.uid(), "2.25.1");
    EXPECT_EQ(e.dicomTag(), "(0017,0016)");
    EXPECT_EQ(e.context().part, "DnnArchitecture: architecture");
    EXPECT_STREQ(e.what(), "inner.dcm: 2.25.1: (0017,0016): DnnArchitecture: architecture: 3:14: not JSON");
  }
}

// A finding keeps an error's context as fields and renders it as the error does.
TEST(Error, FindingOfAnErrorKeepsItsContext) {
  Error e(ErrorCode::InvalidPythonLiteral, "not a Python literal at character 3: expected ':'",
          ErrorContext{.part = "legacy architecture"});
  e.withTag("(0017,0016)");
  const auto f = iod::Finding::of(e);
  EXPECT_EQ(f.severity, iod::Finding::Severity::Error);
  EXPECT_EQ(f.code, ErrorCode::InvalidPythonLiteral);
  EXPECT_EQ(f.message, e.detail());
  EXPECT_EQ(f.context.dicomTag, "(0017,0016)");
  EXPECT_EQ(f.text(), e.what());
  EXPECT_EQ(f.text(), "(0017,0016): legacy architecture: not a Python literal at character 3: expected ':'");
  const iod::Finding plain{iod::Finding::Severity::Warning, ErrorCode::MalformedIodeep, "no context"};
  EXPECT_EQ(plain.text(), "no context");
  EXPECT_EQ(renderWithContext(ErrorContext{.peer = "PACS@host:104", .dimseStatus = "0xA700"}, "C-STORE failed"),
            "PACS@host:104: C-STORE failed (status 0xA700)");
}

TEST(Error, EveryCodeHasANameAndADocumentedExitCode) {
  EXPECT_EQ(toString(ErrorCode::NotRtStructureSet), "NotRtStructureSet");
  EXPECT_EQ(toString(ErrorCode::MalformedRtStructureSet), "MalformedRtStructureSet");
  EXPECT_EQ(exitCodeFor(ErrorCode::InvalidArgument), kExitUsage);
  EXPECT_EQ(exitCodeFor(ErrorCode::FileNotFound), kExitInput);
  EXPECT_EQ(exitCodeFor(ErrorCode::NotRtStructureSet), kExitContent);
  EXPECT_EQ(exitCodeFor(ErrorCode::MalformedRtStructureSet), kExitContent);
  EXPECT_EQ(toString(ErrorCode::NotSegmentation), "NotSegmentation");
  EXPECT_EQ(toString(ErrorCode::MalformedSegmentation), "MalformedSegmentation");
  EXPECT_EQ(exitCodeFor(ErrorCode::NotSegmentation), kExitContent);
  EXPECT_EQ(exitCodeFor(ErrorCode::MalformedSegmentation), kExitContent);
  EXPECT_EQ(exitCodeFor(ErrorCode::OutputError), kExitOutput);
  EXPECT_EQ(exitCodeFor(ErrorCode::Internal), kExitInternal);
  for (int c = 0; c <= static_cast<int>(ErrorCode::Internal); ++c) {
    EXPECT_NE(toString(static_cast<ErrorCode>(c)), "Unknown") << c;
  }
}

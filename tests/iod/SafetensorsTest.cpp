#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"

using namespace iodeep;
using namespace iodeep::iod;

namespace {

// Builds a raw safetensors buffer from a header text and data bytes.
ByteBuffer raw(const std::string& header, std::size_t dataBytes, std::byte fill = std::byte{0}) {
  std::vector<std::byte> b(8 + header.size() + dataBytes, fill);
  const std::uint64_t n = header.size();
  for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return ByteBuffer::fromVector(std::move(b));
}

ErrorCode codeOf(const ByteBuffer& b) {
  try {
    (void)Safetensors::parse(b);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::Internal;
}

}  // namespace

TEST(Safetensors, RoundTripKeepsNamesDtypesShapesAndBytes) {
  std::vector<float> f{1.5F, -2.0F, 3.25F, 0.0F, 7.0F, 8.0F};
  std::vector<std::int64_t> i{1, -2};
  std::vector<std::uint8_t> u{1, 2, 3};
  std::vector<std::uint16_t> h{0x3C00, 0xC000};  // F16 1.0, -2.0
  SafetensorsWriter w;
  w.add("a.weight", DType::F32, {2, 3}, std::as_bytes(std::span<const float>(f)));
  w.add("b.steps", DType::I64, {2}, std::as_bytes(std::span<const std::int64_t>(i)));
  w.add("c.mask", DType::U8, {3}, std::as_bytes(std::span<const std::uint8_t>(u)));
  w.add("d.half", DType::F16, {2}, std::as_bytes(std::span<const std::uint16_t>(h)));
  w.setMetadata("format", "pt");
  const ByteBuffer buf = w.finish();

  const auto st = Safetensors::parse(buf);
  ASSERT_EQ(st.tensors().size(), 4U);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  const auto& a = st.tensors()[0];
  EXPECT_EQ(a.name, "a.weight");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  std::vector<float> back(6);
  std::memcpy(back.data(), st.data(a).data(), 24);
  EXPECT_EQ(back, f);
  EXPECT_EQ(st.tensors()[1].dtype, DType::I64);
  EXPECT_EQ(st.tensors()[2].byteSize(), 3U);
  EXPECT_EQ(st.parameterCount(), 6 + 2 + 3 + 2);
  EXPECT_EQ(st.logicalBytes().size(), buf.size());
  // The header is padded so the data section starts 8-byte aligned.
  std::uint64_t n = 0;
  std::memcpy(&n, buf.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0U);
  EXPECT_NO_THROW(st.checkFinite());
}

TEST(Safetensors, ReadsAFileWrittenByPythonTooAndToleratesDicomPadding) {
  // A header as the reference Python writer makes it, then one 0x00 of DICOM padding.
  const std::string header = R"({"__metadata__":{"format":"pt"},"x":{"dtype":"I8","shape":[3],"data_offsets":[0,3]}})";
  const auto st = Safetensors::parse(raw(header, 4));
  EXPECT_EQ(st.tensors().at(0).shape, std::vector<std::int64_t>{3});
  EXPECT_EQ(st.logicalBytes().size(), 8 + header.size() + 3);
}

TEST(Safetensors, MalformedBuffersAreRefused) {
  EXPECT_EQ(codeOf(ByteBuffer::fromVector({std::byte{1}, std::byte{2}})), ErrorCode::InvalidSafetensors);
  // header length beyond the buffer
  auto big = raw("{}", 0);
  std::vector<std::byte> v(big.bytes().begin(), big.bytes().end());
  v[0] = std::byte{0xFF};
  v[5] = std::byte{0x01};
  EXPECT_EQ(codeOf(ByteBuffer::fromVector(v)), ErrorCode::InvalidSafetensors);
  EXPECT_EQ(codeOf(raw("[1,2]", 0)), ErrorCode::InvalidSafetensors);
  EXPECT_EQ(codeOf(raw("{\"x\": 1", 0)), ErrorCode::InvalidSafetensors);
  // offsets outside the data
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)), ErrorCode::InvalidSafetensors);
  // size does not match the shape
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)), ErrorCode::InvalidSafetensors);
  // overlap
  EXPECT_EQ(
      codeOf(raw(
          R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8)),
      ErrorCode::InvalidSafetensors);
  // hole
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)), ErrorCode::InvalidSafetensors);
  // negative dimension, and a product that overflows
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
            ErrorCode::InvalidSafetensors);
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0)),
            ErrorCode::InvalidSafetensors);
  // unindexed trailing bytes that are not padding
  EXPECT_EQ(codeOf(raw(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 2, std::byte{7})),
            ErrorCode::InvalidSafetensors);
}

TEST(Safetensors, UnsupportedDtypeIsNamed) {
  try {
    (void)Safetensors::parse(raw(R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1));
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::UnsupportedDtype);
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos);
  }
}

TEST(Safetensors, NonFiniteValuesAreFoundInEveryFloatType) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  {
    std::vector<float> f{1.0F, nan};
    SafetensorsWriter w;
    w.add("layer.weight", DType::F32, {2}, std::as_bytes(std::span<const float>(f)));
    const auto st = Safetensors::parse(w.finish());
    try {
      st.checkFinite();
      FAIL() << "NaN accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::NonFiniteWeights);
      EXPECT_NE(std::string(e.what()).find("layer.weight"), std::string::npos);
    }
  }
  {
    std::vector<double> d{inf};
    SafetensorsWriter w;
    w.add("d", DType::F64, {1}, std::as_bytes(std::span<const double>(d)));
    EXPECT_THROW(Safetensors::parse(w.finish()).checkFinite(), Error);
  }
  for (auto [dtype, bits] :
       {std::pair{DType::F16, std::uint16_t{0x7C00}}, std::pair{DType::BF16, std::uint16_t{0x7FC0}}}) {
    std::vector<std::uint16_t> h{0, bits};
    SafetensorsWriter w;
    w.add("h", dtype, {2}, std::as_bytes(std::span<const std::uint16_t>(h)));
    EXPECT_THROW(Safetensors::parse(w.finish()).checkFinite(), Error) << toString(dtype);
  }
}

TEST(Safetensors, WriterRefusesInconsistentInput) {
  std::vector<float> f{1.0F};
  SafetensorsWriter w;
  EXPECT_THROW(w.add("x", DType::F32, {2}, std::as_bytes(std::span<const float>(f))), Error);
  w.add("x", DType::F32, {1}, std::as_bytes(std::span<const float>(f)));
  EXPECT_THROW(w.add("x", DType::F32, {1}, std::as_bytes(std::span<const float>(f))), Error);
}

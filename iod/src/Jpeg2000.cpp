#include "Jpeg2000.hpp"

#include <openjpeg.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod::jpeg2000 {

namespace {

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(ErrorCode::UnsupportedImage, "JPEG 2000: " + what);
}

// The codestream in memory, read by OpenJPEG through these callbacks.
struct MemoryStream {
  const std::uint8_t* data{nullptr};
  std::size_t size{0};
  std::size_t position{0};
};

OPJ_SIZE_T readFrom(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto& s = *static_cast<MemoryStream*>(user);
  if (s.position >= s.size) return static_cast<OPJ_SIZE_T>(-1);  // end of stream
  const std::size_t n = std::min<std::size_t>(bytes, s.size - s.position);
  std::memcpy(buffer, s.data + s.position, n);
  s.position += n;
  return n;
}

OPJ_OFF_T skipIn(OPJ_OFF_T bytes, void* user) {
  auto& s = *static_cast<MemoryStream*>(user);
  if (bytes < 0) {
    const auto back = static_cast<std::size_t>(-bytes);
    if (back > s.position) return -1;
    s.position -= back;
    return bytes;
  }
  // past the end is allowed, as for a file; the next read reports the end
  s.position = std::min<std::size_t>(s.size, s.position + static_cast<std::size_t>(bytes));
  return bytes;
}

OPJ_BOOL seekTo(OPJ_OFF_T to, void* user) {
  auto& s = *static_cast<MemoryStream*>(user);
  if (to < 0 || static_cast<std::uint64_t>(to) > s.size) return OPJ_FALSE;
  s.position = static_cast<std::size_t>(to);
  return OPJ_TRUE;
}

// OpenJPEG reports through callbacks: the first error is what the exception says.
void onError(const char* message, void* user) {
  auto& first = *static_cast<std::string*>(user);
  if (!first.empty() || message == nullptr) return;
  first = message;
  while (!first.empty() && (first.back() == '\n' || first.back() == ' ')) first.pop_back();
}
void ignore(const char* /*message*/, void* /*user*/) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

bool isJp2File(std::span<const std::uint8_t> bytes) {
  static constexpr std::array<std::uint8_t, 12> kSignature{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                                           0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  return bytes.size() >= kSignature.size() && std::equal(kSignature.begin(), kSignature.end(), bytes.begin());
}

}  // namespace

Decoded decode(std::span<const std::uint8_t> codestream, const Expected& expected) {
  if (codestream.size() < 2) unsupported("empty codestream");
  std::string firstError;
  const std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(isJp2File(codestream) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) unsupported("OpenJPEG cannot create a decoder");
  opj_set_error_handler(codec.get(), onError, &firstError);
  opj_set_warning_handler(codec.get(), ignore, nullptr);
  opj_set_info_handler(codec.get(), ignore, nullptr);
  opj_dparameters_t parameters{};
  opj_set_default_decoder_parameters(&parameters);
  if (opj_setup_decoder(codec.get(), &parameters) == OPJ_FALSE) unsupported("decoder setup failed: " + firstError);
  // a truncated codestream is an error, not a partially decoded image
  (void)opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);

  MemoryStream memory{codestream.data(), codestream.size(), 0};
  const std::unique_ptr<opj_stream_t, StreamDeleter> stream(
      opj_stream_create(std::min<std::size_t>(codestream.size(), std::size_t{1} << 20U), OPJ_TRUE));
  if (!stream) unsupported("OpenJPEG cannot create a stream");
  opj_stream_set_user_data(stream.get(), &memory, nullptr);
  opj_stream_set_user_data_length(stream.get(), codestream.size());
  opj_stream_set_read_function(stream.get(), readFrom);
  opj_stream_set_skip_function(stream.get(), skipIn);
  opj_stream_set_seek_function(stream.get(), seekTo);

  opj_image_t* raw = nullptr;
  const OPJ_BOOL header = opj_read_header(stream.get(), codec.get(), &raw);
  const std::unique_ptr<opj_image_t, ImageDeleter> image(raw);
  if (header == OPJ_FALSE || !image) unsupported("cannot read the codestream header: " + firstError);

  // the header against the DICOM attributes, before anything is decoded or allocated
  const std::uint64_t width = image->x1 - image->x0;
  const std::uint64_t height = image->y1 - image->y0;
  if (width != expected.columns || height != expected.rows) {
    unsupported("the codestream is " + std::to_string(width) + "x" + std::to_string(height) + ", Columns x Rows say " +
                std::to_string(expected.columns) + "x" + std::to_string(expected.rows));
  }
  if (image->numcomps != expected.components) {
    unsupported("the codestream has " + std::to_string(image->numcomps) + " component(s), SamplesPerPixel is " +
                std::to_string(expected.components));
  }
  Decoded out;
  out.precision = static_cast<std::uint16_t>(image->comps[0].prec);
  out.isSigned = image->comps[0].sgnd != 0;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.dx != 1 || comp.dy != 1) unsupported("sub-sampled component " + std::to_string(c));
    if (comp.prec != out.precision || (comp.sgnd != 0) != out.isSigned) {
      unsupported("components of different precision or signedness");
    }
  }
  if (out.precision == 0 || out.precision > expected.bitsAllocated || out.precision > 31) {
    unsupported("the codestream's precision is " + std::to_string(out.precision) + " bits, BitsAllocated is " +
                std::to_string(expected.bitsAllocated));
  }
  {
    opj_codestream_info_v2_t* info = opj_get_cstr_info(codec.get());
    out.colourTransformed = info != nullptr && info->m_default_tile_info.mct != 0 && image->numcomps >= 3;
    opj_destroy_cstr_info(&info);
  }

  if (opj_decode(codec.get(), stream.get(), image.get()) == OPJ_FALSE ||
      opj_end_decompress(codec.get(), stream.get()) == OPJ_FALSE) {
    unsupported("cannot decode the codestream: " + (firstError.empty() ? std::string("corrupt") : firstError));
  }
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.data == nullptr || comp.w != width || comp.h != height) {
      unsupported("component " + std::to_string(c) + " was not decoded at full size");
    }
  }
  const std::size_t components = image->numcomps;
  out.samples.resize(pixels * components);
  for (std::size_t c = 0; c < components; ++c) {
    const OPJ_INT32* data = image->comps[c].data;
    for (std::size_t i = 0; i < pixels; ++i) out.samples[i * components + c] = data[i];
  }
  return out;
}

}  // namespace iodeep::iod::jpeg2000

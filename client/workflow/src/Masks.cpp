// Masks at a slice's pixel grid: PNG codec (zlib), JSON polygons, the exact tracer.
#include "iodeep/workflow/Masks.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Prediction.hpp"

namespace iodeep::client {

namespace {

constexpr std::array<std::uint8_t, 8> kPngSignature{0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
// A mask file is a slice's size: far below this. Bounds what a hostile PNG makes us allocate.
constexpr std::uint64_t kMaxPngPixels = 1ULL << 26U;

void put32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::byte>((v >> static_cast<unsigned>(s)) & 0xFFU));
}

std::uint32_t get32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8U) | std::to_integer<std::uint32_t>(p[i]);
  return v;
}

void chunk(std::vector<std::byte>& out, const char* type, const std::vector<std::byte>& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(type[i]));
  out.insert(out.end(), data.begin(), data.end());
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
  put32(out, static_cast<std::uint32_t>(crc));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a);
  const int pb = std::abs(p - b);
  const int pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

}  // namespace

std::size_t Mask::area() const noexcept {
  return static_cast<std::size_t>(std::count_if(values.begin(), values.end(), [](std::uint8_t v) { return v != 0; }));
}

std::vector<std::byte> encodePng(const std::vector<std::uint8_t>& pixels, std::uint32_t width, std::uint32_t height,
                                 std::uint32_t channels) {
  if ((channels != 1 && channels != 3) || pixels.size() != static_cast<std::size_t>(width) * height * channels) {
    throw Error(ErrorCode::Internal, "PNG: pixels do not match the image's size");
  }
  const std::size_t stride = static_cast<std::size_t>(width) * channels;
  std::vector<std::uint8_t> raw;
  raw.reserve((stride + 1) * height);
  for (std::size_t y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), pixels.begin() + static_cast<std::ptrdiff_t>(y * stride),
               pixels.begin() + static_cast<std::ptrdiff_t>((y + 1) * stride));
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::byte> z(size);
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK) {
    throw Error(ErrorCode::Internal, "zlib: compression failed");
  }
  z.resize(size);
  std::vector<std::byte> out;
  out.reserve(z.size() + 64);
  for (const std::uint8_t b : kPngSignature) out.push_back(static_cast<std::byte>(b));
  std::vector<std::byte> ihdr;
  put32(ihdr, width);
  put32(ihdr, height);
  // 8 bits, grey (0) or RGB (2), deflate, no filter, no interlace
  const std::array<std::uint8_t, 5> format{8, static_cast<std::uint8_t>(channels == 1 ? 0 : 2), 0, 0, 0};
  for (const std::uint8_t b : format) ihdr.push_back(static_cast<std::byte>(b));
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", {});
  return out;
}

Mask decodePngMask(const std::vector<std::byte>& png, const std::string& where) {
  const auto bad = [&](const std::string& what) {
    return Error(ErrorCode::InvalidArgument, "not a mask PNG: " + what, ErrorContext{.file = where});
  };
  if (png.size() < 8 || std::memcmp(png.data(), kPngSignature.data(), 8) != 0) throw bad("no PNG signature");
  std::size_t pos = 8;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  int depth = 0;
  int colour = -1;
  std::vector<std::byte> idat;
  std::vector<std::uint8_t> paletteAlpha;  // tRNS of a palette image
  std::vector<std::array<std::uint8_t, 3>> palette;
  bool ended = false;
  while (!ended) {
    if (png.size() - pos < 12) throw bad("truncated (a chunk is cut short)");
    const std::uint32_t length = get32(&png[pos]);
    if (length > png.size() - pos - 12) throw bad("truncated (a chunk is cut short)");
    const std::string type(reinterpret_cast<const char*>(&png[pos + 4]), 4);
    const std::byte* data = &png[pos + 8];
    const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(&png[pos + 4]), length + 4);
    if (crc != get32(data + length)) throw bad("chunk " + type + " fails its CRC");
    if (type == "IHDR") {
      if (length != 13) throw bad("IHDR of the wrong size");
      width = get32(data);
      height = get32(data + 4);
      depth = std::to_integer<int>(data[8]);
      colour = std::to_integer<int>(data[9]);
      if (std::to_integer<int>(data[12]) != 0) throw bad("interlaced PNGs are not read");
      if (std::to_integer<int>(data[10]) != 0 || std::to_integer<int>(data[11]) != 0) throw bad("unknown method");
    } else if (type == "PLTE") {
      for (std::uint32_t i = 0; i + 2 < length; i += 3) {
        palette.push_back({std::to_integer<std::uint8_t>(data[i]), std::to_integer<std::uint8_t>(data[i + 1]),
                           std::to_integer<std::uint8_t>(data[i + 2])});
      }
    } else if (type == "tRNS" && colour == 3) {
      for (std::uint32_t i = 0; i < length; ++i) paletteAlpha.push_back(std::to_integer<std::uint8_t>(data[i]));
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + length);
    } else if (type == "IEND") {
      ended = true;
    }
    pos += 12 + length;
  }
  if (colour < 0) throw bad("no IHDR");
  const int samples = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
  const bool depthOk =
      (depth == 8 || depth == 16) || ((colour == 0 || colour == 3) && (depth == 1 || depth == 2 || depth == 4));
  if (samples == 0 || !depthOk || (colour == 3 && depth == 16)) {
    throw bad("colour type " + std::to_string(colour) + " at " + std::to_string(depth) + " bits");
  }
  if (width == 0 || height == 0 || static_cast<std::uint64_t>(width) * height > kMaxPngPixels) {
    throw bad(std::to_string(width) + " x " + std::to_string(height) + " pixels");
  }
  const std::size_t bitsPerPixel = static_cast<std::size_t>(samples) * static_cast<std::size_t>(depth);
  const std::size_t stride = (width * bitsPerPixel + 7) / 8;
  const std::size_t bpp = std::max<std::size_t>(1, bitsPerPixel / 8);  // filter distance in bytes
  std::vector<std::uint8_t> raw((stride + 1) * height);
  uLongf size = raw.size();
  if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) !=
          Z_OK ||
      size != raw.size()) {
    throw bad("the image data does not inflate to " + std::to_string(width) + " x " + std::to_string(height));
  }
  Mask m;
  m.rows = height;
  m.columns = width;
  m.values.assign(static_cast<std::size_t>(width) * height, 0);
  std::vector<std::uint8_t> previous(stride, 0);
  std::vector<std::uint8_t> line(stride);
  for (std::size_t y = 0; y < height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? line[x - bpp] : 0;
      const int b = previous[x];
      const int c = x >= bpp ? previous[x - bpp] : 0;
      int v = in[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: v += paeth(a, b, c); break;
        default: throw bad("unknown filter " + std::to_string(filter) + " on row " + std::to_string(y));
      }
      line[x] = static_cast<std::uint8_t>(v & 0xFF);
    }
    for (std::size_t x = 0; x < width; ++x) {
      bool inside = false;
      if (depth < 8) {
        const std::size_t bit = x * static_cast<std::size_t>(depth);
        const unsigned v = (line[bit / 8] >> (8U - static_cast<unsigned>(depth) - bit % 8)) & ((1U << depth) - 1U);
        if (colour == 3) {
          if (v >= palette.size()) throw bad("a palette index beyond the palette");
          const auto& p = palette[v];
          inside = (p[0] | p[1] | p[2]) != 0 && (v >= paletteAlpha.size() || paletteAlpha[v] != 0);
        } else {
          inside = v != 0;
        }
      } else {
        const std::size_t bytes = static_cast<std::size_t>(depth) / 8;
        const std::uint8_t* px = &line[x * static_cast<std::size_t>(samples) * bytes];
        const auto sample = [&](int s) {
          unsigned v = 0;
          for (std::size_t k = 0; k < bytes; ++k) v = (v << 8U) | px[static_cast<std::size_t>(s) * bytes + k];
          return v;
        };
        if (colour == 3) {
          const unsigned v = sample(0);
          if (v >= palette.size()) throw bad("a palette index beyond the palette");
          const auto& p = palette[v];
          inside = (p[0] | p[1] | p[2]) != 0 && (v >= paletteAlpha.size() || paletteAlpha[v] != 0);
        } else {
          const bool alpha = colour == 4 || colour == 6;
          const int colours = alpha ? samples - 1 : samples;
          for (int s = 0; s < colours; ++s) inside = inside || sample(s) != 0;
          if (alpha && sample(samples - 1) == 0) inside = false;
        }
      }
      m.values[y * width + x] = inside ? 1 : 0;
    }
    std::swap(previous, line);
  }
  return m;
}

Mask readMaskFile(const std::filesystem::path& path, std::size_t rows, std::size_t columns) {
  const auto buffer = iod::ByteBuffer::mapFile(path);
  const auto bytes = buffer.bytes();
  std::vector<std::byte> data(bytes.begin(), bytes.end());
  Mask m;
  const auto bad = [&](const std::string& what) {
    return Error(ErrorCode::InvalidArgument, what, ErrorContext{.file = path.string()});
  };
  if (data.size() >= 8 && std::memcmp(data.data(), kPngSignature.data(), 8) == 0) {
    m = decodePngMask(data, path.string());
  } else {
    const std::string text(reinterpret_cast<const char*>(data.data()), data.size());
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("rings") || !json["rings"].is_array()) {
      throw bad("not a mask: neither a PNG nor a JSON polygon {\"rings\": [[[column, row], ...], ...]}");
    }
    std::vector<iod::Ring> rings;
    for (const auto& r : json["rings"]) {
      iod::Ring ring;
      if (!r.is_array() || r.size() < 3) throw bad("a polygon ring needs at least 3 points [column, row]");
      for (const auto& p : r) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
          throw bad("a polygon point is not [column, row]");
        }
        const double c = p[0].get<double>();
        const double rw = p[1].get<double>();
        if (!(c >= -0.5 && c <= static_cast<double>(columns) - 0.5 && rw >= -0.5 &&
              rw <= static_cast<double>(rows) - 0.5)) {
          throw bad("polygon point (" + std::to_string(c) + ", " + std::to_string(rw) + ") is off the slice of " +
                    std::to_string(columns) + " x " + std::to_string(rows));
        }
        ring.points.push_back({c, rw});
      }
      rings.push_back(std::move(ring));
    }
    m = maskOfRings(rings, rows, columns);
  }
  if (m.rows != rows || m.columns != columns) {
    throw bad("the mask is " + std::to_string(m.columns) + " x " + std::to_string(m.rows) + " pixels, the slice " +
              std::to_string(columns) + " x " + std::to_string(rows));
  }
  if (m.area() == 0) throw bad("the mask is empty (nothing inside): reject the proposal instead");
  return m;
}

void writeMaskPng(const Mask& mask, const std::filesystem::path& path) {
  std::vector<std::uint8_t> grey(mask.values.size());
  std::transform(mask.values.begin(), mask.values.end(), grey.begin(),
                 [](std::uint8_t v) { return static_cast<std::uint8_t>(v != 0 ? 255 : 0); });
  iod::writeFileAtomically(
      path, encodePng(grey, static_cast<std::uint32_t>(mask.columns), static_cast<std::uint32_t>(mask.rows), 1));
}

std::vector<iod::Ring> ringsOfMask(const Mask& mask) {
  return netparser::traceMask(mask.values, mask.rows, mask.columns);
}

Mask maskOfRings(const std::vector<iod::Ring>& rings, std::size_t rows, std::size_t columns) {
  return Mask{rows, columns, iod::fillEvenOdd(rings, rows, columns)};
}

}  // namespace iodeep::client

// writeOverlayPng, read back by an independent decoder (Qt's QImage): size, windowed grey, ring colour.
#include <gtest/gtest.h>

#include <QImage>

#include "../iod/TestSupport.hpp"
#include "iodeep/reports/Overlay.hpp"
#include "iodeep/workflow/Masks.hpp"

using namespace iodeep;

namespace {

// 64x64 grey slice, window 100/200 (grey = (v - 0) / 200 * 255): background 40 -> 51, one pixel
// 120 -> 153, one pixel 250 -> clamped to 255, one pixel -30 -> clamped to 0.
iod::SliceImage slice() {
  iod::SliceImage img;
  img.rows = 64;
  img.columns = 64;
  img.pixels.assign(64U * 64U, 40.0F);
  img.pixels[2U * 64U + 3U] = 120.0F;
  img.pixels[60U * 64U + 61U] = 250.0F;
  img.pixels[62U * 64U + 1U] = -30.0F;
  img.attributes.windows.push_back({100.0, 200.0, ""});
  return img;
}

// A square ring along pixel edges around pixels 16..47 (rows and columns), in a colour of its own.
netparser::Proposal square() {
  netparser::Proposal p;
  p.label.name = "Square";
  p.label.color = {10, 200, 30};
  p.rings.push_back({{{15.5, 15.5}, {47.5, 15.5}, {47.5, 47.5}, {15.5, 47.5}}, false});
  return p;
}

QRgb pixelAt(const QImage& image, int x, int y) {
  return image.pixel(x, y) & 0xFFFFFFU;
}
QRgb grey(int g) {
  return qRgb(g, g, g) & 0xFFFFFFU;
}

}  // namespace

TEST(OverlayPng, DecodesToTheWindowedSliceWithTheRingInItsColour) {
  test::TempDir dir;
  client::writeOverlayPng(slice(), {square()}, dir / "o.png");
  QImage image;
  ASSERT_TRUE(image.load(QString::fromStdString((dir / "o.png").string()), "PNG"));
  // 64 rows scaled by 512 / 64 = 8
  ASSERT_EQ(image.width(), 512);
  ASSERT_EQ(image.height(), 512);
  // background: the windowed grey, every output pixel of a source pixel the same
  EXPECT_EQ(pixelAt(image, 0, 0), grey(51));
  EXPECT_EQ(pixelAt(image, 300, 80), grey(51));
  EXPECT_EQ(pixelAt(image, 3 * 8, 2 * 8), grey(153));
  EXPECT_EQ(pixelAt(image, 3 * 8 + 7, 2 * 8 + 7), grey(153));
  EXPECT_EQ(pixelAt(image, 61 * 8 + 4, 60 * 8 + 4), grey(255));
  EXPECT_EQ(pixelAt(image, 1 * 8 + 4, 62 * 8 + 4), grey(0));
  // the ring: its edges at output coordinate (15.5 + 0.5) * 8 = 128 and (47.5 + 0.5) * 8 = 384
  const QRgb colour = qRgb(10, 200, 30) & 0xFFFFFFU;
  for (const int t : {128, 200, 256, 384}) {
    EXPECT_EQ(pixelAt(image, t, 128), colour) << "top edge at x " << t;
    EXPECT_EQ(pixelAt(image, t, 384), colour) << "bottom edge at x " << t;
    EXPECT_EQ(pixelAt(image, 128, t), colour) << "left edge at y " << t;
    EXPECT_EQ(pixelAt(image, 384, t), colour) << "right edge at y " << t;
  }
  // inside and just outside the ring: the slice, not the overlay
  EXPECT_EQ(pixelAt(image, 256, 256), grey(51));
  EXPECT_EQ(pixelAt(image, 126, 200), grey(51));
  EXPECT_EQ(pixelAt(image, 200, 386), grey(51));
}

TEST(OverlayPng, WithoutProposalsIsTheSliceAlone) {
  test::TempDir dir;
  client::writeOverlayPng(slice(), {}, dir / "plain.png");
  QImage image;
  ASSERT_TRUE(image.load(QString::fromStdString((dir / "plain.png").string()), "PNG"));
  ASSERT_EQ(image.size(), QSize(512, 512));
  EXPECT_EQ(pixelAt(image, 128, 200), grey(51));
  EXPECT_EQ(pixelAt(image, 3 * 8 + 1, 2 * 8 + 1), grey(153));
}

// Masks painted elsewhere: PNGs written by Qt (libpng, its own filters) in the formats a drawing
// program saves (1-bit, 8-bit grey, indexed, RGBA with alpha), decoded pixel for pixel.
TEST(MaskPng, WrittenByAnotherEncoderInEveryCommonFormat) {
  const int w = 37;
  const int h = 23;  // odd sizes: rows of 1-bit pixels end mid-byte
  const auto inside = [](int x, int y) { return (x - 18) * (x - 18) + (y - 11) * (y - 11) < 80 || (x == 0 && y == 0); };
  QImage rgba(w, h, QImage::Format_RGBA8888);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) rgba.setPixel(x, y, inside(x, y) ? qRgba(255, 40, 40, 255) : qRgba(255, 255, 255, 0));
  }
  QImage grey8(w, h, QImage::Format_Grayscale8);
  grey8.fill(0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (inside(x, y)) grey8.setPixel(x, y, qRgb(200, 200, 200));
    }
  }
  const QImage mono = grey8.convertToFormat(QImage::Format_Mono, Qt::ThresholdDither);
  const QImage indexed = grey8.convertToFormat(QImage::Format_Indexed8);
  const QImage grey16 = grey8.convertToFormat(QImage::Format_Grayscale16);
  test::TempDir dir;
  int n = 0;
  for (const QImage* image : std::initializer_list<const QImage*>{&rgba, &grey8, &mono, &indexed, &grey16}) {
    const auto path = dir.path() / ("m" + std::to_string(n++) + ".png");
    ASSERT_TRUE(image->save(QString::fromStdString(path.string()), "PNG"));
    const auto m = client::readMaskFile(path, static_cast<std::size_t>(h), static_cast<std::size_t>(w));
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        ASSERT_EQ(m.values[static_cast<std::size_t>(y * w + x)], inside(x, y) ? 1 : 0)
            << path << " at " << x << ", " << y << " (QImage format " << image->format() << ")";
      }
    }
  }
}

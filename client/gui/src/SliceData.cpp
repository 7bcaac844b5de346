#include "SliceData.hpp"

#include "iodeep/iod/Error.hpp"

namespace iodeep::gui {

QImage toQImage(const client::DisplayImage& d) {
  const auto format = d.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
  const QImage view(d.bytes.data(), d.columns, d.rows, static_cast<qsizetype>(d.columns) * d.channels, format);
  return view.copy();  // owns its pixels
}

std::shared_ptr<const DecodedSlice> decodeForDisplay(const std::filesystem::path& file,
                                                     const std::optional<client::WindowLevel>& window) {
  auto d = std::make_shared<DecodedSlice>();
  d->slice = std::make_shared<const iod::SliceImage>(iod::readSlice(file));
  d->initialWindow = client::initialWindow(*d->slice);
  d->presets = client::windowPresets(*d->slice);
  d->renderedWith = window.value_or(d->initialWindow);
  d->image = toQImage(client::renderForDisplay(*d->slice, d->renderedWith));
  return d;
}

OpenedSeries openSeries(client::Workstation& ws, const client::SeriesInfo& series,
                        const client::SeriesProgressHandler& onProgress) {
  OpenedSeries out;
  out.series = series;
  out.instances = ws.images().openSeries(ws.pacs(), series.studyInstanceUid, series.seriesInstanceUid, onProgress);
  out.attributes.reserve(out.instances.size());
  for (const auto& i : out.instances) {
    try {
      out.attributes.emplace_back(iod::readSliceAttributes(i.file));
    } catch (const Error&) {
      out.attributes.emplace_back();  // said when the slice is shown
    }
  }
  out.first = static_cast<int>(out.instances.size()) / 2;
  if (!out.instances.empty()) {
    try {
      out.firstSlice = decodeForDisplay(out.instances[static_cast<std::size_t>(out.first)].file, std::nullopt);
    } catch (const Error&) {
      // the viewer decodes it again and shows why it cannot
    }
  }
  return out;
}

}  // namespace iodeep::gui

#include "iodeep/reports/Display.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace iodeep::client {

namespace {

std::vector<float> greyValues(const iod::SliceImage& slice) {
  if (slice.samples == 1) return slice.pixels;
  std::vector<float> grey(static_cast<std::size_t>(slice.rows) * slice.columns);
  for (std::size_t i = 0; i < grey.size(); ++i) {
    grey[i] = 0.299F * slice.pixels[i * 3] + 0.587F * slice.pixels[i * 3 + 1] + 0.114F * slice.pixels[i * 3 + 2];
  }
  return grey;
}

WindowLevel fromRange(double lo, double hi) {
  return {(lo + hi) / 2.0, std::max(1.0, hi - lo)};
}

}  // namespace

double applyWindow(double value, const WindowLevel& window) noexcept {
  const double c = window.center;
  const double w = std::max(1.0, window.width);
  if (w <= 1.0) return value <= c - 0.5 ? 0.0 : 255.0;  // a threshold
  if (value <= c - 0.5 - (w - 1.0) / 2.0) return 0.0;
  if (value > c - 0.5 + (w - 1.0) / 2.0) return 255.0;
  return ((value - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
}

WindowLevel initialWindow(const iod::SliceImage& slice) {
  const auto& a = slice.attributes;
  if (!a.windows.empty()) return {a.windows.front().center, std::max(1.0, a.windows.front().width)};
  auto values = greyValues(slice);
  if (values.empty()) return {};
  const std::size_t lo = values.size() / 100;
  const std::size_t hi = values.size() - 1 - values.size() / 100;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double low = values[lo];
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(hi), values.end());
  return fromRange(low, values[hi]);
}

std::vector<WindowPreset> windowPresets(const iod::SliceImage& slice) {
  std::vector<WindowPreset> out;
  const auto& a = slice.attributes;
  for (std::size_t i = 0; i < a.windows.size(); ++i) {
    const auto& w = a.windows[i];
    out.push_back(
        {w.explanation.empty() ? "File " + std::to_string(i + 1) : w.explanation, {w.center, std::max(1.0, w.width)}});
  }
  if (a.modality == "CT") {
    out.push_back({"Brain", {40, 80}});
    out.push_back({"Subdural", {75, 215}});
    out.push_back({"Abdomen", {40, 400}});
    out.push_back({"Lung", {-600, 1500}});
    out.push_back({"Bone", {300, 1500}});
  }
  const auto grey = greyValues(slice);
  if (!grey.empty()) {
    const auto [lo, hi] = std::minmax_element(grey.begin(), grey.end());
    out.push_back({"Full range", fromRange(*lo, *hi)});
  }
  return out;
}

DisplayImage renderForDisplay(const iod::SliceImage& slice, const WindowLevel& window) {
  DisplayImage d;
  d.rows = slice.rows;
  d.columns = slice.columns;
  d.channels = slice.samples == 3 ? 3 : 1;
  const std::size_t n = static_cast<std::size_t>(slice.rows) * slice.columns * d.channels;
  d.bytes.resize(n);
  if (d.channels == 3) {
    for (std::size_t i = 0; i < n; ++i) {
      d.bytes[i] = static_cast<std::uint8_t>(std::clamp(std::lround(slice.pixels[i]), 0L, 255L));
    }
    return d;
  }
  for (std::size_t i = 0; i < n; ++i) {
    double v = applyWindow(slice.pixels[i], window);
    if (slice.monochrome1) v = 255.0 - v;
    d.bytes[i] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
  }
  return d;
}

std::string directionLetters(double x, double y, double z) {
  struct Part {
    double magnitude;
    char letter;
  };
  std::array<Part, 3> parts{
      {{std::abs(x), x < 0 ? 'R' : 'L'}, {std::abs(y), y < 0 ? 'A' : 'P'}, {std::abs(z), z < 0 ? 'F' : 'H'}}};
  std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.magnitude > b.magnitude; });
  std::string out;
  for (const auto& p : parts) {
    if (p.magnitude >= 0.25) out += p.letter;
  }
  return out;
}

EdgeLabels orientationLabels(const iod::SliceAttributes& slice) {
  if (!slice.imageOrientationPatient) return {};
  const auto& o = *slice.imageOrientationPatient;
  EdgeLabels e;
  e.right = directionLetters(o[0], o[1], o[2]);
  e.left = directionLetters(-o[0], -o[1], -o[2]);
  e.bottom = directionLetters(o[3], o[4], o[5]);
  e.top = directionLetters(-o[3], -o[4], -o[5]);
  return e;
}

std::string formatPersonName(const std::string& pn) {
  std::vector<std::string> parts;
  std::string current;
  for (const char c : pn.substr(0, pn.find('='))) {  // the alphabetic representation
    if (c == '^') {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  const std::string& family = parts[0];
  std::string given = parts.size() > 1 ? parts[1] : std::string();
  if (given.empty()) return family;
  if (family.empty()) return given;
  return family + ", " + given;
}

std::string formatDate(const std::string& da) {
  if (da.size() == 8 && std::all_of(da.begin(), da.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
  }
  return da;
}

std::string formatTime(const std::string& tm) {
  const std::string t = tm.substr(0, tm.find('.'));
  if (t.size() >= 4 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::string out = t.substr(0, 2) + ":" + t.substr(2, 2);
    if (t.size() >= 6) out += ":" + t.substr(4, 2);
    return out;
  }
  return tm;
}

std::vector<std::pair<std::string, std::string>> patientBlock(const iod::SliceAttributes& a) {
  return {{"Patient", formatPersonName(a.patientName)},
          {"ID", a.patientId},
          {"Birth date", formatDate(a.patientBirthDate)},
          {"Sex", a.patientSex}};
}

std::vector<std::pair<std::string, std::string>> clinicalBlock(const iod::SliceAttributes& a) {
  return {{"Accession", a.accessionNumber},
          {"Institution", a.institutionName},
          {"Referring", formatPersonName(a.referringPhysicianName)},
          {"Study date", formatDate(a.studyDate)},
          {"Study", a.studyDescription},
          {"Study ID", a.studyId},
          {"Study UID", a.studyInstanceUid},
          {"Study time", formatTime(a.studyTime)}};
}

}  // namespace iodeep::client

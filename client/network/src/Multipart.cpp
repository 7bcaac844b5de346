// The streaming multipart/related reader of WADO-RS responses.
#include "Multipart.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace iodeep::client::detail {

namespace {
constexpr std::size_t kMaxPartHeaders = 16384;
}

MultipartWriter::MultipartWriter(std::filesystem::path directory, std::string boundary, std::size_t maxParts)
    : directory_(std::move(directory)), delimiter_("\r\n--" + std::move(boundary)), maxParts_(maxParts) {}

bool MultipartWriter::fail(std::string why) {
  if (state_ != State::Failed) error_ = std::move(why);
  state_ = State::Failed;
  if (out_.is_open()) out_.close();
  return false;
}

bool MultipartWriter::write(std::string_view data) {
  if (data.empty()) return true;
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  current_.bytes += data.size();
  if (!out_) return fail("cannot write " + current_.file.string());
  return true;
}

bool MultipartWriter::openPart(std::string_view headers) {
  if (parts_.size() >= maxParts_) {
    return fail("more than " + std::to_string(maxParts_) + " parts (at most that many instances are taken)");
  }
  current_ = Part{};
  current_.file = directory_ / ("part-" + std::to_string(parts_.size() + 1) + ".bin");
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto end = headers.find("\r\n", pos);
    if (end == std::string_view::npos) end = headers.size();
    const auto line = headers.substr(pos, end - pos);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      if (name == "content-type") current_.contentType = std::string(value);
    }
    pos = end + 2;
  }
  out_.open(current_.file, std::ios::binary | std::ios::trunc);
  if (!out_) return fail("cannot write " + current_.file.string());
  return true;
}

bool MultipartWriter::feed(std::string_view data) {
  if (state_ == State::Failed) return false;
  if (state_ == State::End) return true;  // the epilogue is ignored
  pending_.append(data);
  for (;;) {
    switch (state_) {
      case State::Preamble: {
        const auto at = pending_.find(delimiter_);
        if (at == std::string::npos) {
          // keep what may be the start of the delimiter; the preamble is bounded
          if (pending_.size() > delimiter_.size()) pending_.erase(0, pending_.size() - delimiter_.size());
          return true;
        }
        pending_.erase(0, at + delimiter_.size());
        state_ = State::AfterDelimiter;
        break;
      }
      case State::AfterDelimiter: {
        if (pending_.size() < 2) return true;
        if (pending_.compare(0, 2, "--") == 0) {
          state_ = State::End;
          pending_.clear();
          return true;
        }
        // transport padding (spaces, tabs) may follow the boundary before its CRLF
        std::size_t i = 0;
        while (i < pending_.size() && (pending_[i] == ' ' || pending_[i] == '\t')) ++i;
        if (i + 2 > pending_.size()) return true;
        if (pending_.compare(i, 2, "\r\n") != 0) return fail("junk after a multipart boundary");
        pending_.erase(0, i + 2);
        state_ = State::Headers;
        break;
      }
      case State::Headers: {
        std::size_t end = std::string::npos;
        std::size_t skip = 0;
        if (pending_.compare(0, 2, "\r\n") == 0) {
          end = 0;  // a part without headers
          skip = 2;
        } else {
          end = pending_.find("\r\n\r\n");
          skip = 4;
        }
        if (end == std::string::npos) {
          if (pending_.size() > kMaxPartHeaders) return fail("a part's headers are longer than 16 KiB");
          return true;
        }
        if (end > kMaxPartHeaders) return fail("a part's headers are longer than 16 KiB");
        if (!openPart(std::string_view(pending_).substr(0, end))) return false;
        pending_.erase(0, end + skip);
        // the body starts here; the next delimiter (with its leading CRLF) ends it
        state_ = State::Body;
        break;
      }
      case State::Body: {
        const auto at = pending_.find(delimiter_);
        if (at == std::string::npos) {
          const std::size_t keep = delimiter_.size() - 1;
          if (pending_.size() > keep) {
            if (!write(std::string_view(pending_).substr(0, pending_.size() - keep))) return false;
            pending_.erase(0, pending_.size() - keep);
          }
          return true;
        }
        if (!write(std::string_view(pending_).substr(0, at))) return false;
        out_.close();
        if (!out_) return fail("cannot write " + current_.file.string());
        parts_.push_back(current_);
        pending_.erase(0, at + delimiter_.size());
        state_ = State::AfterDelimiter;
        break;
      }
      case State::End:
      case State::Failed: return state_ == State::End;
    }
  }
}

bool MultipartWriter::finish() {
  if (state_ == State::End) return true;
  if (state_ == State::Failed) return false;
  if (out_.is_open()) out_.close();
  const std::string where = state_ == State::Preamble ? "before its first part"
                            : state_ == State::Body   ? "inside part " + std::to_string(parts_.size() + 1)
                                                      : "after part " + std::to_string(parts_.size());
  return fail("the multipart body ends " + where + " without its closing boundary (truncated)");
}

}  // namespace iodeep::client::detail

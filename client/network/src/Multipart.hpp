#pragma once
// A streaming reader of multipart/related bodies (RFC 2046, 5.1; the WADO-RS response): each part
// goes straight to a file of its own as it arrives, never whole in memory.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace iodeep::client::detail {

class MultipartWriter {
 public:
  struct Part {
    std::filesystem::path file;
    std::string contentType;  ///< the part's Content-Type, as sent
    std::uint64_t bytes{0};
  };

  /// Parts go to @p directory as part-<n>.bin; @p boundary from the response's Content-Type; more
  /// than @p maxParts parts break the body (error()).
  MultipartWriter(std::filesystem::path directory, std::string boundary, std::size_t maxParts);

  /// Consumes the next bytes of the body. Returns false, with error() saying why, when the body
  /// breaks the format (a part's headers over 16 KiB, no blank line after them, junk after a
  /// delimiter) or a file cannot be written.
  bool feed(std::string_view data);
  /// After the last byte: whether the body ended with its close delimiter (else error() says
  /// where it stopped: a truncated body).
  [[nodiscard]] bool finish();

  /// The parts read completely, in order (a part is complete when the delimiter after it arrived).
  [[nodiscard]] const std::vector<Part>& parts() const noexcept { return parts_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  enum class State { Preamble, AfterDelimiter, Headers, Body, End, Failed };
  bool fail(std::string why);
  bool openPart(std::string_view headers);
  bool write(std::string_view data);

  std::filesystem::path directory_;
  std::string delimiter_;  ///< "\r\n--" + boundary
  std::size_t maxParts_;
  State state_{State::Preamble};
  std::string pending_{"\r\n"};  // a virtual CRLF: the first delimiter may open the body
  std::ofstream out_;
  Part current_;
  std::vector<Part> parts_;
  std::string error_;
};

}  // namespace iodeep::client::detail

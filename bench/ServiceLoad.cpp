// A closed-loop HTTP load generator for the inference service (issue 19's benchmark,
// bench/service_load.sh), after Triton's perf_analyzer: a fixed number of concurrent clients, each
// its own thread with one keep-alive connection (Boost.Beast, synchronous), each sending its next
// request as soon as the previous answer is read. The first --warmup requests are sent and not
// counted; then --requests are timed. One JSON line on stdout: throughput, latency percentiles,
// errors by status, and the medians of the server's own "server.timingsMs" fields when the answers
// have them (`iodeep serve`'s POST /v1/predict).
//
//   iodeep_service_load --url http://127.0.0.1:8080 --path /v1/predict --body FILE
//                       [--content-type application/json] [--concurrency N] [--requests N]
//                       [--warmup N] [--method POST] [--timeout-s 120]
//
// Latency is from the first byte written to the last byte of the answer read, per request; the
// percentiles are nearest-rank over the answered (2xx) requests. A request whose connection fails
// is counted under "connection" and its client reconnects. "throughput" is the timed requests
// (answered or not: a 504 counts) over the wall time of the timed phase; "goodput" only the 2xx
// ones: compare goodput when there are errors.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host;
  std::string port;
  std::string path = "/";
  std::string method = "POST";
  std::string body;
  std::string contentType = "application/json";
  int concurrency = 1;
  int requests = 100;
  int warmup = 0;
  int timeoutS = 120;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "iodeep_service_load: " << why << "\n"
            << "usage: iodeep_service_load --url http://HOST:PORT --path PATH [--body FILE] "
               "[--content-type TYPE] [--method POST|GET] [--concurrency N] [--requests N] "
               "[--warmup N] [--timeout-s S]\n";
  std::exit(2);
}

int positive(const std::string& flag, const std::string& value, int min) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(value, &used);
    if (used != value.size() || n < min) usage(flag + " wants a number >= " + std::to_string(min));
    return n;
  } catch (const std::logic_error&) {
    usage(flag + " wants a number");
  }
}

Options parse(int argc, char** argv) {
  Options o;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (i + 1 >= argc) usage(flag + " wants a value");
    const std::string value = argv[++i];
    if (flag == "--url") {
      url = value;
    } else if (flag == "--path") {
      o.path = value;
    } else if (flag == "--body") {
      std::ifstream in(value, std::ios::binary);
      if (!in) usage("cannot read " + value);
      o.body.assign(std::istreambuf_iterator<char>(in), {});
    } else if (flag == "--content-type") {
      o.contentType = value;
    } else if (flag == "--method") {
      o.method = value;
    } else if (flag == "--concurrency") {
      o.concurrency = positive(flag, value, 1);
    } else if (flag == "--requests") {
      o.requests = positive(flag, value, 1);
    } else if (flag == "--warmup") {
      o.warmup = positive(flag, value, 0);
    } else if (flag == "--timeout-s") {
      o.timeoutS = positive(flag, value, 1);
    } else {
      usage("unknown option " + flag);
    }
  }
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) usage("--url wants http://HOST:PORT (no TLS here)");
  std::string rest = url.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) usage("--url wants a port");
  o.host = rest.substr(0, colon);
  o.port = rest.substr(colon + 1);
  if (o.method != "POST" && o.method != "GET") usage("--method is POST or GET");
  return o;
}

struct Sample {
  double ms = 0;
  std::string status;  // "200", "503", ... or "connection"
  std::map<std::string, double> server;
};

// One client: its connection, kept alive across requests, reopened after a failure.
class Client {
 public:
  explicit Client(const Options& options) : options_(options), socket_(io_) {}

  Sample send() {
    Sample s;
    const auto start = Clock::now();
    try {
      if (!socket_.is_open()) connect();
      http::request<http::string_body> req{options_.method == "GET" ? http::verb::get : http::verb::post, options_.path,
                                           11};
      req.set(http::field::host, options_.host);
      req.set(http::field::user_agent, "iodeep_service_load");
      req.keep_alive(true);
      if (options_.method == "POST") {
        req.set(http::field::content_type, options_.contentType);
        req.body() = options_.body;
        req.prepare_payload();
      }
      http::write(socket_, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(256U * 1024U * 1024U);
      http::read(socket_, buffer_, parser);
      s.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      const auto& res = parser.get();
      s.status = std::to_string(res.result_int());
      if (res.result_int() / 100 == 2) s.server = serverTimings(res.body());
      if (!res.keep_alive()) close();
    } catch (const std::exception&) {
      s.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      s.status = "connection";
      close();
    }
    return s;
  }

 private:
  void connect() {
    tcp::resolver resolver(io_);
    asio::connect(socket_, resolver.resolve(options_.host, options_.port));
    socket_.set_option(tcp::no_delay(true));
    // synchronous reads and writes have no deadline of their own: the kernel's
    const timeval tv{options_.timeoutS, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    buffer_.clear();
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

  static std::map<std::string, double> serverTimings(const std::string& body) {
    std::map<std::string, double> out;
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return out;
    const auto server = j.find("server");
    if (server == j.end() || !server->is_object()) return out;
    const auto timings = server->find("timingsMs");
    if (timings == server->end() || !timings->is_object()) return out;
    for (const auto& [key, value] : timings->items())
      if (value.is_number()) out[key] = value.get<double>();
    return out;
  }

  const Options& options_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // nearest rank
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  std::atomic<int> warmupLeft{options.warmup};
  std::atomic<int> timedLeft{options.requests};
  std::mutex mutex;
  std::vector<Sample> samples;
  samples.reserve(static_cast<std::size_t>(options.requests));
  Clock::time_point timedStart;
  // every client finishes the warm-up before the timed phase starts, and it starts once
  std::barrier phase(options.concurrency, [&]() noexcept { timedStart = Clock::now(); });

  std::vector<std::jthread> threads;
  threads.reserve(static_cast<std::size_t>(options.concurrency));
  for (int c = 0; c < options.concurrency; ++c) {
    threads.emplace_back([&]() {
      Client client(options);
      while (warmupLeft.fetch_sub(1) > 0) client.send();
      phase.arrive_and_wait();
      std::vector<Sample> mine;
      while (timedLeft.fetch_sub(1) > 0) mine.push_back(client.send());
      const std::lock_guard lock(mutex);
      std::move(mine.begin(), mine.end(), std::back_inserter(samples));
    });
  }
  threads.clear();  // joins
  const double seconds = std::chrono::duration<double>(Clock::now() - timedStart).count();

  std::vector<double> ok;
  std::map<std::string, int> byStatus;
  std::map<std::string, std::vector<double>> server;
  for (const auto& s : samples) {
    ++byStatus[s.status];
    if (!s.status.empty() && s.status[0] == '2') ok.push_back(s.ms);
    for (const auto& [k, v] : s.server) server[k].push_back(v);
  }
  std::sort(ok.begin(), ok.end());
  double sum = 0;
  for (const double v : ok) sum += v;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [status, n] : byStatus)
    if (status.empty() || status[0] != '2') errors[status] = n;
  nlohmann::json serverMedians = nlohmann::json::object();
  for (const auto& [k, v] : server) serverMedians[k] = median(v);
  const nlohmann::json out = {{"url", "http://" + options.host + ":" + options.port},
                              {"path", options.path},
                              {"concurrency", options.concurrency},
                              {"warmup", options.warmup},
                              {"requests", options.requests},
                              {"ok", ok.size()},
                              {"errors", errors},
                              {"seconds", seconds},
                              {"throughput", seconds > 0 ? static_cast<double>(samples.size()) / seconds : 0.0},
                              {"goodput", seconds > 0 ? static_cast<double>(ok.size()) / seconds : 0.0},
                              {"latencyMs",
                               {{"p50", percentile(ok, 50)},
                                {"p90", percentile(ok, 90)},
                                {"p99", percentile(ok, 99)},
                                {"mean", ok.empty() ? 0.0 : sum / static_cast<double>(ok.size())},
                                {"min", ok.empty() ? 0.0 : ok.front()},
                                {"max", ok.empty() ? 0.0 : ok.back()}}},
                              {"serverTimingsMs", serverMedians},
                              {"serverTimingsSamples", server.empty() ? 0 : server.begin()->second.size()}};
  std::cout << out.dump() << std::endl;
  return 0;  // errors are figures, in the line above
}
